"""Request and response bodies of the web chat API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from omniroute.api.admin_schemas import Email, EntityId
from omniroute.api.schemas import Body, Out
from omniroute.channels.chat.widgets import normalise_origin

Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]
Origin = Annotated[str, AfterValidator(normalise_origin)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Greeting = Annotated[str, Field(max_length=2000)]


class WidgetCreate(Body):
    """A new chat widget."""

    id: EntityId
    title: Title
    greeting: Greeting = ""
    queue_id: str
    allowed_origins: list[Origin] = Field(default_factory=list)
    color: Color = "#2a52c9"
    enabled: bool = True


class WidgetUpdate(Body):
    """Changes to a chat widget; absent fields stay as they are."""

    title: Title | None = None
    greeting: Greeting | None = None
    queue_id: str | None = None
    allowed_origins: list[Origin] | None = None
    color: Color | None = None
    enabled: bool | None = None


class WidgetOut(Out):
    """A chat widget as admins see it."""

    id: str
    title: str
    greeting: str
    queue_id: str
    allowed_origins: list[str]
    color: str
    enabled: bool
    created_at: datetime
    updated_at: datetime


class WidgetPublicOut(Out):
    """What the widget script needs to draw itself, and whether support is open now."""

    id: str
    title: str
    greeting: str
    color: str
    open: bool = True
    next_change: datetime | None = None
    offline_message: str | None = None
    # Closed with the "answer" action: the widget takes a message and an email instead.
    takes_messages: bool = False


class OfflineMessageIn(Body):
    """A message left through the widget while support is closed."""

    widget: str = Field(max_length=64)
    name: Title
    email: Email
    question: Text


class OfflineMessageOut(Out):
    """The interaction filed for an offline message."""

    interaction_id: str


class ChatStartIn(Body):
    """A customer's pre-chat form."""

    widget: str = Field(max_length=64)
    name: Title
    email: Email
    question: Text


class ChatStartOut(Out):
    """A started chat: connect its WebSocket with the token, which is shown only now."""

    session_id: str
    interaction_id: str
    token: str
    ws_path: str


class AttachmentOut(Out):
    """A stored file: name, type and size; download it from `/attachments/{id}`."""

    id: str
    filename: str
    content_type: str
    size: int


class MessageIn(Body):
    """An agent's chat message: text, files uploaded before, or both."""

    body: str = Field("", max_length=4000)
    attachment_ids: list[str] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _not_empty(self) -> MessageIn:
        self.body = self.body.strip()
        if not self.body and not self.attachment_ids:
            msg = "write a message or attach a file"
            raise ValueError(msg)
        return self


class MessageOut(Out):
    """One transcript message."""

    id: int
    interaction_id: str
    sender: Literal["customer", "agent", "system"]
    agent_id: str | None
    author_name: str
    body: str
    attachments: list[AttachmentOut] = Field(default_factory=list)
    created_at: datetime
    delivered_at: datetime | None


class MessagesOut(Out):
    """A chat transcript, oldest first."""

    items: list[MessageOut]


class HistoryEntryOut(Out):
    """One earlier interaction or case of the customer."""

    type: Literal["interaction", "case"]
    id: str
    channel_id: str
    state: str
    created_at: datetime
    subject: str
    agent_id: str | None
    agent_name: str | None
    wrap_up_code_id: str | None
    wrap_up_code_name: str | None
    case_id: str | None


class HistoryOut(Out):
    """The customer's earlier interactions and cases, newest first."""

    customer_email: str
    items: list[HistoryEntryOut]
