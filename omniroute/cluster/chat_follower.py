"""Customer chat sockets on a node that does not lead: committed changes followed from the store.

The leader's chat hub pushes its own commits. On the other nodes this follower reads, after
each commit doorbell (and every second), the new messages and the state of the chats that
have a customer socket here, and pushes the same frames. Sockets drop repeated messages by id,
and a customer who reconnects anywhere with `since` gets what was missed from the store.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select

from omniroute.channels.chat.hub import ENDED_STATES, ChatHub
from omniroute.channels.chat.transcript import stored_message
from omniroute.cluster.tasks import cancel
from omniroute.domain.model import InteractionState
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.waits import wait_event

log = logging.getLogger(__name__)
POLL_S = 1.0


class ChatFollower:
    """Pushes committed chat messages and state changes to this node's customer sockets."""

    def __init__(self, db: Database, hub: ChatHub, engine: Engine) -> None:
        self._db = db
        self._hub = hub
        self._engine = engine
        self._bell = asyncio.Event()
        self._last_id = 0
        self._seen: dict[str, tuple[str, str | None]] = {}
        self._task: asyncio.Task[None] | None = None
        self._counted_at = float("-inf")

    async def start(self) -> None:
        """Start after the newest stored message (older ones are replayed by `since`)."""
        async with self._db.session() as session:
            newest = await session.scalar(select(func.max(t.ChatMessageRow.id)))
        self._last_id = newest or 0
        self._task = asyncio.create_task(self._run(), name="omniroute-chat-follower")

    async def stop(self) -> None:
        """Stop following."""
        task, self._task = self._task, None
        await cancel(task)

    def ring(self) -> None:
        """A commit doorbell rang."""
        self._bell.set()

    async def _run(self) -> None:
        while True:
            await wait_event(self._bell, POLL_S)
            self._bell.clear()
            try:
                await self._follow()
            except Exception:
                log.exception("following chat changes failed; retrying")

    async def _follow(self) -> None:
        m, i, a = t.ChatMessageRow, t.InteractionRow, t.AgentRow
        loop = asyncio.get_running_loop()
        if self._engine.running and loop.time() - self._counted_at < POLL_S:
            # The leader's hub pushes its own commits; the count is only kept for stepping down.
            return
        self._counted_at = loop.time()
        async with self._db.session() as session:
            newest = await session.scalar(select(func.max(m.id))) or 0
            chats = self._hub.listening()
            if self._engine.running or not chats:
                # The leader's hub pushes its own commits.
                self._last_id = newest
                return
            rows = await session.scalars(
                select(m)
                .where(m.id > self._last_id, m.id <= newest, m.interaction_id.in_(chats))
                .order_by(m.id)
            )
            for row in rows:
                message = stored_message(row) | {"client_id": row.client_id}
                self._hub.push(row.interaction_id, {"type": "message", "message": message})
            self._last_id = newest
            states = await session.execute(
                select(i.id, i.state, i.agent_id, a.name)
                .outerjoin(a, a.id == i.agent_id)
                .where(i.id.in_(chats))
            )
            # Chats whose sockets left are forgotten.
            self._seen = {k: v for k, v in self._seen.items() if k in chats}
            for chat_id, state, agent_id, name in states:
                self._changed(chat_id, state, agent_id, name)

    def _changed(self, chat_id: str, state: str, agent_id: str | None, name: str | None) -> None:
        # A chat first seen here may have changed since its socket's hello: say so once.
        before = self._seen.get(chat_id, ("", None))
        self._seen[chat_id] = (state, agent_id)
        if before == (state, agent_id):
            return
        if state == InteractionState.WORK_IN_PROGRESS and agent_id is not None:
            self._hub.push(chat_id, {"type": "agent_joined", "agent": {"name": name or "An agent"}})
        elif state in ENDED_STATES:
            self._hub.push(chat_id, {"type": "ended", "state": state})
