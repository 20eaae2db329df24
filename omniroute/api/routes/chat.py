"""The web chat: customers start chats; the holding agent reads, writes and types."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.requests import HTTPConnection

from omniroute.api.auth import Principal, Role
from omniroute.api.chat_schemas import (
    ChatStartIn,
    ChatStartOut,
    HistoryOut,
    MessageIn,
    MessageOut,
    MessagesOut,
    OfflineMessageIn,
    OfflineMessageOut,
    WidgetPublicOut,
)
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.rate_limits import RATE_LIMITED_ANSWER, Door, limit
from omniroute.api.visibility import may_see
from omniroute.auth_tokens import hash_token, new_token
from omniroute.channels.chat import transcript
from omniroute.channels.chat.history import customer_history
from omniroute.channels.chat.hub import ChatHub
from omniroute.channels.chat.widgets import check_origin, usable_widget
from omniroute.config import Settings
from omniroute.core.chat import CHAT_CHANNEL, NewChat, message_out
from omniroute.core.documents import RouteRequest
from omniroute.core.messages import CreateInteraction, PostChatMessage, StartChat
from omniroute.core.ops_messages import QueueHours
from omniroute.domain.calendar import OutOfHoursAction
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import InteractionState
from omniroute.services.toolkit import attachments
from omniroute.store import tables as t

router = APIRouter(tags=["chat"])


def hub_of(request: Request) -> ChatHub:
    """The app's chat hub."""
    hub: ChatHub = request.app.state.chat
    return hub


def _demo(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.demo


def own_origin(request: HTTPConnection) -> str:
    """The origin of this server as the browser sees it."""
    scheme = {"ws": "http", "wss": "https"}.get(request.url.scheme, request.url.scheme)
    return f"{scheme}://{request.url.netloc}"


@router.get(
    "/chat/widgets/{widget_id}", response_model=WidgetPublicOut, responses=RATE_LIMITED_ANSWER
)
async def widget_settings(
    widget_id: str, session: SessionDep, engine: EngineDep, request: Request
) -> WidgetPublicOut:
    """The title, greeting and colour the widget script shows (public)."""
    await limit(request, Door.WIDGET)
    widget = await usable_widget(session, widget_id, demo_mode=_demo(request))
    check_origin(widget, request.headers.get("origin"), own_origin(request))
    hours = await engine.query(QueueHours(widget.queue_id))
    out = WidgetPublicOut.model_validate(widget)
    out.open = hours.open
    out.next_change = hours.next_change
    if not hours.open:
        out.offline_message = hours.out_of_hours_message
        out.takes_messages = hours.out_of_hours_action == OutOfHoursAction.ANSWER
    return out


@router.post(
    "/chat/offline-messages",
    response_model=OfflineMessageOut,
    status_code=201,
    responses=RATE_LIMITED_ANSWER,
)
async def leave_message(
    body: OfflineMessageIn, session: SessionDep, engine: EngineDep, request: Request
) -> OfflineMessageOut:
    """A customer's message while support is closed (public): it waits in the widget's queue
    as an email when the queue takes email, else as a chat, for an agent to answer by email."""
    await limit(request, Door.OFFLINE_MESSAGE)
    widget = await usable_widget(session, body.widget)
    check_origin(widget, request.headers.get("origin"), own_origin(request))
    queue = await session.get(t.QueueRow, widget.queue_id)
    channel = "email" if queue is not None and "email" in queue.channels else CHAT_CHANNEL
    fields: dict[str, str | None] = {
        "customer_name": body.name,
        "customer_email": body.email,
        "subject": body.question,
    }
    created = await engine.execute(
        CreateInteraction(channel, fields, RouteRequest(widget.queue_id))
    )
    return OfflineMessageOut(interaction_id=created.id)


@router.post(
    "/chat/sessions", response_model=ChatStartOut, status_code=201, responses=RATE_LIMITED_ANSWER
)
async def start_chat(
    body: ChatStartIn, session: SessionDep, engine: EngineDep, request: Request
) -> ChatStartOut:
    """Start a chat from the widget's pre-chat form (public): it is routed at once."""
    await limit(request, Door.CHAT_START)
    widget = await usable_widget(session, body.widget, demo_mode=_demo(request))
    check_origin(widget, request.headers.get("origin"), own_origin(request))
    token = new_token()
    new = NewChat(
        session_id=f"cs-{secrets.token_hex(12)}",
        widget_id=widget.id,
        queue_id=widget.queue_id,
        token_hash=hash_token(token),
        name=body.name,
        email=body.email,
        question=body.question,
    )
    started = await engine.execute(StartChat(new))
    return ChatStartOut(
        session_id=new.session_id,
        interaction_id=started.interaction_id,
        token=token,
        ws_path=f"/api/v1/chat/sessions/{new.session_id}/ws",
    )


async def _chat_row(session: SessionDep, interaction_id: str) -> t.InteractionRow:
    row = await session.get(t.InteractionRow, interaction_id, populate_existing=True)
    if row is None:
        raise NotFoundError("interaction", interaction_id, "interaction_id")
    return row


async def _check_reader(session: SessionDep, who: Principal, row: t.InteractionRow) -> None:
    if not await may_see(session, who, row):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "only the agents who work or worked on this interaction, a supervisor or an admin "
            "may see it",
        )


def _check_chat(row: t.InteractionRow) -> None:
    if row.channel_id != CHAT_CHANNEL:
        raise DomainError(
            ErrorCode.NOT_A_CHAT,
            f"interaction '{row.id}' is on channel '{row.channel_id}'; only chats have messages",
            "interaction_id",
        )


@router.get("/interactions/{interaction_id}/messages", response_model=MessagesOut)
async def list_messages(
    interaction_id: str, who: CurrentPrincipal, session: SessionDep
) -> MessagesOut:
    """The chat transcript, oldest first."""
    row = await _chat_row(session, interaction_id)
    await _check_reader(session, who, row)
    _check_chat(row)
    m = t.ChatMessageRow
    rows = await session.scalars(select(m).where(m.interaction_id == row.id).order_by(m.id))
    items = [MessageOut.model_validate(transcript.stored_message(r)) for r in rows]
    return MessagesOut(items=items)


@router.post("/interactions/{interaction_id}/messages", response_model=MessageOut, status_code=201)
async def post_message(  # noqa: PLR0917 - FastAPI dependencies
    interaction_id: str,
    body: MessageIn,
    who: CurrentPrincipal,
    session: SessionDep,
    engine: EngineDep,
    request: Request,
) -> MessageOut:
    """Send the customer a message; stored before it is pushed to the customer."""
    who.require(Role.AGENT, Role.ADMIN)
    _check_chat(await _chat_row(session, interaction_id))
    files = await attachments.refs(session, interaction_id, body.attachment_ids)
    message = await engine.execute(
        PostChatMessage(interaction_id, who.acting_agent(), body.body, files)
    )
    return MessageOut.model_validate(message_out(message))


@router.post("/interactions/{interaction_id}/typing", status_code=204, response_class=Response)
async def agent_typing(
    interaction_id: str, who: CurrentPrincipal, session: SessionDep, request: Request
) -> Response:
    """Show the customer that the agent is typing (not stored)."""
    who.require(Role.AGENT, Role.ADMIN)
    row = await _chat_row(session, interaction_id)
    _check_chat(row)
    if who.role is Role.AGENT and row.agent_id != who.agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, "the chat is held by another agent, not by you")
    if row.state != InteractionState.WORK_IN_PROGRESS:
        raise DomainError(
            ErrorCode.CHAT_ENDED if row.ended_at else ErrorCode.INVALID_STATE_TRANSITION,
            f"the chat is in '{row.state}'; typing shows only while it is being worked",
            "interaction_id",
        )
    hub_of(request).push(row.id, {"type": "typing", "sender": "agent"})
    return Response(status_code=204)


@router.get("/interactions/{interaction_id}/history", response_model=HistoryOut)
async def history(interaction_id: str, who: CurrentPrincipal, session: SessionDep) -> HistoryOut:
    """The same customer's (by email) earlier interactions and cases, newest first."""
    row = await _chat_row(session, interaction_id)
    await _check_reader(session, who, row)
    items = await customer_history(session, row)
    return HistoryOut.model_validate({"customer_email": row.customer_email, "items": items})
