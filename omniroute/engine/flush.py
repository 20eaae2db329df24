"""What a batch of commands changed, as writes per table, and writing them in one transaction."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core import rows as r
from omniroute.core.rows import NewRow
from omniroute.core.state import Tx
from omniroute.domain.model import DocumentType, Offer, WorkItem
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
class Write:
    """One kind of write to one table: rows inserted, updated by `id`, or upserted on `key`."""

    kind: Literal["insert", "update", "upsert"]
    model: type[t.Base]
    rows: list[dict[str, Any]]
    # The columns an upsert's rows conflict on.
    key: tuple[str, ...] = ()


def plan_tx(tx: Tx) -> list[Write]:
    """Every change recorded in the transaction, as writes in the order they must run."""
    plan: list[Write] = []

    def add(kind: Literal["insert", "update"], model: type[t.Base], rows: list[Any]) -> None:
        if rows:
            plan.append(Write(kind, model, rows))

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
    add("insert", t.CaseRow, docs_new[DocumentType.CASE])
    add("insert", t.InteractionRow, docs_new[DocumentType.INTERACTION])
    items = tx.items.values()
    add("insert", t.WorkItemRow, [_new_item_row(i, tx) for i in items if i.id in new])
    offers = tx.offers.values()
    add("insert", t.OfferRow, [_new_offer_row(o) for o in offers if o.id in new])
    add("update", t.CaseRow, docs_upd[DocumentType.CASE])
    add("update", t.InteractionRow, docs_upd[DocumentType.INTERACTION])
    add("update", t.WorkItemRow, [_item_row(i, tx) for i in items if i.id not in new])
    add("update", t.OfferRow, [_offer_row(o) for o in offers if o.id not in new])
    add(
        "update",
        t.AgentRow,
        [
            {
                "id": a.id,
                "presence_id": a.presence_id,
                "presence_since": a.presence_since,
                "last_assigned_at": a.last_assigned_at,
                "capacity_cap": a.capacity_cap,
            }
            for a in tx.agents.values()
        ],
    )
    if tx.agent_channels:
        rows = [
            {"agent_id": agent_id, "channel_id": channel_id, **fields}
            for (agent_id, channel_id), fields in tx.agent_channels.items()
        ]
        plan.append(Write("upsert", t.AgentChannelRow, rows, ("agent_id", "channel_id")))
    by_kind: dict[type[NewRow], list[dict[str, Any]]] = defaultdict(list)
    for record in tx.inserts:
        by_kind[type(record)].append(_values(record))
    for kind, model in ROW_TABLES.items():
        add("insert", model, by_kind.get(kind, []))
    add(
        "insert",
        t.OutboxEventRow,
        [
            {
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
            for ev in tx.outbox
        ],
    )
    add(
        "insert",
        t.AgentEventRow,
        [
            {
                "seq": fe.seq,
                "agent_id": fe.agent_id,
                "type": fe.event.type,
                "payload": event_payload(fe.event),
                "created_at": fe.created_at,
            }
            for fe in tx.events
        ],
    )
    return plan


async def write_tx(session: AsyncSession, tx: Tx) -> None:
    """Write every change recorded in the transaction; the caller commits."""
    writer = RowWriter(session.get_bind().dialect.name)
    for write in plan_tx(tx):
        if write.kind == "insert":
            await writer.insert(session, write.model, write.rows)
        elif write.kind == "update":
            await writer.update(session, write.model, write.rows)
        else:
            await _upsert(session, write)


async def _upsert(session: AsyncSession, write: Write) -> None:
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    for row in write.rows:
        fields = {k: v for k, v in row.items() if k not in write.key}
        stmt = make(write.model).values(**row)
        stmt = stmt.on_conflict_do_update(index_elements=list(write.key), set_=fields)
        await session.execute(stmt)


def sqlite_statements(tx: Tx, results: list[dict[str, Any]]) -> list[Statement]:
    """The SQLite statements that write the batch's command outcomes and every change in `tx`."""
    plan = [Write("insert", t.CommandResultRow, results)] if results else []
    out: list[Statement] = []
    for write in plan + plan_tx(tx):
        if write.kind == "insert":
            out += sqlite_inserts(write.model, write.rows)
        elif write.kind == "update":
            out += sqlite_updates(write.model, write.rows)
        else:
            out += sqlite_upserts(write.model, write.key, write.rows)
    return out
