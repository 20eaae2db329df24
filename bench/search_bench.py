"""Search benchmark: rows indexed per second by the triggers, and the time of one search."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.data import create_schema
from omniroute.services.toolkit import search
from omniroute.store import tables as t
from omniroute.store.db import Database

INTERACTIONS = 20_000
MESSAGES_EACH = 5
WORDS = [
    *("order", "parcel", "refund", "boots", "jacket", "size", "colour", "delivery"),
    *("invoice", "address", "return", "label"),
]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _rows(rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    interactions, messages = [], []
    for n in range(INTERACTIONS):
        at = NOW - timedelta(minutes=n)
        interactions.append(
            {
                "id": f"i{n:07d}",
                "channel_id": "chat",
                "state": "closed_complete",
                "customer_name": f"Customer {n}",
                "customer_email": f"c{n}@example.com",
                "subject": " ".join(rng.choices(WORDS, k=4)),
                "created_at": at,
                "updated_at": at,
            }
        )
        for m in range(MESSAGES_EACH):
            body = " ".join(rng.choices(WORDS, k=12))
            if n == INTERACTIONS // 2 and m == 2:
                body += " zanzibar"
            messages.append(
                {
                    "id": n * MESSAGES_EACH + m + 1,
                    "interaction_id": f"i{n:07d}",
                    "sender": "customer",
                    "author_name": "",
                    "body": body,
                    "created_at": at,
                }
            )
    return interactions, messages


async def run(workdir: Path) -> dict[str, float]:
    """Index 20k interactions and 100k messages, then time a search for a rare and a common word."""
    db = Database(f"sqlite+aiosqlite:///{workdir / 'search.db'}")
    try:
        await create_schema(db)
        interactions, messages = _rows(random.Random(11))
        async with db.session() as s, s.begin():
            s.add(t.ChannelRow(id="chat", name="Chat", default_capacity=1))
        started = time.perf_counter()
        async with db.session() as s, s.begin():
            await s.execute(insert(t.InteractionRow), interactions)
            await s.execute(insert(t.ChatMessageRow), messages)
        indexed_s = time.perf_counter() - started
        timings: dict[str, list[float]] = {"rare": [], "common": []}
        async with db.session() as s:
            for _ in range(20):
                for label, words in (("rare", ["zanzibar"]), ("common", ["refund", "boots"])):
                    began = time.perf_counter()
                    found = await search.documents(s, "interaction", words, search.Filters(), 50)
                    timings[label].append(time.perf_counter() - began)
                    assert found, label
        rows = len(interactions) + len(messages)
        return {
            "search_indexed_rows_per_s": round(rows / indexed_s, 1),
            "search_rare_ms_p50": round(statistics.median(timings["rare"]) * 1000, 2),
            "search_common_ms_p50": round(statistics.median(timings["common"]) * 1000, 2),
        }
    finally:
        await db.dispose()
