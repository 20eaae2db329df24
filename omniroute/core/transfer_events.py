"""Tell the sender of a transfer how it is going, on its feed."""

from __future__ import annotations

from omniroute.core.state import Tx
from omniroute.domain.events import TransferChanged
from omniroute.domain.model import WorkItem


def transfer_changed(tx: Tx, item: WorkItem, state: str, offered_to: str | None = None) -> None:
    """Emit `transfer.changed` to the sender if this work item is a transfer."""
    if item.transfer_type is None or item.transfer_from_agent_id is None:
        return
    tx.emit(
        item.transfer_from_agent_id,
        TransferChanged(
            document_type=item.document_type.value,
            document_id=item.document_id,
            transfer_id=item.id,
            transfer_type=item.transfer_type,
            target_agent_id=item.transfer_to_agent_id,
            target_queue_id=None if item.transfer_to_agent_id else item.queue_id,
            state=state,
            offered_to=offered_to or (item.agent_id if state != "pending" else None),
        ),
    )
