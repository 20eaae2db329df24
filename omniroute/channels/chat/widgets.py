"""Chat widgets: which pages may embed them, and the settings the widget script shows."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core.chat import CHAT_CHANNEL
from omniroute.demo import is_demo_widget
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.store import tables as t

ANY_ORIGIN = "*"


def normalise_origin(value: str) -> str:
    """An origin as browsers send it: scheme://host[:port], lower case, no path."""
    if value == ANY_ORIGIN:
        return value
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        msg = f"'{value}' is not an origin; write it as https://shop.example.com[:port]"
        raise ValueError(msg)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(widget: t.ChatWidgetRow, origin: str | None, own_origin: str) -> bool:
    """Whether a page on `origin` may use the widget; our own pages always may."""
    if origin is None:
        # Not a browser (no Origin header): the origin check protects pages, not the API.
        return True
    wanted = origin.rstrip("/").lower()
    allowed = {o.lower() for o in widget.allowed_origins}
    return ANY_ORIGIN in allowed or wanted in allowed or wanted == own_origin.lower()


def check_origin(widget: t.ChatWidgetRow, origin: str | None, own_origin: str) -> None:
    """Refuse a page whose origin the widget does not list."""
    if not origin_allowed(widget, origin, own_origin):
        raise DomainError(
            ErrorCode.ORIGIN_NOT_ALLOWED,
            f"pages on {origin} may not use chat widget '{widget.id}'; "
            "an admin can add the origin to the widget's allowed_origins",
        )


async def usable_widget(
    session: AsyncSession, widget_id: str, *, demo_mode: bool = False
) -> t.ChatWidgetRow:
    """An enabled widget by id; the demo data's widget only in demo mode."""
    row = await session.get(t.ChatWidgetRow, widget_id)
    if row is not None and is_demo_widget(row) and not demo_mode:
        raise DomainError(
            ErrorCode.NOT_FOUND,
            "the demo chat widget works only in demo mode; remove it: omniroute demo-data --remove",
            "widget",
        )
    if row is None:
        raise NotFoundError("chat widget", widget_id, "widget")
    if not row.enabled:
        raise DomainError(
            ErrorCode.WIDGET_DISABLED, f"chat widget '{widget_id}' is switched off", "widget"
        )
    return row


async def check_queue(session: AsyncSession, queue_id: str) -> None:
    """Refuse a queue that does not exist or does not take chats."""
    queue = await session.get(t.QueueRow, queue_id)
    if queue is None:
        raise NotFoundError("queue", queue_id, "queue_id")
    if CHAT_CHANNEL not in queue.channels:
        raise DomainError(
            ErrorCode.QUEUE_CHANNEL_MISMATCH,
            f"queue '{queue_id}' does not serve the chat channel",
            "queue_id",
        )
