"""The isolation guard: a command that refuses must leave the state and the batch as it found them.

Tests switch it on in the engine. It copies what a command can change before the command runs
and, when the command raises, compares: a difference is a `IsolationError`, because the batch's
other commands would otherwise be written with the half-done change.
"""

from __future__ import annotations

import copy
from typing import Any

from omniroute.core.state import Tx


class IsolationError(AssertionError):
    """A command raised after it had changed state."""


def snapshot(tx: Tx) -> Any:
    """A copy of everything a command may change: live state, counters and the batch's records."""
    s = tx.state
    return copy.deepcopy(
        (
            s.documents,
            s.work_items,
            s.offers,
            s.agents,
            s.ended_offers,
            s.identities,
            s.agent_identities,
            s.idempotency,
            s.segment_offers,
            s.inbound_seen,
            s.items_by_document,
            (s.next_seq, s.next_outbox_seq, s.next_chat_message_id),
            (tx.items, tx.offers, tx.agents, tx.documents, tx.document_fields, tx.agent_channels),
            (tx.events, tx.outbox, tx.inserts, tx.timers, tx.route_agents, tx.route_items),
            tx.new_ids,
        )
    )


def check(tx: Tx, before: Any, name: str, err: BaseException) -> None:
    """Raise `IsolationError` if the state differs from `before` (taken before the command)."""
    if snapshot(tx) != before:
        msg = f"{name} raised {type(err).__name__} ({err}) after it had changed state"
        raise IsolationError(msg) from err
