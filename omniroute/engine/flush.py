"""Write what a batch of commands changed, in one transaction."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core import rows as r
from omniroute.core.rows import NewRow
from omniroute.core.state import FeedEvent, OutboxEvent, Tx
from omniroute.domain.model import Agent, DocumentType, Offer, WorkItem
from omniroute.domain.outbound import OutboxState
from omniroute.engine.bus import event_payload
from omniroute.engine.loader import requirements_json
from omniroute.engine.rowwriter import (
    RowWriter,
    Statement,
    sqlite_inserts,
    sqlite_updates,
    sqlite_upserts,
)
from omniroute.store import tables as t

# The table of each typed row, in the order they are inserted (a row's parents first).
ROW_TABLES: dict[type[NewRow], type[t.Base]] = {
    r.NewAgentRecord: t.AgentRow,
    r.AgentIdentityRecord: t.AgentIdentityRow,
    r.IdempotencyKeyRecord: t.IdempotencyKeyRow,
    r.SpokeIncidentRecord: t.SpokeIncidentRow,
    r.InboundEventRecord: t.InboundEventRow,
    r.EmailMessageRecord: t.EmailMessageRow,
    r.EmailAttachmentRecord: t.EmailAttachmentRow,
    r.ChatSessionRecord: t.ChatSessionRow,
    r.ChatMessage: t.ChatMessageRow,
    r.CallContextRecord: t.CallContextRow,
    r.AuditEntry: t.AuditRow,
}


def _values(row: NewRow) -> dict[str, Any]:
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


def _item_row(item: WorkItem, tx: Tx) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": item.state.value,
        "cancel_reason": item.cancel_reason.value if item.cancel_reason else None,
        "rejected": item.rejected,
        "timed_out": item.timed_out,
        "offer_count": item.offer_count,
        "agent_id": item.agent_id,
        "excluded_agents": sorted(item.excluded_agents),
        "excluded_until": _until(item.excluded_until),
        "escalation_step": item.escalation_step,
        "entered_at": item.entered_at,
        "preferred_agent_id": item.preferred_agent_id,
        "cancel_detail": item.cancel_detail,
        "queue_id": item.queue_id,
        "priority": item.priority,
        "skills": requirements_json(item.skills),
        "updated_at": tx.now,
        "accepted_at": item.accepted_at,
        "ended_at": item.ended_at,
    }


def _until(ends: dict[str, datetime] | None) -> dict[str, str] | None:
    return {agent: end.isoformat() for agent, end in ends.items()} if ends else None


def _new_item_row(item: WorkItem, tx: Tx) -> dict[str, Any]:
    return _item_row(item, tx) | {
        "document_type": item.document_type.value,
        "document_id": item.document_id,
        "channel_id": item.channel_id,
        "previous_id": item.previous_id,
        "transfer_type": item.transfer_type,
        "transfer_from_agent_id": item.transfer_from_agent_id,
        "transfer_to_agent_id": item.transfer_to_agent_id,
        "transfer_note": item.transfer_note,
        "created_at": item.created_at,
    }


def _offer_row(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.id,
        "state": offer.state.value,
        "reject_reason_id": offer.reject_reason_id,
        "note": offer.note,
        "ended_at": offer.ended_at,
    }


def _new_offer_row(offer: Offer) -> dict[str, Any]:
    return _offer_row(offer) | {
        "work_item_id": offer.work_item_id,
        "agent_id": offer.agent_id,
        "created_at": offer.created_at,
        "expires_at": offer.expires_at,
        "allowed_to_decline": offer.allowed_to_decline,
        "auto_accept": offer.auto_accept,
        "display_option": offer.display_option.value,
        "presence_after_timeout": offer.presence_after_timeout,
        "external_segment_id": offer.external_segment_id,
    }


@dataclass(frozen=True, slots=True)
class RowChange:
    """Rows of one table to insert, update by id, or upsert on `keys`."""

    kind: Literal["insert", "update", "upsert"]
    model: type[t.Base]
    rows: list[dict[str, Any]]
    keys: tuple[str, ...] = ()


def tx_changes(tx: Tx, results: list[dict[str, Any]]) -> list[RowChange]:
    """What a batch changed as rows, in the order they are written (a row's parents first).

    `results` are the batch's keyed command outcomes (`command_results` rows).
    """
    new = tx.new_ids
    docs_new: dict[DocumentType, list[dict[str, Any]]] = defaultdict(list)
    docs_upd: dict[DocumentType, list[dict[str, Any]]] = defaultdict(list)
    for doc in tx.documents.values():
        row = {
            "id": doc.id,
            "state": str(doc.state),
            "agent_id": doc.agent_id,
            "work_item_id": doc.work_item_id,
            "updated_at": tx.now,
        } | tx.document_fields.get(doc.id, {})
        (docs_new if doc.id in new else docs_upd)[doc.type].append(row)
    items = tx.items.values()
    offers = tx.offers.values()
    by_kind: dict[type[NewRow], list[dict[str, Any]]] = defaultdict(list)
    for record in tx.inserts:
        by_kind[type(record)].append(_values(record))
    changes = [
        RowChange("insert", t.CaseRow, docs_new[DocumentType.CASE]),
        RowChange("insert", t.InteractionRow, docs_new[DocumentType.INTERACTION]),
        RowChange("insert", t.WorkItemRow, [_new_item_row(i, tx) for i in items if i.id in new]),
        RowChange("insert", t.OfferRow, [_new_offer_row(o) for o in offers if o.id in new]),
        RowChange("update", t.CaseRow, docs_upd[DocumentType.CASE]),
        RowChange("update", t.InteractionRow, docs_upd[DocumentType.INTERACTION]),
        RowChange("update", t.WorkItemRow, [_item_row(i, tx) for i in items if i.id not in new]),
        RowChange("update", t.OfferRow, [_offer_row(o) for o in offers if o.id not in new]),
        RowChange("update", t.AgentRow, [_agent_row(a) for a in tx.agents.values()]),
        RowChange(
            "upsert",
            t.AgentChannelRow,
            [
                {"agent_id": agent_id, "channel_id": channel_id, **fields}
                for (agent_id, channel_id), fields in tx.agent_channels.items()
            ],
            ("agent_id", "channel_id"),
        ),
        *(RowChange("insert", model, by_kind.get(kind, [])) for kind, model in ROW_TABLES.items()),
        RowChange("insert", t.OutboxEventRow, [_outbox_row(ev) for ev in tx.outbox]),
        RowChange("insert", t.AgentEventRow, [_event_row(fe) for fe in tx.events]),
        RowChange("insert", t.CommandResultRow, results),
    ]
    return [change for change in changes if change.rows]


def _agent_row(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "presence_id": agent.presence_id,
        "presence_since": agent.presence_since,
        "last_assigned_at": agent.last_assigned_at,
        "capacity_cap": agent.capacity_cap,
    }


def _outbox_row(ev: OutboxEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "id": ev.id,
        "spoke": ev.spoke,
        "ordering_key": ev.ordering_key,
        "type": ev.type,
        "payload": ev.payload,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": ev.created_at,
        "created_at": ev.created_at,
    }


def _event_row(fe: FeedEvent) -> dict[str, Any]:
    return {
        "seq": fe.seq,
        "agent_id": fe.agent_id,
        "type": fe.event.type,
        "payload": event_payload(fe.event),
        "created_at": fe.created_at,
    }


async def write_tx(
    session: AsyncSession, tx: Tx, results: list[dict[str, Any]] | None = None
) -> None:
    """Write every change recorded in the transaction; the caller commits."""
    writer = RowWriter(session.get_bind().dialect.name)
    for change in tx_changes(tx, results or []):
        if change.kind == "insert":
            await writer.insert(session, change.model, change.rows)
        elif change.kind == "update":
            await writer.update(session, change.model, change.rows)
        else:
            await writer.upsert(session, change.model, change.keys, change.rows)


def sqlite_statements(tx: Tx, results: list[dict[str, Any]]) -> list[Statement]:
    """The SQLite statements that write every change recorded in the transaction."""
    out: list[Statement] = []
    for change in tx_changes(tx, results):
        if change.kind == "insert":
            out += sqlite_inserts(change.model, change.rows)
        elif change.kind == "update":
            out += sqlite_updates(change.model, change.rows)
        else:
            out += sqlite_upserts(change.model, change.keys, change.rows)
    return out
