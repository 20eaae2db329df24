"""Versioned event envelopes spokes exchange with providers: pydantic models and JSON Schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from omniroute.domain.inbound import InboundEventType
from omniroute.domain.outbound import SCHEMA_VERSION, RoutingEventType

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

DocumentTypeName = Literal["interaction", "case"]
ClosedState = Literal["closed_complete", "closed_abandoned", "resolved", "closed"]
OfferOutcomeName = Literal["accepted", "rejected", "timed_out", "withdrawn"]
TransferTypeName = Literal["blind", "consult"]


class _Model(BaseModel):
    """Receivers ignore fields they do not know: version 1 may gain fields, never lose them."""

    model_config = ConfigDict(frozen=True)


# -- the `data` of each outgoing event ---------------------------------------------------


class SkillRequirementData(_Model):
    """A skill the work item asks for."""

    skill_id: str
    min_level: int
    mandatory: bool = Field(description="false: a preferred skill that may widen after a wait")


class AgentRef(_Model):
    """An agent by our id and, when linked, by the provider's id."""

    agent_id: str | None = Field(description="our agent id; null when there is no agent")
    provider_agent_id: str | None = Field(
        description="the agent's id at the provider; null when the agent is not linked"
    )


class WorkItemData(_Model):
    """The routable facts of a work item."""

    work_item_id: str = Field(description="give it back as work_item_id on the Work Offer API")
    document_type: DocumentTypeName
    document_id: str
    channel_id: str = Field(description="chat, email, case, voice, callback or a custom one")
    queue_id: str = Field(description="our queue id")
    provider_queue_id: str | None = Field(description="the provider's id of that queue")
    priority: int = Field(description="lower is more urgent")
    skills: list[SkillRequirementData]
    previous_work_item_id: str | None = Field(
        description="the work item this one follows (a transfer or re-route), if any"
    )
    created_at: AwareDatetime
    customer: dict[str, str | None] = Field(
        description="what we know of the customer: customer_name, customer_email, subject"
    )


class NewInteractionData(WorkItemData):
    """A work item entered an external queue: route it, then call the Work Offer API."""


class TransferData(WorkItemData):
    """A transfer started or cancelled; the work item is the one the transfer created."""

    transfer_id: str = Field(description="the transfer's work item id (same as work_item_id)")
    transfer_type: TransferTypeName
    from_: AgentRef = Field(alias="from", description="the agent handing the work over")
    to: AgentRef = Field(description="the target agent; both ids null for a queue transfer")


class OfferOutcomeData(_Model):
    """How an offer of the provider's work ended in the agent's workspace."""

    work_item_id: str
    document_id: str
    provider_queue_id: str | None = Field(
        description="the provider's queue of the work item, to re-route it after a reject"
    )
    offer_id: str
    external_segment_id: str | None = Field(
        description="the external_segment_id the provider gave on the Work Offer call"
    )
    outcome: OfferOutcomeName = Field(
        description="withdrawn: the offer ended because the work was closed or re-routed"
    )
    reject_reason_id: str | None
    reassignable: bool | None = Field(
        description="whether the reject reason lets the same agent be offered the item again "
        "(null without a reason); Omniroute refuses a Work Offer to an excluded agent"
    )
    note: str | None = Field(description="the agent's note on a reject")
    at: AwareDatetime
    agent_id: str
    provider_agent_id: str | None


class EndInteractionData(_Model):
    """An interaction or case the provider routed is closed; wrap-up included."""

    document_type: DocumentTypeName
    document_id: str
    work_item_id: str | None = Field(description="the accepted work item, else the last one")
    state: ClosedState
    wrap_up_code_id: str | None
    wrap_up_code_name: str | None
    notes: str | None = Field(description="the wrap-up notes")
    at: AwareDatetime
    agent_id: str | None
    provider_agent_id: str | None


class AgentPresenceData(_Model):
    """A linked agent's presence changed in Omniroute, in the provider's state name."""

    agent_id: str
    provider_agent_id: str
    presence_id: str = Field(description="our presence state")
    provider_state: str = Field(description="the provider's name for it, from the presence map")
    channel_available: dict[str, bool]
    at: AwareDatetime


CallActionName = Literal[
    "answer", "hold", "resume", "mute", "unmute", "transfer", "end", "dial", "retry_callback"
]
CallStateName = Literal[
    "scheduled", "alerting", "dialing", "connected", "held", "no_answer", "ended"
]
CallKindName = Literal["inbound", "outbound", "callback"]


class InteractionControlData(_Model):
    """An agent asks the provider to act on the call of an interaction."""

    interaction_id: str
    action: CallActionName
    params: dict[str, str] = Field(
        description="number for dial (a phone number), target for transfer; empty otherwise"
    )
    provider_call_id: str | None = Field(
        description="the provider_call_id of the call context the agent saw, if it had one"
    )
    context_occurred_at: AwareDatetime = Field(
        description="occurred_at of the call context the action was checked against"
    )
    agent_id: str
    provider_agent_id: str | None
    requested_at: AwareDatetime


# -- the outgoing envelope -----------------------------------------------------------------


class _Envelope(_Model):
    """What every outgoing event carries around its data."""

    schema_version: Literal[1]
    id: str = Field(description="unique per event; also sent as the Idempotency-Key header")
    type: str
    spoke: str = Field(description="the configured spoke's name in Omniroute")
    ordering_key: str = Field(
        description="events with the same key are delivered one at a time, in order"
    )
    created_at: AwareDatetime
    attempt: int = Field(ge=1, description="1 on the first delivery, more on retries")
    data: Any


class NewInteractionEvent(_Envelope):
    """`new_interaction`: route this work item."""

    type: Literal["new_interaction"]
    data: NewInteractionData


class OfferOutcomeEvent(_Envelope):
    """`offer_outcome`: an offer was accepted, rejected, timed out or withdrawn."""

    type: Literal["offer_outcome"]
    data: OfferOutcomeData


class OfferRefusedData(_Model):
    """A routing decision from a provider callback that Omniroute could not carry out."""

    external_segment_id: str = Field(description="the provider's reservation or alert id")
    document_id: str | None
    work_item_id: str | None
    provider_agent_id: str
    error_code: str = Field(description="the Work Offer API's error code, e.g. AGENT_NOT_AVAILABLE")
    message: str
    at: AwareDatetime


class OfferRefusedEvent(_Envelope):
    """`offer_refused`: release the provider's reservation; the agent never got the offer."""

    type: Literal["offer_refused"]
    data: OfferRefusedData


class EndInteractionEvent(_Envelope):
    """`end_interaction`: the interaction or case is closed."""

    type: Literal["end_interaction"]
    data: EndInteractionData


class TransferToAgentEvent(_Envelope):
    """`transfer_to_agent`: offer the transfer's work item to the target agent."""

    type: Literal["transfer_to_agent"]
    data: TransferData


class TransferToQueueEvent(_Envelope):
    """`transfer_to_queue`: route the transfer's work item in the target queue."""

    type: Literal["transfer_to_queue"]
    data: TransferData


class CancelTransferEvent(_Envelope):
    """`cancel_transfer`: the sender took the transfer back; the work stays with the sender."""

    type: Literal["cancel_transfer"]
    data: TransferData


class AgentPresenceEvent(_Envelope):
    """`agent_presence`: set the linked agent's state at the provider."""

    type: Literal["agent_presence"]
    data: AgentPresenceData


class InteractionControlEvent(_Envelope):
    """`interaction_control`: do this to the call, then send the new call context back."""

    type: Literal["interaction_control"]
    data: InteractionControlData


OUTGOING: dict[RoutingEventType, type[_Envelope]] = {
    RoutingEventType.NEW_INTERACTION: NewInteractionEvent,
    RoutingEventType.OFFER_OUTCOME: OfferOutcomeEvent,
    RoutingEventType.OFFER_REFUSED: OfferRefusedEvent,
    RoutingEventType.END_INTERACTION: EndInteractionEvent,
    RoutingEventType.TRANSFER_TO_AGENT: TransferToAgentEvent,
    RoutingEventType.TRANSFER_TO_QUEUE: TransferToQueueEvent,
    RoutingEventType.CANCEL_TRANSFER: CancelTransferEvent,
    RoutingEventType.AGENT_PRESENCE: AgentPresenceEvent,
    RoutingEventType.INTERACTION_CONTROL: InteractionControlEvent,
}

OutgoingEvent = Annotated[
    NewInteractionEvent
    | OfferOutcomeEvent
    | OfferRefusedEvent
    | EndInteractionEvent
    | TransferToAgentEvent
    | TransferToQueueEvent
    | CancelTransferEvent
    | AgentPresenceEvent
    | InteractionControlEvent,
    Field(discriminator="type"),
]
OUTGOING_EVENT: TypeAdapter[OutgoingEvent] = TypeAdapter(OutgoingEvent)


# -- the inbound envelope ------------------------------------------------------------------


class AgentSignedInData(_Model):
    """An agent signed in through the provider's panel: link the provider's id to ours."""

    provider_agent_id: str = Field(min_length=1)
    email: str | None = Field(None, description="matched against our agents' emails")
    name: str | None = Field(None, description="used when the spoke may provision agents")
    occurred_at: AwareDatetime | None = None


class AgentPresenceInData(_Model):
    """An agent's state changed at the provider."""

    provider_agent_id: str = Field(min_length=1)
    state_name: str = Field(min_length=1, description="the provider's state name")
    occurred_at: AwareDatetime | None = None


class TransferInData(_Model):
    """A transfer the provider made: the offer's work comes from this agent or queue."""

    type: TransferTypeName = "blind"
    from_provider_agent_id: str | None = Field(
        None, description="the agent handing the work over; checked against who has it"
    )
    source_provider_queue_id: str | None = Field(
        None,
        description="the queue the transfer starts from; makes a work item for a document "
        "that has none yet (a call that was never routed here)",
    )


class WorkOfferedInData(_Model):
    """The provider offered work to a linked agent: the Work Offer API's terms, as a callback."""

    provider_agent_id: str = Field(min_length=1)
    external_segment_id: str = Field(
        min_length=1, max_length=200, description="the provider's reservation or alert id"
    )
    document_id: str | None = None
    work_item_id: str | None = Field(None, description="from new_interaction; or document_id")
    provider_queue_id: str | None = None
    allowed_to_decline: bool = True
    auto_accept: bool = Field(default=False, description="accepted on the agent's behalf")
    display_option: Literal["card_only", "card_and_tab"] = Field(
        "card_only", description="auto-accepted work: a card only, or card and tab at once"
    )
    timeout: float | None = Field(None, gt=0, description="seconds from occurred_at; null = none")
    occurred_at: AwareDatetime | None = Field(None, description="when the provider offered")
    transfer: TransferInData | None = Field(
        None, description="set when the provider transfers the work to this agent"
    )

    @model_validator(mode="after")
    def _one_target(self) -> WorkOfferedInData:
        if (self.document_id is None) == (self.work_item_id is None):
            msg = "give exactly one of document_id and work_item_id"
            raise ValueError(msg)
        return self


class WorkRescindedInData(_Model):
    """The provider took back an offer it made (its reservation was cancelled)."""

    provider_agent_id: str = Field(min_length=1)
    external_segment_id: str = Field(min_length=1, max_length=200)
    occurred_at: AwareDatetime | None = None


class CallContextInData(_Model):
    """The provider's current view of an interaction's call; it replaces any earlier one."""

    interaction_id: str = Field(min_length=1, description="our interaction (document) id")
    state: CallStateName
    kind: CallKindName = "inbound"
    muted: bool = False
    customer_number: str | None = Field(None, max_length=64)
    available_actions: list[CallActionName] = Field(
        description="the actions the agent may take now; the workspace shows only these"
    )
    provider_call_id: str | None = Field(None, max_length=200)
    connected_at: AwareDatetime | None = Field(
        None, description="when the customer was connected; drives the call timer"
    )
    occurred_at: AwareDatetime = Field(description="the latest context by this time is current")


class _InboundEnvelope(_Model):
    """What every inbound event carries around its data."""

    schema_version: Literal[1]
    id: str = Field(
        min_length=1, max_length=200, description="unique per event; a repeat is ignored"
    )
    type: str
    data: Any


class AgentSignedInEvent(_InboundEnvelope):
    """`agent_signed_in` from the provider."""

    type: Literal["agent_signed_in"]
    data: AgentSignedInData


class AgentPresenceInEvent(_InboundEnvelope):
    """`agent_presence` from the provider."""

    type: Literal["agent_presence"]
    data: AgentPresenceInData


class WorkOfferedEvent(_InboundEnvelope):
    """`work_offered` from the provider: offer the work (instead of a Work Offer API call)."""

    type: Literal["work_offered"]
    data: WorkOfferedInData


class WorkRescindedEvent(_InboundEnvelope):
    """`work_rescinded` from the provider: withdraw the offer made under that segment id."""

    type: Literal["work_rescinded"]
    data: WorkRescindedInData


class CallContextInEvent(_InboundEnvelope):
    """`call_context` from the provider."""

    type: Literal["call_context"]
    data: CallContextInData


INBOUND: dict[InboundEventType, type[_InboundEnvelope]] = {
    InboundEventType.AGENT_SIGNED_IN: AgentSignedInEvent,
    InboundEventType.AGENT_PRESENCE: AgentPresenceInEvent,
    InboundEventType.WORK_OFFERED: WorkOfferedEvent,
    InboundEventType.WORK_RESCINDED: WorkRescindedEvent,
    InboundEventType.CALL_CONTEXT: CallContextInEvent,
}

ParsedInbound = (
    AgentSignedInEvent
    | AgentPresenceInEvent
    | WorkOfferedEvent
    | WorkRescindedEvent
    | CallContextInEvent
)
InboundEnvelope = Annotated[ParsedInbound, Field(discriminator="type")]
INBOUND_EVENT: TypeAdapter[InboundEnvelope] = TypeAdapter(InboundEnvelope)


# -- catalog pages ------------------------------------------------------------------------


class CatalogItem(BaseModel):
    """One skill, queue, wrap-up code or agent; every other field becomes an attribute."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    id: str = Field(min_length=1, description="the provider's id")
    name: str


class CatalogPage(_Model):
    """One page of a catalog list."""

    items: list[CatalogItem]
    next: str | None = Field(
        None, description="the next page's URL (absolute or relative); null on the last page"
    )


# -- JSON Schema ----------------------------------------------------------------------------


def _schema(model: type[BaseModel], name: str, description: str) -> dict[str, Any]:
    body = model.model_json_schema(by_alias=True)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{name}.json",
        "title": name,
        "description": description,
    } | {k: v for k, v in body.items() if k not in ("title", "description")}


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per event type (inbound ones prefixed `inbound_`), and the catalog page."""
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, model in OUTGOING.items():
        description = f"Omniroute to provider, schema version {SCHEMA_VERSION}: " + (
            model.__doc__ or ""
        )
        schemas[event_type.value] = _schema(model, event_type.value, description)
    for inbound_type, inbound in INBOUND.items():
        name = f"inbound_{inbound_type.value}"
        description = f"Provider to Omniroute, schema version {SCHEMA_VERSION}: " + (
            inbound.__doc__ or ""
        )
        schemas[name] = _schema(inbound, name, description)
    page = "A page of GET {catalog_url}/<kind>: " + (CatalogPage.__doc__ or "")
    schemas["catalog_page"] = _schema(CatalogPage, "catalog_page", page)
    return schemas


def render(schema: dict[str, Any]) -> str:
    """A schema file's exact text."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path) -> list[Path]:
    """Write every schema into a directory and remove stale ones; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    schemas = json_schemas()
    written = []
    for name, schema in schemas.items():
        path = directory / f"{name}.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    for stale in directory.glob("*.json"):
        if stale.stem not in schemas:
            stale.unlink()
    return written


def differences(directory: Path) -> list[str]:
    """Schema files in a directory that are missing, stale or differ from the models."""
    schemas = json_schemas()
    problems = [
        f"{name}.json differs from the models"
        for name, schema in schemas.items()
        if not (directory / f"{name}.json").is_file()
        or (directory / f"{name}.json").read_text(encoding="utf-8") != render(schema)
    ]
    problems += [
        f"{p.name} has no model" for p in sorted(directory.glob("*.json")) if p.stem not in schemas
    ]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Write or check the schema files; without options, print them as one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m omniroute.spokes.events_schema")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="DIR", help="write <type>.json files")
    group.add_argument("--check", type=Path, metavar="DIR", help="fail if DIR is out of date")
    args = parser.parse_args(argv)
    if args.write is not None:
        for path in write(args.write):
            sys.stdout.write(f"wrote {path}\n")
        return 0
    if args.check is not None:
        problems = differences(args.check)
        for problem in problems:
            sys.stderr.write(f"{problem}; run with --write {args.check}\n")
        return 1 if problems else 0
    sys.stdout.write(json.dumps(json_schemas(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
