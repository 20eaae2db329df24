"""Amazon Connect agent event stream records turned into Omniroute inbound events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from omniroute.domain.outbound import TransferType
from omniroute.spokes.amazon_connect.contacts import ContactLink
from omniroute.spokes.base import InboundEvent, InboundEventType, InboundOffer, InboundTransfer

# A contact in these states has been offered to, or is with, the agent.
OFFERED_STATES = frozenset({"CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "PAUSED"})
# Contact states that end an offer the agent never took.
UNANSWERED_STATES = frozenset({"MISSED", "REJECTED", "ERROR"})
SIGN_IN_TYPES = frozenset({"LOGIN"})
PRESENCE_TYPES = frozenset({"LOGIN", "LOGOUT", "STATE_CHANGE"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AgentStatus(_Model):
    """The agent's status: `Name` is what the presence map uses."""

    name: str = Field(alias="Name")


class AgentConfiguration(_Model):
    """Who the agent is."""

    username: str | None = Field(None, alias="Username")
    first_name: str | None = Field(None, alias="FirstName")
    last_name: str | None = Field(None, alias="LastName")


class QueueRef(_Model):
    """A queue by ARN."""

    arn: str | None = Field(None, alias="ARN")


class AgentContact(_Model):
    """One contact in an agent snapshot."""

    contact_id: str = Field(alias="ContactId")
    initial_contact_id: str | None = Field(None, alias="InitialContactId")
    channel: str | None = Field(None, alias="Channel")
    initiation_method: str | None = Field(None, alias="InitiationMethod")
    state: str = Field(alias="State")
    queue: QueueRef | None = Field(None, alias="Queue")
    queue_timestamp: AwareDatetime | None = Field(None, alias="QueueTimestamp")
    state_start_timestamp: AwareDatetime | None = Field(None, alias="StateStartTimestamp")
    connected_at: AwareDatetime | None = Field(None, alias="ConnectedToAgentTimestamp")

    @property
    def queue_id(self) -> str | None:
        """The id of the queue the contact came from, the last part of its ARN."""
        arn = self.queue.arn if self.queue else None
        return arn.rsplit("/", 1)[1] if arn and "/queue/" in arn else None


class AgentSnapshot(_Model):
    """The agent's status, configuration and contacts at one moment."""

    agent_status: AgentStatus | None = Field(None, alias="AgentStatus")
    configuration: AgentConfiguration | None = Field(None, alias="Configuration")
    contacts: list[AgentContact] = Field(default_factory=list, alias="Contacts")


class AgentEvent(_Model):
    """One record of the agent event stream (Version 2019-05-25)."""

    event_id: str = Field(min_length=1, max_length=150, alias="EventId")
    event_type: str = Field(alias="EventType")
    event_timestamp: AwareDatetime = Field(alias="EventTimestamp")
    agent_arn: str = Field(alias="AgentARN", pattern=r"/agent/[^/]+$")
    instance_arn: str | None = Field(None, alias="InstanceARN")
    current: AgentSnapshot | None = Field(None, alias="CurrentAgentSnapshot")
    previous: AgentSnapshot | None = Field(None, alias="PreviousAgentSnapshot")

    @property
    def user_id(self) -> str:
        """The agent's Connect user id, the last part of its ARN."""
        return self.agent_arn.rsplit("/", 1)[1]


Lookup = Callable[[str], ContactLink | None]


def segment_id(contact: AgentContact, user_id: str) -> str:
    # The queue time changes each time Connect queues the contact again, so one offer = one id.
    queued = contact.queue_timestamp.isoformat() if contact.queue_timestamp else "-"
    return f"{contact.contact_id}/{user_id}/{queued}"


def ours(contact: AgentContact, lookup: Lookup) -> ContactLink | None:
    """Our link for a contact, by its id or its initial contact's (a transfer made in Connect)."""
    return lookup(contact.contact_id) or (
        lookup(contact.initial_contact_id) if contact.initial_contact_id else None
    )


def _status(snapshot: AgentSnapshot | None) -> str | None:
    if snapshot is None or snapshot.agent_status is None:
        return None
    return snapshot.agent_status.name


def _identity(event: AgentEvent) -> InboundEvent:
    config = (event.current.configuration if event.current else None) or AgentConfiguration()
    username = config.username or ""
    name = " ".join(p for p in (config.first_name, config.last_name) if p) or None
    return InboundEvent(
        id=event.event_id,
        type=InboundEventType.AGENT_SIGNED_IN,
        provider_agent_id=event.user_id,
        email=username if "@" in username else None,
        name=name,
        occurred_at=event.event_timestamp,
    )


def _presence(event: AgentEvent) -> InboundEvent | None:
    state = _status(event.current)
    if state is None:
        return None
    if event.event_type == "STATE_CHANGE" and state == _status(event.previous):
        return None
    return InboundEvent(
        id=f"{event.event_id}:status",
        type=InboundEventType.AGENT_PRESENCE,
        provider_agent_id=event.user_id,
        state_name=state,
        occurred_at=event.event_timestamp,
    )


AutoAccept = Callable[[str, AgentContact], bool]


def _voice_offer(
    segment: str, link: ContactLink, contact: AgentContact, user: str, terms: OfferTerms
) -> InboundOffer:
    """A call Connect routed itself: the document, and where the work comes from."""
    if link.accepted_by is not None and link.accepted_by != user:
        source = InboundTransfer(TransferType.BLIND, from_provider_agent_id=link.accepted_by)
    else:
        # Connect queued the call, not us: the work may have no work item here yet.
        queue = contact.queue_id or link.provider_queue_id
        source = InboundTransfer(TransferType.BLIND, source_provider_queue_id=queue)
    return InboundOffer(
        external_segment_id=segment,
        document_id=link.document_id,
        timeout_s=terms.timeout_s,
        auto_accept=terms.auto_accept(user, contact),
        transfer=source,
    )


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """How the spoke makes offers: the timeout, and whose calls Connect answers at once."""

    timeout_s: float | None = None
    auto_accept: AutoAccept = lambda _user, _contact: False


def _not_an_offer(link: ContactLink, user: str) -> bool:
    """Whether an alert of the contact we transferred to `user` stands for no offer."""
    if link.transferred_to is None:
        return False
    # To someone else: an alert from before our latest TransferContact, arriving late.
    # To the holder: a cancelled transfer coming back to its sender, who still has the work.
    return link.transferred_to != user or link.accepted_by == user


def _offers(
    event: AgentEvent,
    lookup: Lookup,
    terms: OfferTerms,
) -> list[InboundEvent]:
    user = event.user_id
    now = {segment_id(c, user): c for c in (event.current.contacts if event.current else [])}
    before = {segment_id(c, user): c for c in (event.previous.contacts if event.previous else [])}
    found: list[InboundEvent] = []
    for segment, contact in now.items():
        link = ours(contact, lookup)
        if link is None or contact.state not in OFFERED_STATES:
            continue
        earlier = before.get(segment)
        if earlier is not None and earlier.state in OFFERED_STATES:
            continue
        if contact.contact_id == link.contact_id and _not_an_offer(link, user):
            continue
        timeout_s = terms.timeout_s
        offer = InboundOffer(
            external_segment_id=segment, work_item_id=link.work_item_id, timeout_s=timeout_s
        )
        if link.voice:
            offer = _voice_offer(segment, link, contact, user, terms)
        elif link.accepted_by is not None and link.accepted_by != user:
            # Accepted by one agent, now alerting another: a transfer made in Connect.
            offer = InboundOffer(
                external_segment_id=segment,
                document_id=link.document_id,
                timeout_s=timeout_s,
                transfer=InboundTransfer(
                    TransferType.BLIND, from_provider_agent_id=link.accepted_by
                ),
            )
        found.append(
            InboundEvent(
                id=f"{event.event_id}:offer:{segment}",
                type=InboundEventType.WORK_OFFERED,
                provider_agent_id=user,
                occurred_at=contact.state_start_timestamp or event.event_timestamp,
                offer=offer,
            )
        )
    for segment, contact in before.items():
        link = ours(contact, lookup)
        if link is None or contact.state != "CONNECTING":
            continue
        later = now.get(segment)
        if later is not None and later.state not in UNANSWERED_STATES:
            continue
        found.append(
            InboundEvent(
                id=f"{event.event_id}:rescind:{segment}",
                type=InboundEventType.WORK_RESCINDED,
                provider_agent_id=user,
                occurred_at=event.event_timestamp,
                offer=InboundOffer(
                    external_segment_id=segment, work_item_id=link.work_item_id or None
                ),
            )
        )
    return found


def inbound_events(
    event: AgentEvent,
    lookup: Lookup,
    *,
    terms: OfferTerms | None = None,
) -> list[InboundEvent]:
    """The sign-in, presence and offer events one agent event stands for."""
    found: list[InboundEvent] = []
    if event.event_type in SIGN_IN_TYPES:
        found.append(_identity(event))
    if event.event_type in PRESENCE_TYPES:
        presence = _presence(event)
        if presence is not None:
            found.append(presence)
    found.extend(_offers(event, lookup, terms or OfferTerms()))
    return found
