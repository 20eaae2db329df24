"""Interval rows summed in the database: one row per group, with the presence seconds merged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, and_, cast, func, literal, select, true

from omniroute.services.reports.figures import COUNTS, SUMS
from omniroute.store import tables as t

FIGURES = (*COUNTS, *SUMS, "longest_wait_s", "presence_s")


def summed(
    dialect: str, where: list[ColumnElement[bool]], group: list[str], **fixed: Any
) -> Select[Any]:
    """`interval_stats` rows matching `where` summed per the `group` columns.

    Counts and seconds are added, `longest_wait_s` is the largest, and `presence_s` adds the
    seconds of each state over the rows' JSON objects (`{}` when none). Constant columns named
    in `fixed` come first, so the result can feed an `INSERT ... SELECT` into the same table.
    """
    s = t.IntervalStatRow
    keys = [getattr(s, name) for name in group]
    if dialect == "postgresql":
        each = func.jsonb_each_text(s.presence_s).table_valued("key", "value").alias("p")
        seconds: Any = cast(each.c.value, Float)
        merge: Any = func.jsonb_object_agg
    else:
        each = func.json_each(s.presence_s).table_valued("key", "value").alias("p")
        seconds = each.c.value
        merge = func.json_group_object
    per_state = (
        select(*keys, each.c.key.label("state"), func.sum(seconds).label("seconds"))
        .select_from(s)
        .join(each, true())
        .where(*where)
        .group_by(*keys, each.c.key)
        .subquery("per_state")
    )
    presence = (
        select(
            *(per_state.c[name] for name in group),
            merge(per_state.c.state, per_state.c.seconds, type_=s.presence_s.type).label(
                "presence_s"
            ),
        )
        .group_by(*(per_state.c[name] for name in group))
        .subquery("presence")
    )
    figures = (
        select(
            *keys,
            *(func.sum(getattr(s, name)).label(name) for name in (*COUNTS, *SUMS)),
            func.max(s.longest_wait_s).label("longest_wait_s"),
        )
        .where(*where)
        .group_by(*keys)
        .subquery("figures")
    )
    return select(
        *(_constant(value).label(name) for name, value in fixed.items()),
        *(figures.c[name] for name in group),
        *(figures.c[name] for name in (*COUNTS, *SUMS, "longest_wait_s")),
        func.coalesce(presence.c.presence_s, literal({}, s.presence_s.type)).label("presence_s"),
    ).outerjoin(presence, and_(*(figures.c[n] == presence.c[n] for n in group)))


def _constant(value: Any) -> Any:
    if isinstance(value, datetime):
        return literal(value, t.UTCDateTime())
    return literal(value)
