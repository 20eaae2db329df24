"""Catalog import: compare a provider's skills, queues and wrap-up codes with ours, import them."""

# Rows imported from a spoke keep the spoke's name, the provider's id and a snapshot of what
# the provider said (`provider_data`: {"name": ..., "attributes": {...}}). A later diff
# compares the provider's current entry with that snapshot, so an administrator's own edits to
# an imported row never show up as provider changes, and importing twice changes nothing.
#
# Attributes the import understands (anything else is kept in the snapshot only):
# - skills: `description` (text);
# - queues: `channels` (our channel ids; unknown ones are left out), `skills` or
#   `required_skills` (provider skill ids, or objects {"id", "min_level", "mandatory"}),
#   mapped to skills imported from the same spoke;
# - wrap-up codes: `description` (text), `time_limit_s` (whole seconds, at least 1).
#
# Agents are only compared with the linked identities: an agent is linked when it signs in
# through the provider's panel (identity linking), not by an import.

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import null, select
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.model import RoutingMode
from omniroute.spokes.base import (
    AnySpoke,
    Capability,
    CatalogEntry,
    CatalogKind,
    SpokeAuthError,
    SpokeError,
    SpokeUnavailableError,
)
from omniroute.spokes.store import SpokeStore
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.spoke_data import DatabaseSpokeStore

ORDER = (CatalogKind.SKILLS, CatalogKind.QUEUES, CatalogKind.WRAP_UP_CODES, CatalogKind.AGENTS)
DEFAULT_KINDS = (CatalogKind.SKILLS, CatalogKind.QUEUES, CatalogKind.WRAP_UP_CODES)
CAPABILITY = {
    CatalogKind.SKILLS: Capability.CATALOG_SKILLS,
    CatalogKind.QUEUES: Capability.CATALOG_QUEUES,
    CatalogKind.WRAP_UP_CODES: Capability.CATALOG_WRAP_UP_CODES,
    CatalogKind.AGENTS: Capability.CATALOG_AGENTS,
}
LABEL = {
    CatalogKind.SKILLS: "skill",
    CatalogKind.QUEUES: "queue",
    CatalogKind.WRAP_UP_CODES: "wrap-up code",
    CatalogKind.AGENTS: "agent",
}
SKILL_KEYS = ("skills", "required_skills")
MAX_NAME = 200
MAX_PROVIDER_ID = 200
MAX_SECONDS = 2**31 - 1
AGENTS_NOTE = (
    "agents are only compared with linked identities, not imported: linking an agent is "
    "identity linking, done when it signs in through the provider's panel"
)


class Status(StrEnum):
    """How a provider's entry compares with what was imported before."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One provider entry and its status; `changed_fields` names what the provider changed."""

    provider_id: str
    name: str
    status: Status
    our_id: str | None = None
    changed_fields: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CatalogDiff:
    """A provider's catalog of one kind compared with what was imported from its spoke."""

    spoke: str
    kind: CatalogKind
    entries: list[DiffEntry] = field(default_factory=list)
    supported: bool = True
    notes: list[str] = field(default_factory=list)

    def having(self, status: Status) -> list[DiffEntry]:
        """The entries with one status, in the provider's order."""
        return [e for e in self.entries if e.status is status]

    def counts(self) -> dict[str, int]:
        """How many entries have each status."""
        return {s.value: len(self.having(s)) for s in Status}


@dataclass(frozen=True, slots=True)
class Imported:
    """One entry created or updated by an import (or that a dry run would)."""

    provider_id: str
    name: str
    our_id: str
    action: str
    fields: tuple[str, ...] = ()


@dataclass(slots=True)
class ImportResult:
    """The diff of one kind and what was imported from it."""

    diff: CatalogDiff
    dry_run: bool
    imported: list[Imported] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CatalogImport:
    """The results of an import over several kinds, in import order."""

    spoke: str
    dry_run: bool
    results: list[ImportResult] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        """Whether rows were written."""
        return not self.dry_run and any(r.imported for r in self.results)


@dataclass(frozen=True, slots=True)
class QueueDefaults:
    """Settings for new queues the provider does not give: channels and the rule."""

    channels: tuple[str, ...] = ("chat",)
    rule_id: str | None = None


# -- fetching -------------------------------------------------------------------------


def spoke_error(err: SpokeError) -> DomainError:
    """A spoke's error as a domain error with a stable code."""
    if isinstance(err, SpokeUnavailableError):
        code = ErrorCode.SPOKE_UNAVAILABLE
    elif isinstance(err, SpokeAuthError):
        code = ErrorCode.SPOKE_AUTH_FAILED
    else:
        code = ErrorCode.SPOKE_REJECTED
    return DomainError(code, str(err) or type(err).__name__)


def supports(spoke: AnySpoke, kind: CatalogKind) -> bool:
    """Whether the spoke's manifest lists this catalog kind."""
    return CAPABILITY[kind] in spoke.manifest.supports


async def fetch(spoke: AnySpoke, kind: CatalogKind) -> list[CatalogEntry] | None:
    """The provider's entries of one kind, or None when the spoke has no such catalog."""
    if not supports(spoke, kind):
        return None
    try:
        return await spoke.list_catalog(kind)
    except SpokeError as err:
        raise spoke_error(err) from err


def unsupported(spoke: AnySpoke, spoke_name: str, kind: CatalogKind) -> CatalogDiff:
    """The empty diff of a kind the spoke does not offer."""
    note = f"spoke kind '{spoke.manifest.name}' has no {kind.value} catalog; nothing to compare"
    return CatalogDiff(spoke_name, kind, supported=False, notes=[note])


# -- diff -----------------------------------------------------------------------------


def _plain(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as they come back from a JSON column."""
    plain: dict[str, Any] = json.loads(json.dumps(dict(attributes), default=str))
    return plain


def snapshot(entry: CatalogEntry) -> dict[str, Any]:
    """What is stored of a provider's entry, to compare with later."""
    return {"name": entry.name, "attributes": _plain(entry.attributes)}


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    fields = ["name"] if old.get("name") != new["name"] else []
    before: Mapping[str, Any] = old.get("attributes") or {}
    after: Mapping[str, Any] = new["attributes"]
    for key in sorted(set(before) | set(after)):
        if key not in before or key not in after or before[key] != after[key]:
            fields.append(f"attributes.{key}")
    return tuple(fields)


@dataclass(frozen=True, slots=True)
class _Known:
    our_id: str
    name: str
    snapshot: Mapping[str, Any] | None


async def _known(session: AsyncSession, spoke_name: str, kind: CatalogKind) -> dict[str, _Known]:
    """Rows imported from (or linked to) this spoke, by provider id; the first id wins."""
    query: Any
    if kind is CatalogKind.SKILLS:
        s = t.SkillRow
        query = select(s.provider_id, s.id, s.name, s.provider_data).where(s.spoke == spoke_name)
        query = query.where(s.provider_id.is_not(None)).order_by(s.id)
    elif kind is CatalogKind.QUEUES:
        q = t.QueueRow
        query = select(q.provider_queue_id, q.id, q.name, q.provider_data)
        query = query.where(q.spoke == spoke_name, q.provider_queue_id.is_not(None))
        query = query.order_by(q.id)
    elif kind is CatalogKind.WRAP_UP_CODES:
        w = t.WrapUpCodeRow
        query = select(w.provider_id, w.id, w.name, w.provider_data).where(w.spoke == spoke_name)
        query = query.where(w.provider_id.is_not(None)).order_by(w.id)
    else:
        i, a = t.AgentIdentityRow, t.AgentRow
        query = (
            select(i.provider_agent_id, a.id, a.name, null())
            .join(a, a.id == i.agent_id)
            .where(i.spoke == spoke_name)
            .order_by(i.provider_agent_id)
        )
    known: dict[str, _Known] = {}
    for provider_id, our_id, name, data in await session.execute(query):
        known.setdefault(provider_id, _Known(our_id, name, data))
    return known


async def diff(
    session: AsyncSession, spoke_name: str, kind: CatalogKind, entries: Sequence[CatalogEntry]
) -> CatalogDiff:
    """Classify the provider's entries as new, changed or unchanged, and ours as gone."""
    known = await _known(session, spoke_name, kind)
    result = CatalogDiff(spoke_name, kind)
    seen: set[str] = set()
    for entry in entries:
        if entry.provider_id in seen:
            result.notes.append(f"provider id '{entry.provider_id}' is listed twice; first kept")
            continue
        seen.add(entry.provider_id)
        attrs = _plain(entry.attributes)
        ours = known.get(entry.provider_id)
        if ours is None:
            result.entries.append(
                DiffEntry(entry.provider_id, entry.name, Status.NEW, None, (), attrs)
            )
            continue
        if kind is CatalogKind.AGENTS:
            changes: tuple[str, ...] = ()
        else:
            # A row linked by hand has no snapshot: compare with its own name, no attributes.
            before = ours.snapshot or {"name": ours.name, "attributes": {}}
            changes = _differences(before, snapshot(entry))
        status = Status.CHANGED if changes else Status.UNCHANGED
        result.entries.append(
            DiffEntry(entry.provider_id, entry.name, status, ours.our_id, changes, attrs)
        )
    for provider_id, ours in known.items():
        if provider_id not in seen:
            name = str((ours.snapshot or {}).get("name") or ours.name)
            result.entries.append(DiffEntry(provider_id, name, Status.GONE, ours.our_id))
    if kind is CatalogKind.AGENTS:
        result.notes.append(AGENTS_NOTE)
    return result


# -- apply ----------------------------------------------------------------------------


def _slug(name: str, fallback: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:48].rstrip("-")
    return base or fallback


async def _free_id(
    session: AsyncSession, row: type[t.Base], name: str, fallback: str, taken: set[str]
) -> str:
    """The name's slug, or the slug with the lowest free number; the same for a dry run."""
    base = _slug(name, fallback)
    candidate, n = base, 1
    while candidate in taken or await session.get(row, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    taken.add(candidate)
    return candidate


def _name(entry: DiffEntry) -> str:
    return entry.name.strip()[:MAX_NAME] or entry.provider_id[:MAX_NAME]


def _text(attributes: Mapping[str, Any], key: str) -> str:
    value = attributes.get(key)
    return value if isinstance(value, str) else ""


def _time_limit(entry: DiffEntry, notes: list[str]) -> int | None:
    value = entry.attributes.get("time_limit_s")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SECONDS:
        return value
    notes.append(f"wrap-up code '{entry.provider_id}': time_limit_s {value!r} ignored")
    return None


@dataclass(slots=True)
class _Context:
    """What the writers of one kind need besides the entry."""

    session: AsyncSession
    spoke: str
    dry_run: bool
    notes: list[str]
    taken: set[str] = field(default_factory=set)
    skill_map: dict[str, str] = field(default_factory=dict)
    channels: set[str] = field(default_factory=set)
    defaults: QueueDefaults = field(default_factory=QueueDefaults)
    rule_id: str | None = None


def _channels(ctx: _Context, entry: DiffEntry) -> list[str] | None:
    """Our channels named by the provider, or None when it names none we know."""
    raw = entry.attributes.get("channels")
    if not isinstance(raw, list):
        return None
    wanted = [str(c).lower() for c in raw]
    known = list(dict.fromkeys(c for c in wanted if c in ctx.channels))
    unknown = [c for c in wanted if c not in ctx.channels]
    if unknown:
        ctx.notes.append(
            f"queue '{entry.provider_id}': unknown channels {', '.join(unknown)} left out"
        )
    return known or None


def _provider_skills(entry: DiffEntry) -> list[dict[str, Any]]:
    for key in SKILL_KEYS:
        raw = entry.attributes.get(key)
        if isinstance(raw, list):
            found: list[dict[str, Any]] = []
            for item in raw:
                if isinstance(item, Mapping):
                    pid = item.get("id", item.get("provider_id", item.get("skill_id")))
                    found.append(dict(item) | {"id": str(pid)})
                else:
                    found.append({"id": str(item)})
            return found
    return []


def _requirements(ctx: _Context, entry: DiffEntry) -> list[dict[str, Any]]:
    """The provider's required skills as ours, left out when not imported."""
    reqs: list[dict[str, Any]] = []
    for item in _provider_skills(entry):
        skill_id = ctx.skill_map.get(item["id"])
        if skill_id is None:
            ctx.notes.append(
                f"queue '{entry.provider_id}': skill '{item['id']}' is not imported; left out"
            )
            continue
        if any(r["skill_id"] == skill_id for r in reqs):
            continue
        level = item.get("min_level", item.get("level", 1))
        level = level if isinstance(level, int) and 1 <= level <= 10 else 1
        mandatory = item.get("mandatory", True)
        reqs.append(
            {
                "skill_id": skill_id,
                "min_level": level,
                "mandatory": mandatory if isinstance(mandatory, bool) else True,
                "widen_after_s": None,
            }
        )
    return reqs


async def _skill(ctx: _Context, entry: DiffEntry, data: dict[str, Any]) -> Imported:
    if entry.status is Status.NEW:
        our_id = await _free_id(ctx.session, t.SkillRow, entry.name, "skill", ctx.taken)
        if not ctx.dry_run:
            ctx.session.add(
                t.SkillRow(
                    id=our_id,
                    name=_name(entry),
                    description=_text(entry.attributes, "description"),
                    spoke=ctx.spoke,
                    provider_id=entry.provider_id,
                    provider_data=data,
                )
            )
        return Imported(entry.provider_id, _name(entry), our_id, "created")
    assert entry.our_id is not None
    row = await ctx.session.get(t.SkillRow, entry.our_id)
    assert row is not None
    fields = []
    if "name" in entry.changed_fields:
        fields.append("name")
    if "attributes.description" in entry.changed_fields:
        fields.append("description")
    if not ctx.dry_run:
        if "name" in fields:
            row.name = _name(entry)
        if "description" in fields:
            row.description = _text(entry.attributes, "description")
        row.provider_data = data
    return Imported(entry.provider_id, _name(entry), row.id, "updated", tuple(fields))


async def _queue(ctx: _Context, entry: DiffEntry, data: dict[str, Any]) -> Imported:
    if entry.status is not Status.NEW:
        return await _update_queue(ctx, entry, data)
    assert ctx.rule_id is not None
    our_id = await _free_id(ctx.session, t.QueueRow, entry.name, "queue", ctx.taken)
    channels = _channels(ctx, entry) or list(ctx.defaults.channels)
    skills = _requirements(ctx, entry)
    if not ctx.dry_run:
        ctx.session.add(
            t.QueueRow(
                id=our_id,
                name=_name(entry),
                channels=channels,
                routing_mode=RoutingMode.EXTERNAL.value,
                rule_id=ctx.rule_id,
                skills=skills,
                spoke=ctx.spoke,
                provider_queue_id=entry.provider_id,
                provider_data=data,
            )
        )
    return Imported(entry.provider_id, _name(entry), our_id, "created")


async def _update_queue(ctx: _Context, entry: DiffEntry, data: dict[str, Any]) -> Imported:
    """Apply the provider's changes; the rule, priority and other admin fields stay."""
    assert entry.our_id is not None
    row = await ctx.session.get(t.QueueRow, entry.our_id)
    assert row is not None
    changed = set(entry.changed_fields)
    fields: list[str] = []
    name: str | None = None
    channels: list[str] | None = None
    skills: list[Any] | None = None
    if "name" in changed:
        fields.append("name")
        name = _name(entry)
    if "attributes.channels" in changed:
        channels = _channels(ctx, entry)
        if channels is not None:
            fields.append("channels")
    if changed & {f"attributes.{k}" for k in SKILL_KEYS}:
        # Replace only what came from this spoke; requirements an admin added stay.
        ours = set(ctx.skill_map.values())
        kept = [r for r in row.skills if r.get("skill_id") not in ours]
        skills = kept + [r for r in _requirements(ctx, entry) if r not in kept]
        fields.append("skills")
    if not ctx.dry_run:
        if name is not None:
            row.name = name
        if channels is not None:
            row.channels = channels
        if skills is not None:
            row.skills = skills
        row.provider_data = data
    return Imported(entry.provider_id, _name(entry), row.id, "updated", tuple(fields))


async def _wrap_up_code(ctx: _Context, entry: DiffEntry, data: dict[str, Any]) -> Imported:
    if entry.status is Status.NEW:
        our_id = await _free_id(ctx.session, t.WrapUpCodeRow, entry.name, "wrap-up", ctx.taken)
        limit = _time_limit(entry, ctx.notes)
        if not ctx.dry_run:
            ctx.session.add(
                t.WrapUpCodeRow(
                    id=our_id,
                    name=_name(entry),
                    description=_text(entry.attributes, "description"),
                    time_limit_s=limit,
                    spoke=ctx.spoke,
                    provider_id=entry.provider_id,
                    provider_data=data,
                )
            )
        return Imported(entry.provider_id, _name(entry), our_id, "created")
    assert entry.our_id is not None
    row = await ctx.session.get(t.WrapUpCodeRow, entry.our_id)
    assert row is not None
    fields = [
        column
        for column, source in (
            ("name", "name"),
            ("description", "attributes.description"),
            ("time_limit_s", "attributes.time_limit_s"),
        )
        if source in entry.changed_fields
    ]
    limit = _time_limit(entry, ctx.notes) if "time_limit_s" in fields else None
    if not ctx.dry_run:
        if "name" in fields:
            row.name = _name(entry)
        if "description" in fields:
            row.description = _text(entry.attributes, "description")
        if "time_limit_s" in fields:
            row.time_limit_s = limit
        row.provider_data = data
    return Imported(entry.provider_id, _name(entry), row.id, "updated", tuple(fields))


async def imported_skills(session: AsyncSession, spoke_name: str) -> dict[str, str]:
    """Our skill id for each provider skill id imported from this spoke."""
    return {
        pid: k.our_id for pid, k in (await _known(session, spoke_name, CatalogKind.SKILLS)).items()
    }


async def _queue_context(ctx: _Context) -> None:
    """Check the default channels and pick the rule for new queues."""
    ctx.channels = set((await ctx.session.scalars(select(t.ChannelRow.id))).all())
    for i, channel in enumerate(ctx.defaults.channels):
        if channel not in ctx.channels:
            raise NotFoundError("channel", channel, f"queue_defaults.channels.{i}")
    if not ctx.defaults.channels:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "new queues need at least one default channel",
            "queue_defaults.channels",
        )
    rule_id = ctx.defaults.rule_id
    if rule_id is not None:
        if await ctx.session.get(t.RuleRow, rule_id) is None:
            raise NotFoundError("rule", rule_id, "queue_defaults.rule_id")
        ctx.rule_id = rule_id
        return
    ctx.rule_id = await ctx.session.scalar(select(t.RuleRow.id).order_by(t.RuleRow.id).limit(1))
    if ctx.rule_id is None:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            "new queues need an assignment rule and none exists; create one first",
            "queue_defaults.rule_id",
        )


async def apply(
    session: AsyncSession,
    spoke_name: str,
    kind: CatalogKind,
    diff: CatalogDiff,
    *,
    only: set[str] | None,
    dry_run: bool,
    queue_defaults: QueueDefaults | None = None,
    planned_skills: Mapping[str, str] | None = None,
) -> ImportResult:
    """Create the chosen new entries and update the chosen changed ones; the caller commits."""
    # `only` limits the import to these provider ids (None: every new and changed entry); an
    # id the provider does not list is refused. Gone entries are reported, never deleted. A
    # dry run writes nothing and reports what would be done. `planned_skills` maps provider
    # skill ids to ours for skills imported earlier in the same (possibly dry) run.
    result = ImportResult(diff, dry_run, notes=list(diff.notes))
    listed = {e.provider_id for e in diff.entries if e.status is not Status.GONE}
    if only is not None:
        unknown = sorted(only - listed)
        if unknown:
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                f"the provider lists no {kind.value} with id {', '.join(unknown)}",
                f"only.{kind.value}",
            )
    if kind is CatalogKind.AGENTS:
        return result
    chosen = [
        e
        for e in diff.entries
        if e.status in (Status.NEW, Status.CHANGED) and (only is None or e.provider_id in only)
    ]
    if only is not None:
        idle = sorted(
            e.provider_id for e in diff.entries if e.provider_id in only and e not in chosen
        )
        if idle:
            result.notes.append(f"nothing to import for {', '.join(idle)}: unchanged")
    ctx = _Context(
        session, spoke_name, dry_run, result.notes, defaults=queue_defaults or QueueDefaults()
    )
    if kind is CatalogKind.QUEUES and chosen:
        ctx.skill_map = await imported_skills(session, spoke_name) | dict(planned_skills or {})
        if any(e.status is Status.NEW for e in chosen):
            await _queue_context(ctx)
        else:
            ctx.channels = set((await session.scalars(select(t.ChannelRow.id))).all())
    writer = {
        CatalogKind.SKILLS: _skill,
        CatalogKind.QUEUES: _queue,
        CatalogKind.WRAP_UP_CODES: _wrap_up_code,
    }[kind]
    for entry in chosen:
        if len(entry.provider_id) > MAX_PROVIDER_ID:
            result.notes.append(f"provider id '{entry.provider_id[:40]}...' is too long; skipped")
            continue
        data = {"name": entry.name, "attributes": dict(entry.attributes)}
        result.imported.append(await writer(ctx, entry, data))
    if not dry_run:
        await session.flush()
    return result


# -- the whole use case ---------------------------------------------------------------


def ordered(kinds: Iterable[CatalogKind]) -> list[CatalogKind]:
    """Kinds without repeats in import order: skills first, so queues can refer to them."""
    wanted = set(kinds)
    return [k for k in ORDER if k in wanted]


async def review(
    session: AsyncSession, spoke: AnySpoke, spoke_name: str, kind: CatalogKind
) -> CatalogDiff:
    """Fetch one kind from the provider and compare it with what was imported."""
    entries = await fetch(spoke, kind)
    if entries is None:
        return unsupported(spoke, spoke_name, kind)
    return await diff(session, spoke_name, kind, entries)


def _split(
    ids: set[str], fetched: Mapping[CatalogKind, list[CatalogEntry] | None]
) -> dict[CatalogKind, set[str]]:
    """Provider ids per kind that lists them; an id no kind lists is refused."""
    split = {
        kind: ids & {e.provider_id for e in entries or []} for kind, entries in fetched.items()
    }
    unknown = sorted(ids - set().union(*split.values()))
    if unknown:
        kinds = ", ".join(k.value for k in fetched)
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"the provider lists no {kinds} with id {', '.join(unknown)}",
            "only",
        )
    return split


async def import_catalog(
    session: AsyncSession,
    spoke: AnySpoke,
    spoke_name: str,
    kinds: Iterable[CatalogKind],
    *,
    only: Mapping[CatalogKind, set[str]] | set[str] | None,
    dry_run: bool,
    queue_defaults: QueueDefaults | None = None,
) -> CatalogImport:
    """Fetch, compare and import several kinds in one transaction, committed unless dry."""
    # With `only` per kind, a kind it does not name imports nothing; a plain set of provider
    # ids applies to every kind that lists them. The provider is asked before the first
    # query, so no transaction stays open while it answers.
    chosen = ordered(kinds)
    fetched = {kind: await fetch(spoke, kind) for kind in chosen}
    if isinstance(only, set):
        only = _split(only, fetched)
    outcome = CatalogImport(spoke_name, dry_run)
    planned: dict[str, str] = {}
    for kind in chosen:
        entries = fetched[kind]
        if entries is None:
            outcome.results.append(ImportResult(unsupported(spoke, spoke_name, kind), dry_run))
            continue
        kind_diff = await diff(session, spoke_name, kind, entries)
        subset = None if only is None else set(only.get(kind, set()))
        result = await apply(
            session,
            spoke_name,
            kind,
            kind_diff,
            only=subset,
            dry_run=dry_run,
            queue_defaults=queue_defaults,
            planned_skills=planned,
        )
        if kind is CatalogKind.SKILLS:
            planned.update({i.provider_id: i.our_id for i in result.imported})
        outcome.results.append(result)
    if outcome.changed_anything:
        await session.commit()
    else:
        await session.rollback()
    return outcome


async def spoke_from_row(
    session: AsyncSession, name: str, store: SpokeStore | None = None
) -> AnySpoke:
    """A spoke instance built from its configured row (not set up); for the command line."""
    from omniroute.spokes import registry

    row = await session.get(t.SpokeRow, name)
    if row is None:
        raise NotFoundError("spoke", name, "spoke")
    if not row.enabled:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"spoke '{name}' is disabled", "spoke")
    try:
        cls = registry.spoke_class(row.kind)
    except KeyError as err:
        raise DomainError(ErrorCode.VALIDATION_ERROR, str(err.args[0]), "spoke") from err
    try:
        settings = cls.manifest.settings_model.model_validate(row.settings)
    except ValidationError as err:
        message = f"spoke '{name}' has invalid settings: {err.errors()[0]['msg']}"
        raise DomainError(ErrorCode.VALIDATION_ERROR, message, "settings") from err
    return cls(row.name, settings, store)


async def import_from_spoke(
    db: Database,
    name: str,
    kinds: Iterable[CatalogKind],
    *,
    only: set[str] | None,
    dry_run: bool,
    queue_defaults: QueueDefaults | None = None,
) -> CatalogImport:
    """Set up a configured spoke outside the server, import from it, and unload it."""
    async with db.session() as session:
        spoke = await spoke_from_row(session, name, DatabaseSpokeStore(db, name))
    try:
        await spoke.setup()
    except SpokeError as err:
        raise spoke_error(err) from err
    try:
        async with db.session() as session:
            return await import_catalog(
                session,
                spoke,
                name,
                kinds,
                only=only,
                dry_run=dry_run,
                queue_defaults=queue_defaults,
            )
    finally:
        await spoke.unload()


# -- a plain-text report --------------------------------------------------------------


def report_lines(outcome: CatalogImport) -> list[str]:
    """The diff table and what was imported, for the command line."""
    lines: list[str] = []
    header = ("STATUS", "PROVIDER ID", "NAME", "OUR ID", "CHANGED")
    for result in outcome.results:
        d = result.diff
        counts = ", ".join(f"{n} {s}" for s, n in d.counts().items())
        lines.append(f"{d.kind.value}: {counts}" if d.supported else f"{d.kind.value}: -")
        rows = [
            (
                e.status.value,
                e.provider_id,
                e.name,
                e.our_id or "-",
                ", ".join(e.changed_fields) or "-",
            )
            for e in d.entries
        ]
        if rows:
            widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
            for r in [header, *rows]:
                lines.append(
                    "  "
                    + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                )
        verb = "would import" if outcome.dry_run else "imported"
        for item in result.imported:
            what = f" ({', '.join(item.fields)})" if item.fields else ""
            lines.append(f"  {verb}: {item.action} {item.our_id} <- {item.provider_id}{what}")
        lines.extend(f"  note: {n}" for n in result.notes)
    total = sum(len(r.imported) for r in outcome.results)
    if outcome.dry_run:
        lines.append(f"dry run: {total} would be imported; nothing was written")
    else:
        lines.append(f"{total} imported")
        if total:
            lines.append(
                "a running Omniroute picks these up after POST /api/v1/engine/reload (admin)"
            )
    return lines
