"""The customer's side of a chat over WebSocket: replay, live frames, messages, typing, end."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select

from omniroute import jsontext
from omniroute.api.bounds import parse_since
from omniroute.api.chat_schemas import Text
from omniroute.api.rate_limits import Door, limit
from omniroute.api.routes.chat import own_origin
from omniroute.api.socket_tasks import until_first
from omniroute.auth_tokens import hash_token
from omniroute.channels.chat import transcript
from omniroute.channels.chat.hub import ChatHub, Listener
from omniroute.channels.chat.widgets import origin_allowed
from omniroute.core.chat import Sender
from omniroute.core.messages import CustomerEndsChat, CustomerTyping, PostCustomerMessage
from omniroute.domain.errors import DomainError, RetryLaterError
from omniroute.domain.model import InteractionState
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database

router = APIRouter(tags=["chat"])
DEFAULT_AUTH_TIMEOUT_S = 10.0
CLOSE_POLICY = 1008
CLOSE_BAD_TOKEN = 4401
CLOSE_ORIGIN = 4403
CLOSE_UNKNOWN = 4404
CLOSE_BEHIND = 4408
CLIENT_ID_LIMIT = 64
_TEXT: TypeAdapter[str] = TypeAdapter(Text)


class RefusedError(Exception):
    """The connection may not join the chat."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _state(row: t.InteractionRow) -> str:
    if row.state in (InteractionState.NEW, InteractionState.ON_HOLD):
        return "waiting"
    if row.state == InteractionState.WORK_IN_PROGRESS:
        return "active"
    return "ended"


async def _text_frame(ws: WebSocket) -> str | None:
    """The next text frame; None for a binary one; WebSocketDisconnect when the client left."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text: str | None = message.get("text")
    return text


def _auth_timeout_s(ws: WebSocket) -> float:
    """How long a new chat socket may take to send its auth frame (a setting)."""
    settings = getattr(ws.app.state, "settings", None)
    return float(getattr(settings, "chat_auth_timeout_s", DEFAULT_AUTH_TIMEOUT_S))


async def _first_frame(ws: WebSocket) -> dict[str, Any]:
    try:
        raw = await asyncio.wait_for(_text_frame(ws), _auth_timeout_s(ws))
    except TimeoutError as err:
        raise RefusedError(CLOSE_BAD_TOKEN, "send {'type': 'auth', 'token': ...} first") from err
    if raw is None:
        raise RefusedError(CLOSE_POLICY, "send the auth frame as JSON text, not binary")
    try:
        frame = jsontext.loads(raw)
    except ValueError as err:
        raise RefusedError(CLOSE_BAD_TOKEN, "send {'type': 'auth', 'token': ...} first") from err
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        raise RefusedError(CLOSE_BAD_TOKEN, "send {'type': 'auth', 'token': ...} first")
    return frame


async def _join(ws: WebSocket, db: Database, session_id: str) -> tuple[str, int]:
    """Check the session, the token and the page's origin; returns (interaction, since)."""
    async with db.session() as session:
        chat = await session.get(t.ChatSessionRow, session_id)
        widget = await session.get(t.ChatWidgetRow, chat.widget_id) if chat else None
    if chat is None:
        raise RefusedError(CLOSE_UNKNOWN, "no such chat session; start a new chat")
    origin = ws.headers.get("origin")
    if widget is not None and not origin_allowed(widget, origin, own_origin(ws)):
        raise RefusedError(CLOSE_ORIGIN, "this page's origin may not use the chat widget")
    since: object = ws.query_params.get("since")
    token = ws.query_params.get("token")
    if token is None:
        frame = await _first_frame(ws)
        token = str(frame.get("token", ""))
        since = frame.get("since", since)
    if not hmac.compare_digest(hash_token(token), chat.token_hash):
        raise RefusedError(CLOSE_BAD_TOKEN, "the chat token is not valid for this session")
    try:
        return chat.interaction_id, parse_since(since)
    except ValueError as err:
        raise RefusedError(CLOSE_POLICY, str(err)) from err


async def _hello(db: Database, session_id: str, interaction_id: str) -> dict[str, Any]:
    async with db.session() as session:
        row = await session.get(t.InteractionRow, interaction_id)
        assert row is not None
        agent = await session.get(t.AgentRow, row.agent_id) if row.agent_id else None
    state = _state(row)
    return {
        "type": "hello",
        "session_id": session_id,
        "interaction_id": interaction_id,
        "state": state,
        "agent": {"name": agent.name} if agent is not None and state == "active" else None,
        "customer_name": row.customer_name,
    }


async def _replay(db: Database, interaction_id: str, since: int) -> list[dict[str, Any]]:
    m = t.ChatMessageRow
    async with db.session() as session:
        rows = await session.scalars(
            select(m).where(m.interaction_id == interaction_id, m.id > since).order_by(m.id)
        )
        return [transcript.stored_message(r) | {"client_id": r.client_id} for r in rows]


async def _receipts(db: Database, interaction_id: str, since: int) -> list[dict[str, Any]]:
    """Delivery receipts of the customer's messages the client already has (id <= since):
    one may have come while it was away."""
    m = t.ChatMessageRow
    async with db.session() as session:
        rows = await session.scalars(
            select(m)
            .where(
                m.interaction_id == interaction_id,
                m.id <= since,
                m.sender == Sender.CUSTOMER.value,
                m.delivered_at.is_not(None),
            )
            .order_by(m.id)
        )
        shown = [transcript.stored_message(r) for r in rows]
    return [
        {"type": "delivered", "message_id": r["id"], "delivered_at": r["delivered_at"]}
        for r in shown
    ]


class Conversation:
    """One customer connection: sends what is new, takes what the customer does."""

    def __init__(self, ws: WebSocket, hub: ChatHub, engine: Engine, interaction_id: str) -> None:
        self.ws = ws
        self.hub = hub
        self.engine = engine
        self.interaction_id = interaction_id
        self.last = 0

    async def send_messages(self, messages: list[dict[str, Any]]) -> None:
        """Send messages newer than the last sent, then record agent messages as delivered."""
        fresh = [m for m in messages if m["id"] > self.last]
        for message in fresh:
            await self.ws.send_json({"type": "message", "message": message})
            self.last = message["id"]
        undelivered = [
            m["id"] for m in fresh if m["sender"] == "agent" and m["delivered_at"] is None
        ]
        await self.hub.agent_messages_delivered(self.interaction_id, undelivered)

    async def pump(self, listener: Listener) -> None:
        """Forward the hub's frames until the connection falls behind."""
        while True:
            frame = await listener.queue.get()
            if listener.overflowed:
                await self.ws.close(CLOSE_BEHIND, "too far behind; reconnect with since")
                return
            if frame["type"] == "message":
                await self.send_messages([frame["message"]])
            else:
                await self.ws.send_json(frame)

    async def take(self) -> None:
        """Handle the customer's frames until the connection closes."""
        while True:
            raw = await _text_frame(self.ws)
            try:
                # Every frame costs work, even one refused: past the rate the socket closes.
                await limit(self.ws, Door.CHAT_FRAMES, self.interaction_id)
            except RetryLaterError:
                await self.ws.close(CLOSE_POLICY, "RATE_LIMITED: too many frames; reconnect later")
                return
            try:
                frame = jsontext.loads(raw or "")
            except ValueError:
                await self._error("VALIDATION_ERROR", "frames are JSON objects")
                continue
            kind = frame.get("type") if isinstance(frame, dict) else None
            try:
                if kind == "message":
                    await self._message(frame)
                elif kind == "typing":
                    await self._typing()
                elif kind == "end":
                    await self.engine.execute(CustomerEndsChat(self.interaction_id))
                elif kind != "ping":
                    await self._error("VALIDATION_ERROR", f"unknown frame type {kind!r}")
            except DomainError as err:
                await self._error(err.shown_code, err.message)

    async def _message(self, frame: dict[str, Any]) -> None:
        try:
            body = _TEXT.validate_python(frame.get("body"))
        except ValidationError:
            await self._error("VALIDATION_ERROR", "body: write 1 to 4000 characters")
            return
        client_id = str(frame.get("client_id") or "")[:CLIENT_ID_LIMIT] or None
        await limit(self.ws, Door.CHAT_MESSAGES, self.interaction_id)
        await limit(self.ws, Door.CHAT_MESSAGES_PER_IP)
        async with self.hub.lock(self.interaction_id):
            if client_id is not None and await self._already_stored(client_id):
                return
            await self.engine.execute(PostCustomerMessage(self.interaction_id, body, client_id))

    async def _already_stored(self, client_id: str) -> bool:
        """Re-send the stored copy of a message the customer sent again after a drop."""
        m = t.ChatMessageRow
        db: Database = self.ws.app.state.db
        async with db.session() as session:
            row = await session.scalar(
                select(m).where(m.interaction_id == self.interaction_id, m.client_id == client_id)
            )
        if row is None:
            return False
        message = transcript.stored_message(row) | {"client_id": client_id}
        await self.ws.send_json({"type": "message", "message": message})
        return True

    async def _typing(self) -> None:
        if self.hub.typing_due(self.interaction_id):
            await self.engine.execute(CustomerTyping(self.interaction_id))

    async def _error(self, code: str, message: str) -> None:
        await self.ws.send_json({"type": "error", "code": code, "message": message})


@router.websocket("/chat/sessions/{session_id}/ws")
async def customer_socket(ws: WebSocket, session_id: str) -> None:
    """The customer's live chat; `since` (query or auth frame) replays what was missed."""
    db: Database = ws.app.state.db
    hub: ChatHub = ws.app.state.chat
    engine: Engine = ws.app.state.engine
    await ws.accept()
    try:
        interaction_id, since = await _join(ws, db, session_id)
    except RefusedError as refused:
        await ws.close(refused.code, refused.reason)
        return
    except WebSocketDisconnect:
        return
    listener = hub.listen(interaction_id)
    conversation = Conversation(ws, hub, engine, interaction_id)
    conversation.last = since
    try:
        await ws.send_json(await _hello(db, session_id, interaction_id))
        for receipt in await _receipts(db, interaction_id, since) if since else []:
            await ws.send_json(receipt)
        await conversation.send_messages(await _replay(db, interaction_id, since))
        await until_first(conversation.pump(listener), conversation.take())
    except WebSocketDisconnect:
        pass
    finally:
        hub.forget(listener)
        with contextlib.suppress(Exception):
            await ws.close()
