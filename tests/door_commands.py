"""Typed commands the tests build often, and test-only commands registered at the door."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.core.documents import NewDocument
from omniroute.core.door import Command, handles
from omniroute.core.messages import CreateCase, CreateInteraction, StartTransfer
from omniroute.core.state import Tx
from omniroute.core.transfers import TransferRequest
from omniroute.domain.model import Document, DocumentType, WorkItem
from omniroute.engine.engine import Engine


def create_command(new: NewDocument) -> CreateInteraction | CreateCase:
    """The command that creates the document `new` describes."""
    kind = CreateCase if new.type is DocumentType.CASE else CreateInteraction
    return kind(new.channel_id, dict(new.fields), new.route)


async def create_document(engine: Engine, new: NewDocument) -> tuple[Document, WorkItem | None]:
    """Create a document through the door; the live document and its work item."""
    created = await engine.execute(create_command(new))
    doc = engine.state.documents[created.id]
    return doc, engine.state.work_items.get(created.work_item_id or "")


@dataclass(frozen=True, slots=True)
class SendOutboxEvents(Command[None]):
    """Test only: queue provider events numbered `ns` for one ordering key, in one batch."""

    spoke: str
    ordering_key: str
    ns: tuple[int, ...]


@handles(SendOutboxEvents)
def _send_outbox_events(tx: Tx, c: SendOutboxEvents) -> None:
    for n in c.ns:
        tx.send(c.spoke, "new_interaction", c.ordering_key, {"n": n})


async def start_transfer(engine: Engine, request: TransferRequest) -> WorkItem:
    """Start a transfer through the door; the new live work item."""
    item_id = await engine.execute(StartTransfer(request))
    return engine.state.work_items[item_id]
