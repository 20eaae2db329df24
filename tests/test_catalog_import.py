"""Catalog import against the store: new, changed, unchanged and gone; idempotent; dry run."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel
from sqlalchemy import select
from typer.testing import CliRunner

from omniroute.cli import app
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.services import catalog
from omniroute.services.catalog import CatalogImport, QueueDefaults, Status
from omniroute.spokes import registry
from omniroute.spokes.base import (
    AnySpoke,
    Capability,
    CatalogEntry,
    CatalogKind,
    Manifest,
    RoutingEvent,
    Spoke,
    SpokeAuthError,
    SpokeError,
    SpokeRejectedError,
    SpokeUnavailableError,
)
from omniroute.spokes.store import SpokeStore
from omniroute.store import migrate
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.spoke_data import DatabaseSpokeStore
from tests.seed import NOW, add_agent, add_rule, seed_catalog

SPOKE = "acme"
ALL = frozenset(
    {
        Capability.CATALOG_SKILLS,
        Capability.CATALOG_QUEUES,
        Capability.CATALOG_WRAP_UP_CODES,
        Capability.CATALOG_AGENTS,
    }
)
KINDS = (CatalogKind.SKILLS, CatalogKind.QUEUES, CatalogKind.WRAP_UP_CODES)

CATALOG: dict[str, list[dict[str, Any]]] = {
    "skills": [
        {"id": "sk-en", "name": "English (US)"},
        {"id": "sk-bill", "name": "Billing", "attributes": {"description": "Invoices"}},
        {"id": "sk-tech", "name": "Technical"},
    ],
    "queues": [
        {"id": "q-gen", "name": "General", "attributes": {"channels": ["chat", "voice"]}},
        {
            "id": "q-bill",
            "name": "Billing",
            "attributes": {"skills": ["sk-bill"], "channels": ["Email", "fax"]},
        },
        {
            "id": "q-tech",
            "name": "Technical",
            "attributes": {"skills": [{"id": "sk-tech", "min_level": 3}, "sk-nowhere"]},
        },
    ],
    "wrap_up_codes": [
        {"id": "w-res", "name": "Resolved"},
        {"id": "w-fu", "name": "Follow-up", "attributes": {"time_limit_s": 120}},
    ],
    "agents": [
        {"id": "P-alice", "name": "Alice", "attributes": {"email": "alice@example.test"}},
        {"id": "P-zoe", "name": "Zoe", "attributes": {"email": "zoe@example.test"}},
    ],
}


class FakeSettings(BaseModel):
    """No settings."""


class FakeSpoke(Spoke[FakeSettings]):
    """A provider whose catalog is a dict of plain entries, editable by the test."""

    manifest: ClassVar[Manifest] = Manifest(
        name="fake", version="1", title="Fake", supports=ALL, settings_model=FakeSettings
    )

    def __init__(self, data: dict[str, list[dict[str, Any]]] | None = None) -> None:
        super().__init__(SPOKE, FakeSettings())
        self.data = copy.deepcopy(CATALOG if data is None else data)
        self.error: SpokeError | None = None
        self.calls = 0

    async def health(self) -> None:
        """Always healthy."""

    async def deliver(self, event: RoutingEvent) -> None:
        """Accept every event."""

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """The entries of one kind from the dict."""
        self.calls += 1
        if self.error is not None:
            raise self.error
        return [
            CatalogEntry(d["id"], d["name"], d.get("attributes", {}))
            for d in self.data.get(kind.value, [])
        ]

    def entry(self, kind: str, provider_id: str) -> dict[str, Any]:
        """One entry of the dict, to change it."""
        return next(d for d in self.data[kind] if d["id"] == provider_id)


class NoWrapUpSpoke(FakeSpoke):
    """A provider without wrap-up codes (like Amazon Connect)."""

    manifest: ClassVar[Manifest] = Manifest(
        name="no-wrap-up",
        version="1",
        title="No wrap-up codes",
        supports=ALL - {Capability.CATALOG_WRAP_UP_CODES},
        settings_model=FakeSettings,
    )


@pytest.fixture
async def store(db: Database) -> Database:
    """The seeded catalog and one rule."""
    await seed_catalog(db)
    await add_rule(db)
    await add_rule(db, "zz-later")
    return db


async def run(
    db: Database,
    spoke: AnySpoke,
    *,
    kinds: Iterable[CatalogKind] = KINDS,
    only: dict[CatalogKind, set[str]] | set[str] | None = None,
    dry_run: bool = False,
    defaults: QueueDefaults | None = None,
) -> CatalogImport:
    """One import in its own session."""
    async with db.session() as session:
        return await catalog.import_catalog(
            session, spoke, SPOKE, kinds, only=only, dry_run=dry_run, queue_defaults=defaults
        )


async def by_provider(db: Database, row: type[Any], column: str = "provider_id") -> dict[str, Any]:
    """Rows imported from the spoke, by provider id."""
    async with db.session() as s:
        rows = (await s.scalars(select(row).where(row.spoke == SPOKE))).all()
    return {getattr(r, column): r for r in rows}


async def dump(db: Database) -> list[tuple[Any, ...]]:
    """Every skill, queue and wrap-up code, to compare before and after."""
    out: list[tuple[Any, ...]] = []
    async with db.session() as s:
        for row in (t.SkillRow, t.QueueRow, t.WrapUpCodeRow):
            for r in (await s.scalars(select(row).order_by(row.id))).all():
                values = {c.key: getattr(r, c.key) for c in row.__table__.columns}
                out.append((row.__tablename__, sorted(values.items(), key=lambda kv: kv[0])))
    return out


def result(outcome: CatalogImport, kind: CatalogKind) -> catalog.ImportResult:
    """The result of one kind."""
    return next(r for r in outcome.results if r.diff.kind is kind)


def statuses(outcome: CatalogImport, kind: CatalogKind) -> dict[str, Status]:
    """Provider id to status for one kind."""
    return {e.provider_id: e.status for e in result(outcome, kind).diff.entries}


async def test_first_import_creates_everything(store: Database) -> None:
    spoke = FakeSpoke()
    outcome = await run(store, spoke)
    assert outcome.changed_anything
    assert [r.diff.kind for r in outcome.results] == list(KINDS)
    for kind in KINDS:
        res = result(outcome, kind)
        assert set(statuses(outcome, kind).values()) == {Status.NEW}
        assert len(res.imported) == len(CATALOG[kind.value])
        assert all(i.action == "created" for i in res.imported)
    skills = await by_provider(store, t.SkillRow)
    assert skills["sk-en"].id == "english-us"
    assert skills["sk-en"].name == "English (US)"
    # The seed already has a skill 'billing': the import gets the next free id.
    assert skills["sk-bill"].id == "billing-2"
    assert skills["sk-bill"].description == "Invoices"
    assert skills["sk-bill"].provider_data == {
        "name": "Billing",
        "attributes": {"description": "Invoices"},
    }
    codes = await by_provider(store, t.WrapUpCodeRow)
    assert codes["w-res"].id == "resolved-2"
    assert codes["w-res"].time_limit_s is None
    assert codes["w-fu"].time_limit_s == 120


async def test_queues_are_external_with_provider_queue_and_mapped_skills(store: Database) -> None:
    outcome = await run(store, FakeSpoke())
    queues = await by_provider(store, t.QueueRow, "provider_queue_id")
    skills = await by_provider(store, t.SkillRow)
    general, billing, technical = queues["q-gen"], queues["q-bill"], queues["q-tech"]
    for queue in (general, billing, technical):
        assert queue.routing_mode == "external"
        assert queue.spoke == SPOKE
        assert queue.rule_id == "standard"  # the first rule by id
        assert queue.priority == 100
    assert general.id == "general"
    assert general.provider_queue_id == "q-gen"
    assert general.channels == ["chat", "voice"]
    assert general.skills == []
    # Channel names are matched case-insensitively; unknown ones are left out with a note.
    assert billing.channels == ["email"]
    assert billing.skills == [
        {
            "skill_id": skills["sk-bill"].id,
            "min_level": 1,
            "mandatory": True,
            "widen_after_s": None,
        }
    ]
    # No channels from the provider: the defaults.
    assert technical.channels == ["chat"]
    assert technical.skills == [
        {
            "skill_id": skills["sk-tech"].id,
            "min_level": 3,
            "mandatory": True,
            "widen_after_s": None,
        }
    ]
    notes = " | ".join(result(outcome, CatalogKind.QUEUES).notes)
    assert "unknown channels fax" in notes
    assert "skill 'sk-nowhere' is not imported" in notes


async def test_second_run_changes_nothing(store: Database) -> None:
    spoke = FakeSpoke()
    await run(store, spoke)
    before = await dump(store)
    outcome = await run(store, spoke)
    for kind in KINDS:
        assert set(statuses(outcome, kind).values()) == {Status.UNCHANGED}
        assert result(outcome, kind).imported == []
    assert not outcome.changed_anything
    assert await dump(store) == before


async def test_rename_and_drop_are_changed_and_gone(store: Database) -> None:
    spoke = FakeSpoke()
    await run(store, spoke)
    skills = await by_provider(store, t.SkillRow)
    spoke.entry("skills", "sk-bill")["name"] = "Billing & Payments"
    spoke.data["skills"] = [s for s in spoke.data["skills"] if s["id"] != "sk-tech"]
    async with store.session() as session:
        entries = await spoke.list_catalog(CatalogKind.SKILLS)
        diff = await catalog.diff(session, SPOKE, CatalogKind.SKILLS, entries)
    assert diff.counts() == {"new": 0, "changed": 1, "unchanged": 1, "gone": 1}
    (changed,) = diff.having(Status.CHANGED)
    assert changed.provider_id == "sk-bill"
    assert changed.our_id == skills["sk-bill"].id
    assert changed.changed_fields == ("name",)
    (gone,) = diff.having(Status.GONE)
    assert (gone.provider_id, gone.name, gone.our_id) == ("sk-tech", "Technical", "technical")

    outcome = await run(store, spoke, kinds=[CatalogKind.SKILLS])
    (imported,) = result(outcome, CatalogKind.SKILLS).imported
    assert (imported.action, imported.our_id, imported.fields) == (
        "updated",
        skills["sk-bill"].id,
        ("name",),
    )
    after = await by_provider(store, t.SkillRow)
    assert after["sk-bill"].name == "Billing & Payments"
    assert after["sk-bill"].id == skills["sk-bill"].id
    # Gone is reported, never deleted.
    assert "sk-tech" in after
    again = await run(store, spoke, kinds=[CatalogKind.SKILLS])
    assert statuses(again, CatalogKind.SKILLS) == {
        "sk-en": Status.UNCHANGED,
        "sk-bill": Status.UNCHANGED,
        "sk-tech": Status.GONE,
    }


async def test_changed_queue_keeps_what_the_admin_owns(store: Database) -> None:
    spoke = FakeSpoke()
    await run(store, spoke)
    async with store.session() as s, s.begin():
        queue = await s.scalar(select(t.QueueRow).where(t.QueueRow.provider_queue_id == "q-bill"))
        assert queue is not None
        queue.rule_id = "zz-later"
        queue.priority = 5
        queue.max_wait_s = 600
        queue.name = "Our billing"
        queue.skills = [*queue.skills, {"skill_id": "french", "min_level": 2, "mandatory": False}]
    # The admin's rename is not a provider change.
    outcome = await run(store, spoke, kinds=[CatalogKind.QUEUES], dry_run=True)
    assert statuses(outcome, CatalogKind.QUEUES)["q-bill"] is Status.UNCHANGED

    entry = spoke.entry("queues", "q-bill")
    entry["name"] = "Billing desk"
    entry["attributes"] = {"skills": ["sk-en"], "channels": ["Email", "fax"]}
    outcome = await run(store, spoke, kinds=[CatalogKind.QUEUES])
    res = result(outcome, CatalogKind.QUEUES)
    (changed,) = res.diff.having(Status.CHANGED)
    assert changed.changed_fields == ("name", "attributes.skills")
    assert res.imported[0].fields == ("name", "skills")
    skills = await by_provider(store, t.SkillRow)
    queue = (await by_provider(store, t.QueueRow, "provider_queue_id"))["q-bill"]
    assert queue.name == "Billing desk"
    assert (queue.rule_id, queue.priority, queue.max_wait_s) == ("zz-later", 5, 600)
    assert queue.channels == ["email"]
    # The admin's own requirement stays; the provider's is replaced.
    assert [r["skill_id"] for r in queue.skills] == ["french", skills["sk-en"].id]


async def test_dry_run_writes_nothing(store: Database) -> None:
    spoke = FakeSpoke()
    before = await dump(store)
    outcome = await run(store, spoke, dry_run=True)
    assert outcome.dry_run
    assert not outcome.changed_anything
    assert await dump(store) == before
    # It still says what would be imported, with the ids a real run would give.
    planned = {i.provider_id: i.our_id for r in outcome.results for i in r.imported}
    assert planned["sk-bill"] == "billing-2"
    assert "skill 'sk-bill'" not in " ".join(result(outcome, CatalogKind.QUEUES).notes)
    real = await run(store, spoke)
    assert planned == {i.provider_id: i.our_id for r in real.results for i in r.imported}
    # A dry run over an import reports the changes and leaves them.
    spoke.entry("wrap_up_codes", "w-fu")["attributes"] = {"time_limit_s": 300}
    after_import = await dump(store)
    dry = await run(store, spoke, kinds=[CatalogKind.WRAP_UP_CODES], dry_run=True)
    assert result(dry, CatalogKind.WRAP_UP_CODES).imported[0].fields == ("time_limit_s",)
    assert await dump(store) == after_import


async def test_only_imports_the_chosen_entries(store: Database) -> None:
    spoke = FakeSpoke()
    outcome = await run(
        store,
        spoke,
        only={CatalogKind.SKILLS: {"sk-tech"}, CatalogKind.QUEUES: {"q-tech", "q-gen"}},
    )
    assert [i.provider_id for i in result(outcome, CatalogKind.SKILLS).imported] == ["sk-tech"]
    assert {i.provider_id for i in result(outcome, CatalogKind.QUEUES).imported} == {
        "q-tech",
        "q-gen",
    }
    # A kind `only` does not name imports nothing.
    assert result(outcome, CatalogKind.WRAP_UP_CODES).imported == []
    assert set(await by_provider(store, t.SkillRow)) == {"sk-tech"}
    queues = await by_provider(store, t.QueueRow, "provider_queue_id")
    assert [r["skill_id"] for r in queues["q-tech"].skills] == ["technical"]
    # The rest stays new.
    again = await run(store, spoke, dry_run=True)
    assert statuses(again, CatalogKind.SKILLS) == {
        "sk-en": Status.NEW,
        "sk-bill": Status.NEW,
        "sk-tech": Status.UNCHANGED,
    }


async def test_only_as_plain_ids_spans_kinds(store: Database) -> None:
    outcome = await run(store, FakeSpoke(), only={"sk-en", "w-fu"})
    imported = [i.provider_id for r in outcome.results for i in r.imported]
    assert imported == ["sk-en", "w-fu"]


@pytest.mark.parametrize(
    "only",
    [{CatalogKind.SKILLS: {"sk-en", "nope"}}, {"nope"}],
    ids=["per-kind", "plain"],
)
async def test_only_refuses_ids_the_provider_does_not_list(
    store: Database, only: dict[CatalogKind, set[str]] | set[str]
) -> None:
    before = await dump(store)
    with pytest.raises(DomainError) as err:
        await run(store, FakeSpoke(), only=only)
    assert err.value.code is ErrorCode.VALIDATION_ERROR
    assert "nope" in err.value.message
    assert await dump(store) == before


async def test_queue_defaults(store: Database) -> None:
    await run(store, FakeSpoke(), defaults=QueueDefaults(("email", "case"), "zz-later"))
    queues = await by_provider(store, t.QueueRow, "provider_queue_id")
    assert queues["q-tech"].channels == ["email", "case"]
    assert {q.rule_id for q in queues.values()} == {"zz-later"}


@pytest.mark.parametrize(
    ("defaults", "code", "field"),
    [
        (QueueDefaults(("chat",), "missing"), ErrorCode.NOT_FOUND, "queue_defaults.rule_id"),
        (QueueDefaults(("sms",), None), ErrorCode.NOT_FOUND, "queue_defaults.channels.0"),
    ],
)
async def test_bad_queue_defaults_write_nothing(
    store: Database, defaults: QueueDefaults, code: ErrorCode, field: str
) -> None:
    before = await dump(store)
    with pytest.raises(DomainError) as err:
        await run(store, FakeSpoke(), defaults=defaults)
    assert (err.value.code, err.value.field) == (code, field)
    # Skills came first in the same transaction: rolled back with the rest.
    assert await dump(store) == before


async def test_new_queues_need_a_rule(db: Database) -> None:
    await seed_catalog(db)
    with pytest.raises(DomainError) as err:
        await run(db, FakeSpoke(), kinds=[CatalogKind.QUEUES])
    assert err.value.code is ErrorCode.VALIDATION_ERROR
    assert err.value.field == "queue_defaults.rule_id"
    # Without queues to create, no rule is needed.
    outcome = await run(db, FakeSpoke(), kinds=[CatalogKind.SKILLS])
    assert len(result(outcome, CatalogKind.SKILLS).imported) == 3


async def test_hand_linked_queue_is_matched_not_duplicated(store: Database) -> None:
    async with store.session() as s, s.begin():
        s.add(
            t.QueueRow(
                id="ours",
                name="General",
                channels=["chat"],
                rule_id="standard",
                routing_mode="external",
                spoke=SPOKE,
                provider_queue_id="q-gen",
            )
        )
    outcome = await run(store, FakeSpoke(), kinds=[CatalogKind.QUEUES])
    entry = next(e for e in result(outcome, CatalogKind.QUEUES).diff.entries if e.our_id)
    assert (entry.provider_id, entry.our_id, entry.status) == ("q-gen", "ours", Status.CHANGED)
    assert entry.changed_fields == ("attributes.channels",)
    queues = await by_provider(store, t.QueueRow, "provider_queue_id")
    assert queues["q-gen"].id == "ours"
    assert queues["q-gen"].channels == ["chat", "voice"]


async def test_unsupported_kind_is_a_note_not_an_error(store: Database) -> None:
    spoke = NoWrapUpSpoke()
    outcome = await run(store, spoke)
    res = result(outcome, CatalogKind.WRAP_UP_CODES)
    assert not res.diff.supported
    assert res.diff.entries == []
    assert res.imported == []
    assert "no wrap_up_codes catalog" in res.diff.notes[0]
    assert spoke.calls == 2  # skills and queues only
    async with store.session() as session:
        diff = await catalog.review(session, spoke, SPOKE, CatalogKind.WRAP_UP_CODES)
    assert (diff.supported, diff.counts()["gone"]) == (False, 0)


async def test_agents_are_compared_not_imported(store: Database) -> None:
    await add_agent(store, "alice")
    async with store.session() as s, s.begin():
        s.add(
            t.SpokeRow(
                name=SPOKE,
                kind="fake",
                settings={},
                presence_map={},
                created_at=NOW,
                updated_at=NOW,
            )
        )
        await s.flush()
        s.add(
            t.AgentIdentityRow(
                spoke=SPOKE, provider_agent_id="P-alice", agent_id="alice", linked_at=NOW
            )
        )
        s.add(
            t.AgentIdentityRow(
                spoke=SPOKE, provider_agent_id="P-old", agent_id="alice", linked_at=NOW
            )
        )
    outcome = await run(store, FakeSpoke(), kinds=[CatalogKind.AGENTS])
    res = result(outcome, CatalogKind.AGENTS)
    assert statuses(outcome, CatalogKind.AGENTS) == {
        "P-alice": Status.UNCHANGED,
        "P-zoe": Status.NEW,
        "P-old": Status.GONE,
    }
    assert next(e for e in res.diff.entries if e.provider_id == "P-alice").our_id == "alice"
    assert res.imported == []
    assert any("identity linking" in n for n in res.notes)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SpokeUnavailableError("down", retry_after_s=5), ErrorCode.SPOKE_UNAVAILABLE),
        (SpokeAuthError("bad key"), ErrorCode.SPOKE_AUTH_FAILED),
        (SpokeRejectedError("no"), ErrorCode.SPOKE_REJECTED),
    ],
)
async def test_spoke_errors_map_to_domain_errors(
    store: Database, error: SpokeError, code: ErrorCode
) -> None:
    spoke = FakeSpoke()
    spoke.error = error
    with pytest.raises(DomainError) as err:
        await run(store, spoke)
    assert err.value.code is code
    assert err.value.__cause__ is error


async def test_duplicate_provider_ids_keep_the_first(store: Database) -> None:
    spoke = FakeSpoke()
    spoke.data["skills"].append({"id": "sk-en", "name": "Again"})
    outcome = await run(store, spoke, kinds=[CatalogKind.SKILLS])
    res = result(outcome, CatalogKind.SKILLS)
    assert [e.provider_id for e in res.diff.entries] == ["sk-en", "sk-bill", "sk-tech"]
    assert any("listed twice" in n for n in res.notes)
    assert (await by_provider(store, t.SkillRow))["sk-en"].name == "English (US)"


async def test_report_lines(store: Database) -> None:
    lines = catalog.report_lines(await run(store, FakeSpoke(), dry_run=True))
    text = "\n".join(lines)
    assert "skills: 3 new, 0 changed, 0 unchanged, 0 gone" in text
    assert "would import: created billing-2 <- sk-bill" in text
    assert lines[-1] == "dry run: 8 would be imported; nothing was written"


# -- the command line -----------------------------------------------------------------


class RegisteredFake(FakeSpoke):
    """The fake provider as the registry builds it, recording its life cycle."""

    events: ClassVar[list[str]] = []

    def __init__(
        self, instance_name: str, settings: BaseModel, store: SpokeStore | None = None
    ) -> None:
        super().__init__()
        assert (instance_name, settings) == (SPOKE, FakeSettings())
        assert isinstance(store, DatabaseSpokeStore)

    async def setup(self) -> None:
        """Record the set-up."""
        self.events.append("setup")

    async def unload(self) -> None:
        """Record the unload."""
        self.events.append("unload")


async def _seed_cli(url: str) -> None:
    db = Database(url)
    try:
        await seed_catalog(db)
        await add_rule(db)
        async with db.session() as s, s.begin():
            s.add(
                t.SpokeRow(
                    name=SPOKE,
                    kind="fake",
                    settings={},
                    presence_map={},
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    finally:
        await db.dispose()


async def _queue_channels(url: str) -> dict[str, list[str]]:
    db = Database(url)
    try:
        return {
            q: r.channels
            for q, r in (await by_provider(db, t.QueueRow, "provider_queue_id")).items()
        }
    finally:
        await db.dispose()


def test_cli_import(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'omniroute.db'}"
    monkeypatch.setenv("OMNIROUTE_DATABASE_URL", url)
    monkeypatch.delenv("OMNIROUTE_CONFIG_FILE", raising=False)
    monkeypatch.setattr(registry, "spoke_class", lambda kind: RegisteredFake)
    migrate.upgrade(url)
    asyncio.run(_seed_cli(url))
    runner = CliRunner()

    dry = runner.invoke(app, ["import", SPOKE, "--kind", "skills", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "skills: 3 new, 0 changed, 0 unchanged, 0 gone" in dry.output
    assert "would import: created billing-2 <- sk-bill" in dry.output
    assert "nothing was written" in dry.output
    assert RegisteredFake.events == ["setup", "unload"]

    only = runner.invoke(
        app, ["import", SPOKE, "--only", "sk-tech", "--only", "q-tech", "--channel", "email"]
    )
    assert only.exit_code == 0, only.output
    assert "imported: created technical <- sk-tech" in only.output
    assert "imported: created technical <- q-tech" in only.output
    assert only.output.count("imported: created") == 2
    assert asyncio.run(_queue_channels(url)) == {"q-tech": ["email"]}

    full = runner.invoke(app, ["import", SPOKE])
    assert full.exit_code == 0, full.output
    assert "unchanged  sk-tech" in full.output
    assert "6 imported" in full.output

    again = runner.invoke(app, ["import", SPOKE])
    assert again.exit_code == 0, again.output
    assert "0 imported" in again.output

    unknown = runner.invoke(app, ["import", SPOKE, "--only", "nope"])
    assert unknown.exit_code == 1
    assert "VALIDATION_ERROR" in unknown.output
    missing = runner.invoke(app, ["import", "other"])
    assert missing.exit_code == 1
    assert "spoke 'other' does not exist" in missing.output
