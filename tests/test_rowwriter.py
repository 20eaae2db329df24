"""The engine's row writer stores values exactly as the ORM reads them, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from omniroute.engine.rowwriter import RowWriter
from omniroute.store import tables as t
from omniroute.store.db import Database
from tests.seed import NOW, seed_catalog


async def test_insert_and_update_round_trip(db: Database) -> None:
    await seed_catalog(db)
    paris = timezone(timedelta(hours=1))
    async with db.session() as s, s.begin():
        writer = RowWriter(db.dialect)
        await writer.insert(
            s,
            t.InteractionRow,
            [
                {
                    "id": "i1",
                    "channel_id": "chat",
                    "state": "new",
                    "created_at": NOW,
                    "updated_at": NOW,
                },
                {
                    "id": "i2",
                    "channel_id": "chat",
                    "state": "new",
                    "subject": "two shapes",
                    "created_at": NOW,
                    "updated_at": datetime(2026, 1, 1, 1, 0, 0, 5, paris),
                },
            ],
        )
        await writer.insert(
            s,
            t.RuleRow,
            [{"id": "r", "name": "r", "strategy": "longest_idle", "offer_timeout_s": None}],
        )
        await writer.update(
            s, t.InteractionRow, [{"id": "i1", "state": "on_hold", "ended_at": NOW}]
        )
    async with db.session() as s:
        one = await s.get(t.InteractionRow, "i1")
        two = await s.get(t.InteractionRow, "i2")
        rule = await s.get(t.RuleRow, "r")
    assert one is not None
    assert two is not None
    assert rule is not None
    assert one.state == "on_hold"
    assert one.customer_name == ""
    assert one.ended_at == NOW
    assert one.ended_at.tzinfo is not None
    assert two.subject == "two shapes"
    assert two.updated_at == datetime(2026, 1, 1, 0, 0, 0, 5, UTC)
    assert rule.allowed_to_decline is True
    assert rule.auto_accept is False


async def test_naive_datetimes_are_refused(db: Database) -> None:
    await seed_catalog(db)
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises((ValueError, StatementError), match="naive"):
        async with db.session() as s, s.begin():
            await RowWriter(db.dialect).insert(
                s,
                t.InteractionRow,
                [
                    {
                        "id": "x",
                        "channel_id": "chat",
                        "state": "new",
                        "created_at": naive,
                        "updated_at": naive,
                    }
                ],
            )
