"""Catalog import: review a provider's skills, queues and wrap-up codes, and import them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from omniroute.api.deps import AdminPrincipal, EngineDep, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.services import catalog as svc
from omniroute.spokes.base import AnySpoke, CatalogKind

router = APIRouter(tags=["catalog import"])


class DiffEntryOut(Out):
    """A provider entry; `changed_fields` names what the provider changed since the import."""

    provider_id: str
    name: str
    status: svc.Status
    our_id: str | None
    changed_fields: list[str]
    attributes: dict[str, Any]


class ImportedOut(Out):
    """An entry created or updated (or, in a dry run, that would be)."""

    provider_id: str
    name: str
    our_id: str
    action: str
    fields: list[str]


class CatalogOut(Out):
    """A provider's catalog of one kind compared with what was imported from the spoke."""

    spoke: str
    kind: CatalogKind
    supported: bool
    counts: dict[str, int]
    new: list[DiffEntryOut]
    changed: list[DiffEntryOut]
    unchanged: list[DiffEntryOut]
    gone: list[DiffEntryOut]
    notes: list[str]


class KindImportOut(CatalogOut):
    """The diff of one kind and what was imported from it."""

    imported: list[ImportedOut]


class ImportOut(Out):
    """The outcome of an import, per kind."""

    spoke: str
    dry_run: bool
    kinds: dict[str, KindImportOut]


class QueueDefaultsIn(Body):
    """For new queues: channels when the provider gives none; the rule (default: the first)."""

    channels: list[str] = Field(default_factory=lambda: ["chat"], min_length=1)
    rule_id: str | None = None


class ImportIn(Body):
    """What to import; `only` names provider ids per kind, and a kind it omits imports nothing."""

    kinds: list[CatalogKind] = Field(default_factory=lambda: list(svc.DEFAULT_KINDS), min_length=1)
    only: dict[CatalogKind, list[str]] | None = None
    dry_run: bool = False
    queue_defaults: QueueDefaultsIn = Field(default_factory=QueueDefaultsIn)


def _entry(entry: svc.DiffEntry) -> DiffEntryOut:
    return DiffEntryOut(
        provider_id=entry.provider_id,
        name=entry.name,
        status=entry.status,
        our_id=entry.our_id,
        changed_fields=list(entry.changed_fields),
        attributes=dict(entry.attributes),
    )


def _diff_fields(diff: svc.CatalogDiff, notes: list[str]) -> dict[str, Any]:
    by_status = {s.value: [_entry(e) for e in diff.having(s)] for s in svc.Status}
    return {
        "spoke": diff.spoke,
        "kind": diff.kind,
        "supported": diff.supported,
        "counts": diff.counts(),
        "notes": notes,
        **by_status,
    }


async def _spoke(request: Request, name: str) -> AnySpoke:
    spoke: AnySpoke = await request.app.state.spokes.ready(name)
    return spoke


@router.get("/spokes/{name}/catalog", response_model=CatalogOut)
async def review_catalog(
    name: str, kind: CatalogKind, request: Request, _who: AdminPrincipal, session: SessionDep
) -> CatalogOut:
    """What the provider lists of one kind: new, changed, unchanged, and gone. Admin only."""
    diff = await svc.review(session, await _spoke(request, name), name, kind)
    return CatalogOut(**_diff_fields(diff, diff.notes))


@router.post("/spokes/{name}/import", response_model=ImportOut)
async def import_catalog(
    name: str,
    body: ImportIn,
    request: Request,
    _who: AdminPrincipal,
    session: SessionDep,
    engine: EngineDep,
) -> ImportOut:
    """Import the chosen new and changed entries in one transaction; gone ones are only reported."""
    only = None if body.only is None else {k: set(ids) for k, ids in body.only.items()}
    defaults = svc.QueueDefaults(
        channels=tuple(dict.fromkeys(body.queue_defaults.channels)),
        rule_id=body.queue_defaults.rule_id,
    )
    outcome = await svc.import_catalog(
        session,
        await _spoke(request, name),
        name,
        body.kinds,
        only=only,
        dry_run=body.dry_run,
        queue_defaults=defaults,
    )
    if outcome.changed_anything:
        await engine.reload_config()
    kinds = {
        r.diff.kind.value: KindImportOut(
            **_diff_fields(r.diff, r.notes),
            imported=[
                ImportedOut(
                    provider_id=i.provider_id,
                    name=i.name,
                    our_id=i.our_id,
                    action=i.action,
                    fields=list(i.fields),
                )
                for i in r.imported
            ],
        )
        for r in outcome.results
    }
    return ImportOut(spoke=name, dry_run=body.dry_run, kinds=kinds)
