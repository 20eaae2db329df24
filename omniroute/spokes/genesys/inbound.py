"""Genesys notifications at our inbound endpoint: presence, sign-ins and agent alerts."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any

from omniroute import jsontext
from omniroute.spokes.base import (
    InboundEvent,
    InboundEventType,
    InboundOffer,
    InboundTransfer,
    SpokeAuthError,
    SpokeRejectedError,
)
from omniroute.spokes.genesys import calls

SECRET_HEADER = "X-Omniroute-Secret"  # noqa: S105 - a header name, not a secret
SIGNED_IN_TOPIC = "omniroute.agent.signed_in"
PRESENCE_TOPIC = re.compile(r"^v2\.users\.([^.]+)\.presence$")
MESSAGES_TOPIC = re.compile(r"^v2\.users\.([^.]+)\.conversations\.messages$")
DOCUMENT_KEY = "omnirouteDocumentId"
MAX_EVENTS = 500


def verify(headers: Mapping[str, str], secret: str) -> None:
    """Refuse a request without the shared secret header."""
    given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER.lower()), "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        msg = f"the {SECRET_HEADER} header is missing or wrong"
        raise SpokeAuthError(msg)


def _event_id(note: Mapping[str, Any], where: str) -> str:
    metadata = note.get("metadata")
    correlation = metadata.get("CorrelationId") if isinstance(metadata, dict) else None
    if not isinstance(correlation, str) or not correlation:
        msg = f"{where}metadata.CorrelationId: required, it makes the event idempotent"
        raise SpokeRejectedError(msg)
    return correlation


def _body(note: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    body = note.get("eventBody")
    if not isinstance(body, dict):
        msg = f"{where}eventBody: must be an object"
        raise SpokeRejectedError(msg)
    return body


def _presence(
    note: Mapping[str, Any], user_id: str, labels: Mapping[str, str], where: str
) -> InboundEvent:
    body = _body(note, where)
    definition = body.get("presenceDefinition")
    if not isinstance(definition, dict):
        msg = f"{where}eventBody.presenceDefinition: must be an object"
        raise SpokeRejectedError(msg)
    def_id = definition.get("id")
    name = labels.get(def_id) if isinstance(def_id, str) else None
    name = name or definition.get("systemPresence")
    if not isinstance(name, str) or not name:
        msg = f"{where}eventBody.presenceDefinition: needs an id we know or a systemPresence"
        raise SpokeRejectedError(msg)
    return InboundEvent(
        id=_event_id(note, where),
        type=InboundEventType.AGENT_PRESENCE,
        provider_agent_id=user_id,
        state_name=name,
        occurred_at=calls.iso_time(body.get("modifiedDate")),
    )


def _signed_in(note: Mapping[str, Any], where: str) -> InboundEvent:
    user = _body(note, where)
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        msg = f"{where}eventBody.id: the Genesys user id is required"
        raise SpokeRejectedError(msg)
    email, name = user.get("email"), user.get("name")
    return InboundEvent(
        id=_event_id(note, where),
        type=InboundEventType.AGENT_SIGNED_IN,
        provider_agent_id=user_id,
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
        occurred_at=calls.iso_time(user.get("dateLastLogin")),
    )


def _ref(value: object) -> str | None:
    ref_id = value.get("id") if isinstance(value, dict) else None
    return ref_id if isinstance(ref_id, str) else None


def _document(participants: list[Any]) -> str | None:
    for participant in participants:
        attributes = participant.get("attributes") if isinstance(participant, dict) else None
        value = attributes.get(DOCUMENT_KEY) if isinstance(attributes, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def _holder(participants: list[Any], user_id: str) -> str | None:
    """Another agent connected to the conversation: an alert now is a transfer from them."""
    for p in participants:
        if not isinstance(p, dict) or p.get("purpose") != "agent" or p.get("state") != "connected":
            continue
        holder = _ref(p.get("user"))
        if holder is not None and holder != user_id:
            return holder
    return None


def _auto_answer(participant: Mapping[str, Any]) -> bool:
    """Whether the queue answers this alert itself (its media settings' auto-answer)."""
    settings = participant.get("queueMediaSettings")
    return isinstance(settings, dict) and settings.get("enableAutoAnswer") is True


def _alert(
    participant: Mapping[str, Any],
    user_id: str,
    document_id: str,
    transfer: InboundTransfer | None,
    segment: str,
) -> InboundEvent | None:
    state = participant.get("state")
    if state == "alerting":
        timeout_ms = participant.get("alertingTimeoutMs")
        return InboundEvent(
            # One event per alert, however many notifications repeat it.
            id=f"genesys-alert-{participant['id']}",
            type=InboundEventType.WORK_OFFERED,
            provider_agent_id=user_id,
            occurred_at=calls.iso_time(participant.get("startTime")),
            offer=InboundOffer(
                external_segment_id=segment,
                document_id=document_id,
                provider_queue_id=_ref(participant.get("queue")),
                timeout_s=timeout_ms / 1000 if isinstance(timeout_ms, int) else None,
                auto_accept=_auto_answer(participant),
                transfer=transfer,
            ),
        )
    if state == "disconnected" and not participant.get("connectedTime"):
        return InboundEvent(
            id=f"genesys-rescind-{participant['id']}",
            type=InboundEventType.WORK_RESCINDED,
            provider_agent_id=user_id,
            offer=InboundOffer(external_segment_id=segment),
        )
    return None


def _users_alerts(
    participants: list[Any],
    user_id: str,
    document_id: str,
    conversation_id: str | None,
    *,
    first_from_queue: bool = False,
) -> list[InboundEvent]:
    """The user's alerts; a call's segment is `{conversation id}/{participant id}`.

    With `first_from_queue` the alert's queue may make the document's first work item.
    """
    holder = _holder(participants, user_id)
    found = []
    for participant in participants:
        if not isinstance(participant, dict) or participant.get("purpose") != "agent":
            continue
        participant_id = participant.get("id")
        if _ref(participant.get("user")) != user_id or not isinstance(participant_id, str):
            continue
        segment = (
            participant_id if conversation_id is None else f"{conversation_id}/{participant_id}"
        )
        source = _ref(participant.get("queue")) if first_from_queue else None
        transfer = (
            InboundTransfer(from_provider_agent_id=holder, source_provider_queue_id=source)
            if holder is not None or source is not None
            else None
        )
        event = _alert(participant, user_id, document_id, transfer, segment)
        if event is not None:
            found.append(event)
    return found


def _alerts(note: Mapping[str, Any], user_id: str, where: str) -> list[InboundEvent]:
    """Alerts and withdrawn alerts of one user in a message conversation notification."""
    participants = _body(note, where).get("participants")
    if not isinstance(participants, list):
        return []
    document_id = _document(participants)
    if document_id is None:
        return []  # a conversation that did not come from Omniroute
    return _users_alerts(participants, user_id, document_id, None)


def _call(
    note: Mapping[str, Any], user_id: str, where: str, *, callback: bool
) -> list[InboundEvent]:
    """Alerts and the call context of a call or callback conversation from Omniroute."""
    body = _body(note, where)
    participants = body.get("participants")
    document_id = _document(participants) if isinstance(participants, list) else None
    conversation_id = body.get("id")
    if document_id is None or not isinstance(conversation_id, str) or not conversation_id:
        return []
    assert isinstance(participants, list)
    # A call reaches us first through Genesys: its queue makes the first work item. A
    # callback was routed by Omniroute first: its alert is a transfer only with a holder.
    found = _users_alerts(
        participants, user_id, document_id, conversation_id, first_from_queue=not callback
    )
    make = calls.callback_context if callback else calls.context
    event = make(f"{_event_id(note, where)}:call", body, user_id, document_id)
    return found + ([event] if event is not None else [])


def _one(note: object, labels: Mapping[str, str], where: str) -> list[InboundEvent]:
    if not isinstance(note, dict):
        msg = f"{where.rstrip('.') or 'body'}: must be a notification object"
        raise SpokeRejectedError(msg)
    topic = note.get("topicName")
    if topic == SIGNED_IN_TOPIC:
        return [_signed_in(note, where)]
    if not isinstance(topic, str):
        return []
    if match := PRESENCE_TOPIC.match(topic):
        return [_presence(note, match.group(1), labels, where)]
    if match := MESSAGES_TOPIC.match(topic):
        return _alerts(note, match.group(1), where)
    if match := calls.CALLS_TOPIC.match(topic):
        return _call(note, match.group(1), where, callback=False)
    if match := calls.CALLBACKS_TOPIC.match(topic):
        return _call(note, match.group(1), where, callback=True)
    return []  # heartbeats and topics we did not ask for


def parse(body: bytes, labels: Mapping[str, str]) -> list[InboundEvent]:
    """Events of one notification or a list of them; `labels` names presence definitions."""
    try:
        raw = jsontext.loads(body)
    except ValueError as err:
        msg = f"the body is not JSON: {err}"
        raise SpokeRejectedError(msg) from err
    notes = raw if isinstance(raw, list) else [raw]
    if len(notes) > MAX_EVENTS:
        msg = f"{len(notes)} notifications in one request; send at most {MAX_EVENTS}"
        raise SpokeRejectedError(msg)
    prefix = isinstance(raw, list)
    return [
        event
        for i, note in enumerate(notes)
        for event in _one(note, labels, f"[{i}]." if prefix else "")
    ]
