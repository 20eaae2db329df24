"""Live fan-out of committed chat changes to the customers' connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import select, update

from omniroute.core.chat import Sender, message_out
from omniroute.core.committed import Committed
from omniroute.core.messages import MarkChatDelivered
from omniroute.core.rows import ChatMessage, ChatSessionRecord
from omniroute.domain.model import InteractionState
from omniroute.engine.engine import Engine
from omniroute.store import tables as t
from omniroute.store.db import Database

log = logging.getLogger(__name__)
QUEUE_LIMIT = 1_000
TYPING_EVERY_S = 2.0
ENDED_STATES = frozenset(
    {
        InteractionState.WRAP_UP,
        InteractionState.CLOSED_COMPLETE,
        InteractionState.CLOSED_ABANDONED,
    }
)
Frame = dict[str, Any]


class Listener:
    """One customer connection's frames; flagged when it falls too far behind."""

    def __init__(self, interaction_id: str) -> None:
        self.interaction_id = interaction_id
        self.queue: asyncio.Queue[Frame] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False


class ChatHub:
    """Pushes committed chat changes to customers and records delivery."""

    def __init__(self, db: Database, engine: Engine) -> None:
        self._db = db
        self._engine = engine
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._agents: dict[str, str] = {}
        # Interactions started from a widget: only these have a customer to tell anything.
        self._chats: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._typing_at: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Learn the open widget chats and watch the engine's commits."""
        async with self._db.session() as session:
            open_chats = await session.scalars(
                select(t.ChatSessionRow.interaction_id)
                .join(t.InteractionRow, t.InteractionRow.id == t.ChatSessionRow.interaction_id)
                .where(t.InteractionRow.state.not_in([str(s) for s in ENDED_STATES]))
            )
            self._chats = set(open_chats)
        self._engine.commit_listeners.append(self._on_commit)

    async def stop(self) -> None:
        """Stop watching and finish the delivery updates under way."""
        with contextlib.suppress(ValueError):
            self._engine.commit_listeners.remove(self._on_commit)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def lock(self, interaction_id: str) -> asyncio.Lock:
        """Serialises one chat's customer messages, so a re-sent message is stored once."""
        return self._locks[interaction_id]

    def typing_due(self, interaction_id: str) -> bool:
        """Whether a customer's typing signal should go out now (at most one per 2 s)."""
        now = time.monotonic()
        if now - self._typing_at.get(interaction_id, 0.0) < TYPING_EVERY_S:
            return False
        self._typing_at[interaction_id] = now
        return True

    def listen(self, interaction_id: str) -> Listener:
        """Start receiving a chat's frames."""
        listener = Listener(interaction_id)
        self._listeners[interaction_id].add(listener)
        return listener

    def listening(self) -> list[str]:
        """The chats with a customer connection on this node."""
        return list(self._listeners)

    def forget(self, listener: Listener) -> None:
        """Stop receiving frames."""
        group = self._listeners.get(listener.interaction_id)
        if group is not None:
            group.discard(listener)
            if not group:
                del self._listeners[listener.interaction_id]

    def push(self, interaction_id: str, frame: Frame) -> None:
        """Hand a frame to every connection of the chat."""
        for listener in self._listeners.get(interaction_id, ()):
            try:
                listener.queue.put_nowait(frame)
            except asyncio.QueueFull:
                # The client resumes from the stored transcript after reconnecting.
                listener.overflowed = True

    def _on_commit(self, batch: Committed) -> None:
        for row in batch.inserts:
            if isinstance(row, ChatSessionRecord):
                self._chats.add(row.interaction_id)
            elif isinstance(row, ChatMessage):
                message = message_out(row) | {"client_id": row.client_id}
                self.push(row.interaction_id, {"type": "message", "message": message})
        for doc in batch.documents:
            # Chats created by the API have no customer socket and need no bookkeeping here.
            if doc.id not in self._chats:
                continue
            if doc.state == InteractionState.WORK_IN_PROGRESS and doc.agent_id is not None:
                if self._agents.get(doc.id) == doc.agent_id:
                    continue
                self._agents[doc.id] = doc.agent_id
                name = doc.agent_name or "An agent"
                self.push(doc.id, {"type": "agent_joined", "agent": {"name": name}})
                self._spawn(self._customer_messages_delivered(doc.id))
            elif doc.state in ENDED_STATES:
                self._chats.discard(doc.id)
                self._agents.pop(doc.id, None)
                self._typing_at.pop(doc.id, None)
                self._locks.pop(doc.id, None)
                self.push(doc.id, {"type": "ended", "state": str(doc.state)})

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _customer_messages_delivered(self, interaction_id: str) -> None:
        """The agent who joined now has the customer's earlier messages: mark them delivered."""
        m = t.ChatMessageRow
        now = self._engine.clock.now()
        try:
            async with self._db.session() as session, session.begin():
                ids = list(
                    await session.scalars(
                        update(m)
                        .where(
                            m.interaction_id == interaction_id,
                            m.sender == Sender.CUSTOMER.value,
                            m.delivered_at.is_(None),
                        )
                        .values(delivered_at=now)
                        .returning(m.id)
                    )
                )
        except Exception:
            log.exception("could not mark the messages of chat %s delivered", interaction_id)
            return
        for message_id in sorted(ids):
            self.push(
                interaction_id,
                {"type": "delivered", "message_id": message_id, "delivered_at": now.isoformat()},
            )

    async def agent_messages_delivered(self, interaction_id: str, ids: list[int]) -> None:
        """The customer's connection sent these agent messages: record it, then tell the agent."""
        if not ids:
            return
        m = t.ChatMessageRow
        now = self._engine.clock.now()
        async with self._db.session() as session, session.begin():
            marked = list(
                await session.scalars(
                    update(m)
                    .where(m.id.in_(ids), m.delivered_at.is_(None))
                    .values(delivered_at=now)
                    .returning(m.id)
                )
            )
        if marked:
            await self._engine.execute(MarkChatDelivered(interaction_id, tuple(marked), now))
