"""Internal notes on interactions and cases, for agents and supervisors only."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field

from omniroute.api.auth import Principal, Role
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.api.visibility import check_visible
from omniroute.core.messages import AnnounceNote
from omniroute.domain.events import NoteAdded
from omniroute.services.toolkit import notes

router = APIRouter(tags=["notes"])
# Integrations never read notes: they are the team's, and the customer never sees them.
USERS = (Role.ADMIN, Role.AGENT, Role.SUPERVISOR)


class NoteIn(Body):
    """A note's text."""

    body: str = Field(min_length=1, max_length=10_000)


class NoteOut(Out):
    """A note in the timeline."""

    id: str
    document_type: str
    document_id: str
    author_agent_id: str | None
    author_name: str
    body: str
    created_at: datetime


async def _list(who: Principal, session: SessionDep, kind: str, doc_id: str) -> list[NoteOut]:
    who.require(*USERS)
    await check_visible(session, who, kind, doc_id)
    return [NoteOut.model_validate(r) for r in await notes.of_document(session, doc_id)]


async def _add(  # noqa: PLR0917 - the path's parts and the dependencies
    who: Principal, session: SessionDep, engine: EngineDep, kind: str, doc_id: str, body: NoteIn
) -> NoteOut:
    who.require(*USERS)
    await check_visible(session, who, kind, doc_id)
    row = await notes.add(
        session,
        document_type=kind,
        document_id=doc_id,
        author_agent_id=who.agent_id,
        body=body.body.strip() or body.body,
        now=engine.clock.now(),
    )
    # Stored first; then whoever holds the document sees it in the open timeline.
    await engine.execute(
        AnnounceNote(
            NoteAdded(
                row.document_type,
                row.document_id,
                row.id,
                row.author_agent_id,
                row.author_name,
                row.body,
                row.created_at,
            )
        )
    )
    return NoteOut.model_validate(row)


@router.get("/interactions/{interaction_id}/notes", response_model=list[NoteOut])
async def interaction_notes(
    interaction_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[NoteOut]:
    """The interaction's notes, oldest first."""
    return await _list(who, session, "interaction", interaction_id)


@router.post("/interactions/{interaction_id}/notes", response_model=NoteOut, status_code=201)
async def add_interaction_note(
    interaction_id: str, body: NoteIn, who: CurrentPrincipal, session: SessionDep, engine: EngineDep
) -> NoteOut:
    """Add a note to an interaction (never sent to the customer)."""
    return await _add(who, session, engine, "interaction", interaction_id, body)


@router.get("/cases/{case_id}/notes", response_model=list[NoteOut])
async def case_notes(case_id: str, who: CurrentPrincipal, session: SessionDep) -> list[NoteOut]:
    """The case's notes, oldest first."""
    return await _list(who, session, "case", case_id)


@router.post("/cases/{case_id}/notes", response_model=NoteOut, status_code=201)
async def add_case_note(
    case_id: str, body: NoteIn, who: CurrentPrincipal, session: SessionDep, engine: EngineDep
) -> NoteOut:
    """Add a note to a case."""
    return await _add(who, session, engine, "case", case_id, body)
