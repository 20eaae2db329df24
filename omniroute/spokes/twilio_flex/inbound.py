"""TaskRouter's signed callbacks (assignment and workspace events) as inbound events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from omniroute import jsontext
from omniroute.domain.model import DisplayOption
from omniroute.domain.outbound import TransferType
from omniroute.spokes.base import (
    InboundEvent,
    InboundEventType,
    InboundOffer,
    InboundTransfer,
    SpokeAuthError,
    SpokeRejectedError,
)
from omniroute.spokes.twilio_flex.calls import DOCUMENT_ATTRIBUTE

SIGNATURE_HEADER = "x-twilio-signature"
SIGN_IN_EVENTS = frozenset({"worker.created", "worker.attributes.update"})
RESCINDED_EVENTS = frozenset(
    {"reservation.canceled", "reservation.timeout", "reservation.rescinded"}
)
OFFER_EVENT = "reservation.created"
PRESENCE_EVENT = "worker.activity.update"
WORK_ITEM_ATTRIBUTE = "omniroute_work_item_id"
# The Work Offer API's offer terms, as a Studio flow (or Omniroute) writes them on the task.
AUTO_ACCEPT_ATTRIBUTE = "omniroute_auto_accept"
DISPLAY_ATTRIBUTE = "omniroute_display_option"
# Flex marks the task its own transfer made; the spoke marks the tasks of Omniroute's transfers.
FLEX_TRANSFER_TARGET = "transferTargetType"
OWN_TRANSFER_ATTRIBUTE = "omniroute_transfer_type"
# Flex encodes an agent's email in contact_uri: "client:alice_40example_2Ecom".
_ESCAPE = re.compile(r"_([0-9A-Fa-f]{2})")


def verify(auth_token: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The form fields of a request Twilio signed for `url`; SpokeAuthError when it did not."""
    signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
    if not signature:
        msg = "the request has no X-Twilio-Signature header"
        raise SpokeAuthError(msg)
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError as err:
        msg = "the body is not UTF-8 form data"
        raise SpokeRejectedError(msg) from err
    if not RequestValidator(auth_token).validate(url, fields, signature):
        msg = (
            "X-Twilio-Signature does not match: check that callback_url is exactly the URL "
            "Twilio calls and that auth_token is the account's current token"
        )
        raise SpokeAuthError(msg)
    return fields


def _json_object(fields: Mapping[str, str], name: str) -> dict[str, Any]:
    raw = fields.get(name) or "{}"
    try:
        value = jsontext.loads(raw)
    except ValueError as err:
        msg = f"{name} is not JSON: {err}"
        raise SpokeRejectedError(msg) from err
    if not isinstance(value, dict):
        msg = f"{name} must be a JSON object"
        raise SpokeRejectedError(msg)
    return value


def _required(fields: Mapping[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        msg = f"the callback has no {name}"
        raise SpokeRejectedError(msg)
    return value


def _timestamp(fields: Mapping[str, str]) -> datetime | None:
    raw = fields.get("Timestamp", "").strip()
    if not raw:
        return None
    try:
        return datetime.fromtimestamp(float(raw), UTC)
    except (ValueError, OverflowError) as err:
        msg = f"Timestamp is not epoch seconds: {raw[:40]}"
        raise SpokeRejectedError(msg) from err


def event_time(fields: Mapping[str, str]) -> datetime | None:
    """A TaskRouter callback's Timestamp (epoch seconds), if it has one."""
    return _timestamp(fields)


def email_of(attributes: Mapping[str, Any]) -> str | None:
    """A worker's email: the `email` attribute, else decoded from a Flex `contact_uri`."""
    email = attributes.get("email")
    if isinstance(email, str) and email.strip():
        return email.strip()
    uri = attributes.get("contact_uri")
    if isinstance(uri, str) and uri.startswith("client:"):
        decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), uri.removeprefix("client:"))
        return decoded if "@" in decoded else None
    return None


def _offer_terms(attributes: Mapping[str, Any]) -> tuple[bool, DisplayOption]:
    """The task's auto-accept and display option (false and card only when absent)."""
    auto_accept = attributes.get(AUTO_ACCEPT_ATTRIBUTE, False)
    if not isinstance(auto_accept, bool):
        msg = f"the task attribute {AUTO_ACCEPT_ATTRIBUTE} must be true or false"
        raise SpokeRejectedError(msg)
    raw = attributes.get(DISPLAY_ATTRIBUTE, DisplayOption.CARD_ONLY.value)
    try:
        display = DisplayOption(raw)
    except ValueError as err:
        known = ", ".join(d.value for d in DisplayOption)
        msg = f"the task attribute {DISPLAY_ATTRIBUTE} must be one of {known}"
        raise SpokeRejectedError(msg) from err
    return auto_accept, display


def _offer(fields: Mapping[str, str], timeout_s: float) -> list[InboundEvent]:
    attributes = _json_object(fields, "TaskAttributes")
    work_item_id = attributes.get(WORK_ITEM_ATTRIBUTE)
    document_id = attributes.get(DOCUMENT_ATTRIBUTE)
    if not isinstance(work_item_id, str) and not isinstance(document_id, str):
        return []  # a task that names none of our interactions (a plain Flex call): not ours
    reservation = _required(fields, "ReservationSid")
    queue = fields.get("TaskQueueSid") or None
    offer = _flex_transfer(attributes, fields, reservation, timeout_s)
    if offer is None and isinstance(work_item_id, str):
        offer = InboundOffer(
            work_item_id=work_item_id,
            provider_queue_id=queue,
            timeout_s=timeout_s,
            external_segment_id=reservation,
        )
    elif offer is None:
        # A task made in Flex (a Studio flow, a callback) for one of our interactions: it
        # arrives with no work item, so it enters from the task's queue, as a transfer would.
        offer = InboundOffer(
            document_id=document_id,
            timeout_s=timeout_s,
            external_segment_id=reservation,
            transfer=InboundTransfer(source_provider_queue_id=queue),
        )
    auto_accept, display = _offer_terms(attributes)
    offer = replace(offer, auto_accept=auto_accept, display_option=display)
    return [
        InboundEvent(
            id=f"{reservation}:created",
            type=InboundEventType.WORK_OFFERED,
            provider_agent_id=_required(fields, "WorkerSid"),
            occurred_at=_timestamp(fields) or datetime.now(UTC),
            offer=offer,
        )
    ]


def _flex_transfer(
    attributes: Mapping[str, Any], fields: Mapping[str, str], reservation: str, timeout_s: float
) -> InboundOffer | None:
    """A transfer made in Flex: its new task copies our ids, so the work moves by document."""
    document_id = attributes.get(DOCUMENT_ATTRIBUTE)
    if FLEX_TRANSFER_TARGET not in attributes or OWN_TRANSFER_ATTRIBUTE in attributes:
        return None
    if not isinstance(document_id, str):
        return None
    meta = attributes.get("transferMeta")
    mode = meta.get("mode") if isinstance(meta, dict) else None
    return InboundOffer(
        document_id=document_id,
        allowed_to_decline=True,
        timeout_s=timeout_s,
        external_segment_id=reservation,
        transfer=InboundTransfer(
            type=TransferType.CONSULT if mode == "WARM" else TransferType.BLIND,
            source_provider_queue_id=fields.get("TaskQueueSid") or None,
        ),
    )


def _rescinded(fields: Mapping[str, str], event_type: str) -> list[InboundEvent]:
    attributes = _json_object(fields, "TaskAttributes")
    work_item_id = attributes.get(WORK_ITEM_ATTRIBUTE)
    if not isinstance(work_item_id, str) and DOCUMENT_ATTRIBUTE not in attributes:
        return []
    reservation = _required(fields, "ReservationSid")
    work_item_id = work_item_id if isinstance(work_item_id, str) else None
    return [
        InboundEvent(
            id=f"{reservation}:{event_type.removeprefix('reservation.')}",
            type=InboundEventType.WORK_RESCINDED,
            provider_agent_id=_required(fields, "WorkerSid"),
            occurred_at=_timestamp(fields),
            offer=InboundOffer(work_item_id=work_item_id, external_segment_id=reservation),
        )
    ]


def _signed_in(fields: Mapping[str, str], event_id: str) -> list[InboundEvent]:
    attributes = _json_object(fields, "WorkerAttributes")
    name = attributes.get("full_name")
    return [
        InboundEvent(
            id=event_id,
            type=InboundEventType.AGENT_SIGNED_IN,
            provider_agent_id=_required(fields, "WorkerSid"),
            email=email_of(attributes),
            name=name if isinstance(name, str) else fields.get("WorkerName"),
            occurred_at=_timestamp(fields),
        )
    ]


def _presence(fields: Mapping[str, str], event_id: str) -> list[InboundEvent]:
    return [
        InboundEvent(
            id=event_id,
            type=InboundEventType.AGENT_PRESENCE,
            provider_agent_id=_required(fields, "WorkerSid"),
            state_name=_required(fields, "WorkerActivityName"),
            occurred_at=_timestamp(fields),
        )
    ]


def events(fields: Mapping[str, str], reservation_timeout_s: float) -> list[InboundEvent]:
    """The inbound events of one verified callback; [] for what Omniroute does not follow."""
    event_type = fields.get("EventType")
    if event_type is None:
        # No EventType: the workflow's assignment callback, which offers a reservation.
        return _offer(fields, reservation_timeout_s)
    event_id = (
        fields.get("Sid")
        or f"{fields.get('ResourceSid', '')}:{event_type}:{fields.get('Timestamp', '')}"
    )
    if event_type == OFFER_EVENT:
        return _offer(fields, reservation_timeout_s)
    if event_type in RESCINDED_EVENTS:
        return _rescinded(fields, event_type)
    if event_type in SIGN_IN_EVENTS:
        return _signed_in(fields, event_id)
    if event_type == PRESENCE_EVENT:
        return _presence(fields, event_id)
    return []
