"""What a committed batch changed, as a plain value for listeners outside the core."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.core.rows import NewRow
from omniroute.core.state import FeedEvent, Tx


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """A document the batch wrote: its state and the agent holding it (with the agent's name)."""

    id: str
    state: str
    agent_id: str | None
    agent_name: str | None


@dataclass(frozen=True, slots=True)
class Committed:
    """The outcome of one committed batch, handed to commit listeners (chat hub, dispatcher...)."""

    events: tuple[FeedEvent, ...] = ()
    inserts: tuple[NewRow, ...] = ()
    documents: tuple[DocumentChange, ...] = ()
    # Whether work items, offers, agents or documents changed (the supervisor view moves).
    routing_changed: bool = False
    outbox_events: int = 0


def routing_changed(tx: Tx) -> bool:
    """Whether a batch changed work items, offers, agents or documents (the live view moved)."""
    return bool(tx.items or tx.offers or tx.agents or tx.documents)


def committed(tx: Tx) -> Committed:
    """The listeners' view of a batch that was just committed."""
    docs = []
    for doc in tx.documents.values():
        agent = tx.state.agents.get(doc.agent_id or "")
        docs.append(
            DocumentChange(doc.id, str(doc.state), doc.agent_id, agent.name if agent else None)
        )
    return Committed(
        events=tuple(tx.events),
        inserts=tuple(tx.inserts),
        documents=tuple(docs),
        routing_changed=routing_changed(tx),
        outbox_events=len(tx.outbox),
    )
