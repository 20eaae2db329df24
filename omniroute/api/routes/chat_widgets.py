"""Administration of chat widgets."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from omniroute.api.chat_schemas import WidgetCreate, WidgetOut, WidgetUpdate
from omniroute.api.deps import AdminPrincipal, SessionDep
from omniroute.channels.chat.widgets import check_queue
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.engine.engine import Engine
from omniroute.store import tables as t

router = APIRouter(tags=["chat widgets"])


async def _widget(session: SessionDep, widget_id: str) -> t.ChatWidgetRow:
    row = await session.get(t.ChatWidgetRow, widget_id, populate_existing=True)
    if row is None:
        raise NotFoundError("chat widget", widget_id, "widget_id")
    return row


def _now(request: Request) -> datetime:
    engine: Engine = request.app.state.engine
    return engine.clock.now()


@router.get("/chat-widgets", response_model=list[WidgetOut])
async def list_widgets(_who: AdminPrincipal, session: SessionDep) -> list[WidgetOut]:
    """Every chat widget, by id."""
    rows = await session.scalars(select(t.ChatWidgetRow).order_by(t.ChatWidgetRow.id))
    return [WidgetOut.model_validate(r) for r in rows]


@router.post("/chat-widgets", response_model=WidgetOut, status_code=201)
async def create_widget(
    body: WidgetCreate, _who: AdminPrincipal, session: SessionDep, request: Request
) -> WidgetOut:
    """Add a chat widget; its chats go to a queue that serves the chat channel."""
    await check_queue(session, body.queue_id)
    if await session.get(t.ChatWidgetRow, body.id) is not None:
        raise DomainError(
            ErrorCode.CONFLICT, f"chat widget '{body.id}' already exists; choose another id", "id"
        )
    now = _now(request)
    row = t.ChatWidgetRow(**body.model_dump(), created_at=now, updated_at=now)
    session.add(row)
    await session.commit()
    return WidgetOut.model_validate(row)


@router.get("/chat-widgets/{widget_id}", response_model=WidgetOut)
async def get_widget(widget_id: str, _who: AdminPrincipal, session: SessionDep) -> WidgetOut:
    """One chat widget."""
    return WidgetOut.model_validate(await _widget(session, widget_id))


@router.patch("/chat-widgets/{widget_id}", response_model=WidgetOut)
async def update_widget(
    widget_id: str,
    body: WidgetUpdate,
    _who: AdminPrincipal,
    session: SessionDep,
    request: Request,
) -> WidgetOut:
    """Change a chat widget; chats already started keep their queue."""
    row = await _widget(session, widget_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("title", "queue_id", "allowed_origins", "color", "enabled", "greeting"):
        if name in changes and changes[name] is None:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} may not be null", name)
    if "queue_id" in changes:
        await check_queue(session, changes["queue_id"])
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = _now(request)
    await session.commit()
    return WidgetOut.model_validate(row)


@router.delete("/chat-widgets/{widget_id}", status_code=204, response_class=Response)
async def delete_widget(widget_id: str, _who: AdminPrincipal, session: SessionDep) -> Response:
    """Remove a chat widget; chats already started go on."""
    row = await _widget(session, widget_id)
    await session.delete(row)
    await session.commit()
    return Response(status_code=204)
