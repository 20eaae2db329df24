"""SQLAlchemy 2 table models: the durable state of Omniroute."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    event,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from omniroute.store import search_ddl

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to the store; use timezone-aware UTC"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        dict[str, Any] | None: JSON,
        list[Any]: JSON,
    }


ID = String(64)


class ChannelRow(Base):
    """A service channel."""

    __tablename__ = "channels"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_capacity: Mapped[int] = mapped_column(Integer)


class PresenceStateRow(Base):
    """A presence state."""

    __tablename__ = "presence_states"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    is_available: Mapped[bool] = mapped_column(Boolean)


class SkillRow(Base):
    """A skill."""

    __tablename__ = "skills"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    spoke: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    provider_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class GroupRow(Base):
    """A group of agents, used by rules for eligibility and overflow."""

    __tablename__ = "groups"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class RuleRow(Base):
    """An assignment rule."""

    __tablename__ = "rules"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(32))
    offer_timeout_s: Mapped[int | None] = mapped_column(Integer)
    allowed_to_decline: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False)
    presence_after_timeout: Mapped[str | None] = mapped_column(ForeignKey("presence_states.id"))
    reassign_on_timeout: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_group_id: Mapped[str | None] = mapped_column(ForeignKey("groups.id"))
    overflow_group_id: Mapped[str | None] = mapped_column(ForeignKey("groups.id"))
    overflow_after_s: Mapped[int | None] = mapped_column(Integer)


class QueueRow(Base):
    """A queue."""

    __tablename__ = "queues"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channels: Mapped[list[Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    routing_mode: Mapped[str] = mapped_column(String(16), default="internal")
    rule_id: Mapped[str] = mapped_column(ForeignKey("rules.id"))
    max_wait_s: Mapped[int | None] = mapped_column(Integer)
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    spoke: Mapped[str | None] = mapped_column(String(64))
    provider_queue_id: Mapped[str | None] = mapped_column(String(200))
    provider_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    calendar_id: Mapped[str | None] = mapped_column(ForeignKey("calendars.id"))
    out_of_hours_action: Mapped[str] = mapped_column(
        String(32), default="keep_queued", server_default="keep_queued"
    )
    out_of_hours_queue_id: Mapped[str | None] = mapped_column(String(64))
    out_of_hours_message: Mapped[str | None] = mapped_column(Text)
    escalation: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    aging_per_min: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    exclusion_ttl_s: Mapped[int | None] = mapped_column(Integer)
    reject_cooldown_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    affinity_wait_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class CalendarRow(Base):
    """Business hours: weekly spans in a time zone, holidays and dated exceptions."""

    __tablename__ = "calendars"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tz: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    holidays: Mapped[list[Any]] = mapped_column(JSON, default=list)
    exceptions: Mapped[list[Any]] = mapped_column(JSON, default=list)


class RejectReasonRow(Base):
    """A reject reason, optionally limited to one channel."""

    __tablename__ = "reject_reasons"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[str | None] = mapped_column(ForeignKey("channels.id"))
    reassignable: Mapped[bool] = mapped_column(Boolean, default=False)


class WrapUpCodeRow(Base):
    """A wrap-up code."""

    __tablename__ = "wrap_up_codes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    time_limit_s: Mapped[int | None] = mapped_column(Integer)
    spoke: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    provider_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AgentRow(Base):
    """An agent."""

    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    presence_id: Mapped[str] = mapped_column(ForeignKey("presence_states.id"))
    presence_since: Mapped[datetime | None] = mapped_column()
    capacity_cap: Mapped[int | None] = mapped_column(Integer)
    last_assigned_at: Mapped[datetime | None] = mapped_column()
    allow_external: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    supervisor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column()


class AgentChannelRow(Base):
    """An agent's capacity override and availability on one channel."""

    __tablename__ = "agent_channels"
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    available: Mapped[bool] = mapped_column(Boolean, default=True)


class AgentSkillRow(Base):
    """A skill an agent holds at a level."""

    __tablename__ = "agent_skills"
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[str] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)


class AgentGroupRow(Base):
    """Membership of an agent in a group."""

    __tablename__ = "agent_groups"
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id"), primary_key=True)


class ApiTokenRow(Base):
    """An API token; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column()


class InteractionRow(Base):
    """One customer contact on one channel."""

    __tablename__ = "interactions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"))
    state: Mapped[str] = mapped_column(String(32), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    work_item_id: Mapped[str | None] = mapped_column(String(64))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_email: Mapped[str] = mapped_column(String(320), default="")
    customer_id: Mapped[str | None] = mapped_column(String(200), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(200))
    wrap_up_code_id: Mapped[str | None] = mapped_column(String(64))
    wrap_up_notes: Mapped[str | None] = mapped_column(Text)
    wrap_up_due_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()


class CaseRow(Base):
    """A longer-lived service record; routable on the case channel."""

    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"))
    state: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_email: Mapped[str] = mapped_column(String(320), default="")
    agent_id: Mapped[str | None] = mapped_column(String(64))
    work_item_id: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)
    wrap_up_code_id: Mapped[str | None] = mapped_column(String(64))
    # The readable reference is CS-<number>; numbers are handed out by the engine.
    number: Mapped[int | None] = mapped_column(Integer, unique=True)
    priority: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()


class WorkItemRow(Base):
    """A routable unit: one document in one queue."""

    __tablename__ = "work_items"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[str] = mapped_column(String(64), index=True)
    queue_id: Mapped[str] = mapped_column(ForeignKey("queues.id"))
    channel_id: Mapped[str] = mapped_column(ForeignKey("channels.id"))
    state: Mapped[str] = mapped_column(String(32))
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)
    offer_count: Mapped[int] = mapped_column(Integer, default=0)
    previous_id: Mapped[str | None] = mapped_column(String(64))
    transfer_type: Mapped[str | None] = mapped_column(String(16))
    transfer_from_agent_id: Mapped[str | None] = mapped_column(String(64))
    transfer_to_agent_id: Mapped[str | None] = mapped_column(String(64))
    transfer_note: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer)
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    excluded_agents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    excluded_until: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entered_at: Mapped[datetime | None] = mapped_column()
    preferred_agent_id: Mapped[str | None] = mapped_column(String(64))
    cancel_detail: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_work_items_state", "state"),)


class OfferRow(Base):
    """One work item offered to one agent."""

    __tablename__ = "offers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    work_item_id: Mapped[str] = mapped_column(ForeignKey("work_items.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    allowed_to_decline: Mapped[bool] = mapped_column(Boolean)
    auto_accept: Mapped[bool] = mapped_column(Boolean)
    presence_after_timeout: Mapped[str | None] = mapped_column(String(64))
    reject_reason_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column()
    external_segment_id: Mapped[str | None] = mapped_column(String(200))
    display_option: Mapped[str] = mapped_column(
        String(16), default="card_only", server_default="card_only"
    )

    __table_args__ = (Index("ix_offers_state", "state"),)


class AgentEventRow(Base):
    """An event on an agent's feed, stored in the transaction that caused it."""

    __tablename__ = "agent_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agent_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_agent_events_agent_seq", "agent_id", "seq"),)


class SpokeRow(Base):
    """A configured spoke: a connector instance of one installed kind."""

    __tablename__ = "spokes"
    name: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    presence_map: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    allow_provisioning: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class AgentIdentityRow(Base):
    """A provider's agent id linked to one of our agents."""

    __tablename__ = "agent_identities"
    spoke: Mapped[str] = mapped_column(
        ForeignKey("spokes.name", ondelete="CASCADE"), primary_key=True
    )
    provider_agent_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column()


class OutboxEventRow(Base):
    """A routing event for a provider, written with the change that caused it."""

    __tablename__ = "outbox_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    spoke: Mapped[str] = mapped_column(String(64))
    ordering_key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_outbox_events_state_due", "state", "next_attempt_at"),
        Index("ix_outbox_events_ordering", "ordering_key", "seq"),
    )


class InboundEventRow(Base):
    """A provider event already processed, kept so a repeat is recognised."""

    __tablename__ = "inbound_events"
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column()


class SpokeIncidentRow(Base):
    """Something a spoke could not do that an operator should see."""

    __tablename__ = "spoke_incidents"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    spoke: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()


class IdempotencyKeyRow(Base):
    """The outcome of a request made with an Idempotency-Key, to answer a retry alike."""

    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()


class EmailMessageRow(Base):
    """One email received over SMTP or sent through the relay, accepted or not."""

    __tablename__ = "email_messages"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    to_addresses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    interaction_id: Mapped[str | None] = mapped_column(ForeignKey("interactions.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()


class EmailAttachmentRow(Base):
    """A file attached to an email message."""

    __tablename__ = "email_attachments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("email_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class WebSessionRow(Base):
    """A signed-in browser: the cookie's digest, its agent and its CSRF token."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class AgentPreferencesRow(Base):
    """An agent's own workspace settings: how new work gets their attention."""

    __tablename__ = "agent_preferences"
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column()


class AgentProfileSyncRow(Base):
    """The last profile a spoke's provider gave one of our agents, and what it set."""

    __tablename__ = "agent_profile_syncs"
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    spoke: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_agent_id: Mapped[str] = mapped_column(String(200))
    # Fields an administrator keeps as set here: the sync leaves them alone.
    locked: Mapped[list[str]] = mapped_column(JSON, default=list)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Our skill, group and channel ids this spoke's sync set, so the next sync removes only those.
    owned: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    synced_at: Mapped[datetime | None] = mapped_column()
    attempted_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


class ChatWidgetRow(Base):
    """A web chat widget: its look, the queue its chats go to, the pages that may embed it."""

    __tablename__ = "chat_widgets"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    greeting: Mapped[str] = mapped_column(Text, default="")
    queue_id: Mapped[str] = mapped_column(ForeignKey("queues.id"))
    allowed_origins: Mapped[list[Any]] = mapped_column(JSON, default=list)
    color: Mapped[str] = mapped_column(String(7))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class ChatSessionRow(Base):
    """A customer's web chat; only the digest of the customer's token is stored."""

    __tablename__ = "chat_sessions"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"), index=True)
    widget_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()


class ChatMessageRow(Base):
    """One message of a chat transcript; ids rise in the order messages were stored."""

    __tablename__ = "chat_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"))
    sender: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(String(64))
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    created_at: Mapped[datetime] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_chat_messages_interaction_id", "interaction_id", "id"),)


class SpokeDataRow(Base):
    """One JSON value a spoke instance keeps under a key (its id maps, cursors, tokens)."""

    __tablename__ = "spoke_data"
    spoke: Mapped[str] = mapped_column(
        ForeignKey("spokes.name", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column()


class CallContextRow(Base):
    """One call context a provider sent for an interaction; the latest by time is current."""

    __tablename__ = "call_contexts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interaction_id: Mapped[str] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    spoke: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_number: Mapped[str | None] = mapped_column(String(64))
    available_actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    provider_call_id: Mapped[str | None] = mapped_column(String(200))
    connected_at: Mapped[datetime | None] = mapped_column()
    occurred_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column()


class SpokePanelRow(Base):
    """The provider's agent panel shown in the workspace for one spoke, and its origins."""

    __tablename__ = "spoke_panels"
    spoke: Mapped[str] = mapped_column(
        ForeignKey("spokes.name", ondelete="CASCADE"), primary_key=True
    )
    panel_url: Mapped[str] = mapped_column(String(2000))
    allowed_origins: Mapped[list[Any]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column()


class QueueServiceLevelRow(Base):
    """A queue's service-level threshold: how fast an item must be accepted to count as met."""

    __tablename__ = "queue_service_levels"
    queue_id: Mapped[str] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )
    threshold_s: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column()


class CannedResponseRow(Base):
    """A reply text agents insert; shared (no owner) or one agent's own."""

    __tablename__ = "canned_responses"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    shortcut: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    owner_agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class NoteRow(Base):
    """An internal note on an interaction or a case; never shown to the customer."""

    __tablename__ = "notes"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    document_type: Mapped[str] = mapped_column(String(16))
    document_id: Mapped[str] = mapped_column(String(64))
    author_agent_id: Mapped[str | None] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_notes_document", "document_id", "created_at"),)


class AttachmentRow(Base):
    """A file sent in a chat or with an email reply, stored with its interaction or case."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    interaction_id: Mapped[str | None] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[str | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    uploaded_by: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column()


class CustomerRow(Base):
    """A customer record: name, email addresses, phone and custom attributes."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    emails: Mapped[list[Any]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(64), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class CustomerEmailRow(Base):
    """One email address of a customer (an address belongs to one customer)."""

    __tablename__ = "customer_emails"
    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )


class SearchEntryRow(Base):
    """Searchable text of an interaction, case or customer, kept up to date by triggers."""

    __tablename__ = "search_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(100), index=True)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_search_entries_ref", "kind", "ref_id"),)


class AuditRow(Base):
    """Who changed what and when: admin changes and supervisor actions."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IntervalStatRow(Base):
    """Figures of one queue or agent over one 15-minute interval or one UTC day."""

    __tablename__ = "interval_stats"
    span: Mapped[str] = mapped_column(String(4), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    start: Mapped[datetime] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    timed_out: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    transferred: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_within: Mapped[int] = mapped_column(Integer, default=0)
    answer_s: Mapped[float] = mapped_column(Float, default=0.0)
    handled: Mapped[int] = mapped_column(Integer, default=0)
    handle_s: Mapped[float] = mapped_column(Float, default=0.0)
    longest_wait_s: Mapped[float] = mapped_column(Float, default=0.0)
    busy_s: Mapped[float] = mapped_column(Float, default=0.0)
    # JSONB on PostgreSQL: reports add these objects up over thousands of rows, and JSONB is
    # read without parsing text.
    presence_s: Mapped[dict[str, Any]] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), default=dict
    )


# The supervisor's last-hour queries skip the many items that ended long ago.
Index("ix_work_items_ended_at", WorkItemRow.ended_at)
# The report roll-up reads one interval's events as bounded ranges of these times.
Index("ix_work_items_created_at", WorkItemRow.created_at)
Index("ix_work_items_accepted_at", WorkItemRow.accepted_at)
Index("ix_offers_created_at", OfferRow.created_at)
Index("ix_offers_ended_at", OfferRow.ended_at)
Index("ix_agent_events_type_created_at", AgentEventRow.type, AgentEventRow.created_at)


class ClusterLeaseRow(Base):
    """The leader's lease: one row; `epoch` grows with every new leader and fences old ones."""

    __tablename__ = "cluster_lease"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    node_id: Mapped[str | None] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    since: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class EngineChangeRow(Base):
    """What one leader commit changed in the engine's state, by id: hot standbys follow it."""

    __tablename__ = "engine_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epoch: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()


class ClusterNodeRow(Base):
    """A node's heartbeat: where it answers, what it does, when it was last seen."""

    __tablename__ = "cluster_nodes"
    node_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column()
    last_seen: Mapped[datetime] = mapped_column()


class CommandResultRow(Base):
    """The outcome of a keyed engine command, written in its batch, to answer a retry alike."""

    __tablename__ = "command_results"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()


class RequestKeyRow(Base):
    """The response to a mutating request sent with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "request_keys"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column()


class OutboxClaimRow(Base):
    """A node's claim on one ordering key of the outbox, so no two nodes deliver it at once."""

    __tablename__ = "outbox_claims"
    ordering_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()


# A schema built from these models (tests, `create_all`) gets the full-text search objects too.
event.listen(Base.metadata, "after_create", search_ddl.install)
