"""External routing endpoints: the Work Offer API, transfers and providers' inbound events."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from omniroute.api.auth import Role
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.external_schemas import TransferStartIn, WorkOfferIn, WorkOfferOut
from omniroute.api.rate_limits import RATE_LIMITED_ANSWER, Door, limit
from omniroute.api.schemas import WorkItemOut
from omniroute.api.work_access import work_actor
from omniroute.core.messages import (
    ApplyInboundEvents,
    CancelTransfer,
    CompleteConsult,
    StartTransfer,
    SubmitWorkOffer,
)
from omniroute.core.transfers import TransferRequest
from omniroute.core.work_offers import ProviderTransfer, WorkOffer
from omniroute.domain.bounds import check_instant, check_timeout
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.inbound import InboundEventType
from omniroute.domain.model import DisplayOption
from omniroute.domain.outbound import TransferType
from omniroute.spokes.base import (
    SpokeAuthError,
    SpokeError,
    SpokeRejectedError,
)
from omniroute.store import tables as t

router = APIRouter(tags=["external routing"])


def _offered_at(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as err:
        raise DomainError(
            ErrorCode.INVALID_OFFERED_AT,
            "offered_at must be an ISO 8601 date-time with an offset, e.g. 2026-01-01T10:00:00Z",
            "offered_at",
        ) from err
    return check_instant(value, ErrorCode.INVALID_OFFERED_AT, "offered_at")


def _work_offer(body: WorkOfferIn, key: str | None, token_id: str) -> WorkOffer:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    transfer = None
    if body.transfer is not None:
        transfer = ProviderTransfer(
            type=TransferType(body.transfer.type),
            from_agent_id=body.transfer.from_agent_id,
            from_provider_agent_id=body.transfer.from_provider_agent_id,
            source_queue_id=body.transfer.source_queue_id,
            source_provider_queue_id=body.transfer.source_provider_queue_id,
        )
    return WorkOffer(
        spoke=body.spoke,
        document_id=body.document_id,
        work_item_id=body.work_item_id,
        queue_id=body.queue_id,
        provider_queue_id=body.provider_queue_id,
        agent_id=body.agent_id,
        provider_agent_id=body.provider_agent_id,
        allowed_to_decline=body.allowed_to_decline,
        auto_accept=body.auto_accept,
        timeout_s=check_timeout(body.timeout),
        after_timeout_presence=body.after_timeout_presence,
        offered_at=_offered_at(body.offered_at),
        external_segment_id=body.external_segment_id,
        transfer=transfer,
        display_option=DisplayOption(body.display_option),
        # Keys are scoped to the caller so two integrations cannot collide.
        idempotency_key=f"{token_id}:{key}" if key else None,
        request_hash=hashlib.sha256(canonical).hexdigest(),
    )


@router.post(
    "/work-offers",
    response_model=WorkOfferOut,
    status_code=201,
    responses={200: {"description": "a repeated request: the offer made the first time"}},
)
async def create_work_offer(
    body: WorkOfferIn,
    who: CurrentPrincipal,
    engine: EngineDep,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Offer work to an agent on the provider's terms (idempotent)."""
    who.require(Role.INTEGRATION, Role.ADMIN)
    request = _work_offer(body, idempotency_key, who.token_id)
    result = await engine.execute(SubmitWorkOffer(request))
    row = await session.get(t.OfferRow, result.offer_id)
    if row is None:
        raise NotFoundError("offer", result.offer_id)
    work_item = await session.get(t.WorkItemRow, row.work_item_id)
    out = WorkOfferOut(
        offer_id=row.id,
        work_item_id=row.work_item_id,
        document_id=work_item.document_id if work_item is not None else "",
        agent_id=row.agent_id,
        state=row.state,
        auto_accept=row.auto_accept,
        display_option=row.display_option,
        created_at=row.created_at,
        expires_at=row.expires_at,
        external_segment_id=row.external_segment_id,
        replayed=result.replayed,
    )
    return JSONResponse(out.model_dump(mode="json"), 200 if result.replayed else 201)


async def _item_out(session: SessionDep, item_id: str) -> WorkItemOut:
    row = await session.get(t.WorkItemRow, item_id, populate_existing=True)
    if row is None:
        raise NotFoundError("work item", item_id)
    return WorkItemOut.model_validate(row)


@router.post("/documents/{document_id}/transfer", response_model=WorkItemOut, status_code=201)
async def start_transfer(
    document_id: str,
    body: TransferStartIn,
    who: CurrentPrincipal,
    engine: EngineDep,
    session: SessionDep,
) -> WorkItemOut:
    """Transfer accepted work to an agent or a queue; pending until the target accepts."""
    request = TransferRequest(
        document_id=document_id,
        by_agent_id=await work_actor(session, who, document_id),
        target_agent_id=body.target_agent_id,
        target_queue_id=body.target_queue_id,
        type=TransferType(body.type),
        note=body.note.strip() or None if body.note else None,
    )
    item = await engine.execute(StartTransfer(request))
    return await _item_out(session, item)


@router.delete("/documents/{document_id}/transfer", response_model=WorkItemOut)
async def cancel_transfer(
    document_id: str, who: CurrentPrincipal, engine: EngineDep, session: SessionDep
) -> WorkItemOut:
    """Cancel the pending transfer; the work stays with the sender."""
    agent_id = await work_actor(session, who, document_id)
    item = await engine.execute(CancelTransfer(document_id, agent_id))
    return await _item_out(session, item)


@router.post("/documents/{document_id}/transfer/complete", response_model=WorkItemOut)
async def complete_consult(
    document_id: str, who: CurrentPrincipal, engine: EngineDep, session: SessionDep
) -> WorkItemOut:
    """The sender of an accepted consult transfer leaves the work."""
    agent_id = await work_actor(session, who, document_id)
    item = await engine.execute(CompleteConsult(document_id, agent_id))
    return await _item_out(session, item)


@router.post("/spokes/{name}/events", responses=RATE_LIMITED_ANSWER)
async def inbound_events(name: str, request: Request, engine: EngineDep) -> dict[str, Any]:
    """Events from a provider, authenticated by the spoke's signature, applied once each."""
    # Counted before the signature is checked: unsigned floods are bounded too.
    await limit(request, Door.SPOKE_EVENTS)
    manager = request.app.state.spokes
    spoke = await manager.ready(name)
    # Bounded by the body limit (api/body_limits.py) before the signature can be checked.
    body = await request.body()
    try:
        events = await spoke.receive(dict(request.headers), body)
    except SpokeAuthError as err:
        raise DomainError(ErrorCode.INVALID_SIGNATURE, str(err)) from err
    except SpokeRejectedError as err:
        raise DomainError(ErrorCode.VALIDATION_ERROR, str(err), "body") from err
    except SpokeError as err:
        raise DomainError(ErrorCode.SPOKE_REJECTED, str(err)) from err
    outcomes = await engine.execute(ApplyInboundEvents(name, tuple(events)))
    for event, outcome in zip(events, outcomes, strict=True):
        if event.type is InboundEventType.AGENT_SIGNED_IN and outcome.get("agent_id"):
            request.app.state.profile_sync.request(str(outcome["agent_id"]), name)
    return {"events": outcomes}
