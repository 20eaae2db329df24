"""The change log: what each leader commit changed in the engine state, by id.

The leader writes one `engine_changes` row in the transaction of every commit that changed
routing state, numbered without gaps (`max(seq) + 1`, under the lease's row lock: see
`cluster/commit_fence.py`). A hot standby reads the rows after the last one it applied and
re-reads the named rows from the store (`engine/standby.py`), so it needs no copy of the
engine's logic to stay current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.core import rows as r
from omniroute.core.state import Tx
from omniroute.store import tables as t

# A standby that reads another version does not guess: it loads the whole state.
VERSION = 1
_FIELDS = frozenset(
    {"v", "documents", "items", "offers", "agents", "keys", "inbound", "identities", "config"}
)


class UnknownChange(Exception):  # noqa: N818 - a finding, not a failure
    """A change log row this node cannot apply (another version, a field it does not know)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One leader commit's changes: the ids to re-read and the small records it inserted."""

    seq: int
    epoch: int
    documents: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()
    # Idempotency keys (key, request hash, result id), inbound provider events (spoke, id)
    # and linked provider identities (spoke, provider agent id, agent id).
    keys: tuple[tuple[str, str, str], ...] = ()
    inbound: tuple[tuple[str, str], ...] = ()
    identities: tuple[tuple[str, str, str], ...] = ()
    # Configuration, catalogs and agents were re-read from the store by the leader.
    config: bool = False


def change_body(tx: Tx, config: bool) -> dict[str, Any] | None:
    """The change log entry of a batch, or None if it changed no routing state."""
    agents = set(tx.agents) | {agent_id for agent_id, _ in tx.agent_channels}
    keys: list[list[str]] = []
    inbound: list[list[str]] = []
    identities: list[list[str]] = []
    for row in tx.inserts:
        if isinstance(row, r.NewAgentRecord):
            agents.add(row.id)
        elif isinstance(row, r.IdempotencyKeyRecord):
            keys.append([row.key, row.request_hash, row.result_id])
        elif isinstance(row, r.InboundEventRecord):
            inbound.append([row.spoke, row.event_id])
        elif isinstance(row, r.AgentIdentityRecord):
            identities.append([row.spoke, row.provider_agent_id, row.agent_id])
    body: dict[str, Any] = {
        "documents": sorted(tx.documents),
        "items": sorted(tx.items),
        "offers": sorted(tx.offers),
        "agents": sorted(agents),
        "keys": keys,
        "inbound": inbound,
        "identities": identities,
        "config": config,
    }
    if not any(body.values()):
        return None
    return {"v": VERSION} | body


def parse(seq: int, epoch: int, body: dict[str, Any]) -> Change:
    """A stored change, or `UnknownChange` if this node does not know its form."""
    if not isinstance(body, dict) or body.get("v") != VERSION or set(body) - _FIELDS:
        msg = f"change {seq} has a form this node does not know"
        raise UnknownChange(msg)
    try:
        return Change(
            seq,
            epoch,
            documents=tuple(body.get("documents", ())),
            items=tuple(body.get("items", ())),
            offers=tuple(body.get("offers", ())),
            agents=tuple(body.get("agents", ())),
            keys=tuple((k, h, i) for k, h, i in body.get("keys", ())),
            inbound=tuple((s, e) for s, e in body.get("inbound", ())),
            identities=tuple((s, p, a) for s, p, a in body.get("identities", ())),
            config=bool(body.get("config", False)),
        )
    except (TypeError, ValueError) as err:
        msg = f"change {seq} cannot be read: {err}"
        raise UnknownChange(msg) from err


async def read_changes(session: AsyncSession, after: int, limit: int) -> list[Change]:
    """The changes after sequence `after`, oldest first."""
    ch = t.EngineChangeRow
    rows = await session.execute(
        select(ch.seq, ch.epoch, ch.body).where(ch.seq > after).order_by(ch.seq).limit(limit)
    )
    return [parse(seq, epoch, body) for seq, epoch, body in rows]


async def last_change(session: AsyncSession) -> tuple[int, int]:
    """The sequence and epoch of the newest change ((0, 0) if none)."""
    ch = t.EngineChangeRow
    newest = (
        await session.execute(select(ch.seq, ch.epoch).order_by(ch.seq.desc()).limit(1))
    ).first()
    return (0, 0) if newest is None else (int(newest[0]), int(newest[1]))
