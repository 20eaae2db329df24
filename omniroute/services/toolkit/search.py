"""Full-text search over interactions, cases and customers (SQLite FTS5, PostgreSQL tsvector)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.store import tables as t

WORD = re.compile(r"[^\W_]+")
MAX_TERMS = 8


@dataclass(frozen=True, slots=True)
class Filters:
    """What narrows the documents found."""

    channel_id: str | None = None
    state: str | None = None
    queue_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def terms(query: str) -> list[str]:
    """The words of a query (letters and digits), lower case; each matches as a prefix."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", query) if not unicodedata.combining(c))
    words = [w.lower() for w in WORD.findall(plain)]
    if len(words) > MAX_TERMS:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR, f"search for at most {MAX_TERMS} words at once", "q"
        )
    return words


def matching(dialect: str, kind: str, word: str) -> Any:
    """The ids of one kind with text holding a word (as a prefix), through the full-text index."""
    if dialect == "postgresql":
        e = t.SearchEntryRow
        hit = text(
            "to_tsvector('simple'::regconfig, search_entries.body) "
            "@@ to_tsquery('simple'::regconfig, :fts)"
        ).bindparams(bindparam("fts", f"{word}:*", unique=True))
        return select(e.ref_id).where(e.kind == kind, hit)
    # CROSS JOIN keeps the FTS5 match outermost: SQLite must not re-run it for every entry.
    return (
        text(
            "SELECT e.ref_id FROM search_fts "
            "CROSS JOIN search_entries AS e ON e.id = search_fts.rowid "
            "WHERE search_fts MATCH :fts AND e.kind = :kind"
        )
        .bindparams(
            bindparam("fts", f'"{word}"*', unique=True), bindparam("kind", kind, unique=True)
        )
        .columns(ref_id=String)
    )


def _document_query(
    model: type[t.InteractionRow] | type[t.CaseRow],
    kind: str,
    dialect: str,
    words: list[str],
    filters: Filters,
) -> Select[Any]:
    stmt = select(model)
    for word in words:
        stmt = stmt.where(model.id.in_(matching(dialect, kind, word)))
    if filters.channel_id is not None:
        stmt = stmt.where(model.channel_id == filters.channel_id)
    if filters.state is not None:
        stmt = stmt.where(model.state == filters.state)
    if filters.queue_id is not None:
        wi = t.WorkItemRow
        stmt = stmt.where(
            exists().where(wi.document_id == model.id, wi.queue_id == filters.queue_id)
        )
    if filters.created_from is not None:
        stmt = stmt.where(model.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(model.created_at < filters.created_to)
    return stmt.order_by(model.created_at.desc(), model.id)


async def documents(
    session: AsyncSession,
    kind: str,
    words: list[str],
    filters: Filters,
    limit: int,
    *,
    visible: ColumnElement[bool] | None = None,
) -> list[Any]:
    """Interactions or cases whose text holds every word, newest first."""
    model: type[t.InteractionRow] | type[t.CaseRow] = (
        t.InteractionRow if kind == "interaction" else t.CaseRow
    )
    dialect = session.get_bind().dialect.name
    stmt = _document_query(model, kind, dialect, words, filters)
    if visible is not None:
        stmt = stmt.where(visible)
    return list(await session.scalars(stmt.limit(limit)))


async def customers(session: AsyncSession, words: list[str], limit: int) -> list[t.CustomerRow]:
    """Customers whose name, addresses or phone hold every word, by name."""
    dialect = session.get_bind().dialect.name
    c = t.CustomerRow
    stmt = select(c)
    for word in words:
        stmt = stmt.where(c.id.in_(matching(dialect, "customer", word)))
    return list(await session.scalars(stmt.order_by(c.name, c.id).limit(limit)))
