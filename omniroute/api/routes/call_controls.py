"""Call contexts of interactions and the controls agents send to the provider."""

from __future__ import annotations

from fastapi import APIRouter

from omniroute.api.call_schemas import CallContextOut, ControlIn, ControlOut
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.core.call_controls import ControlRequest, StoredContext
from omniroute.core.messages import InvokeCallControl
from omniroute.domain.calls import no_context
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.services.call_contexts import latest_context
from omniroute.store import tables as t

router = APIRouter(tags=["call controls"])


def _out(stored: StoredContext) -> CallContextOut:
    ctx = stored.context
    return CallContextOut(
        interaction_id=ctx.interaction_id,
        spoke=stored.spoke,
        state=ctx.state.value,
        kind=ctx.kind.value,
        muted=ctx.muted,
        customer_number=ctx.customer_number,
        available_actions=[a.value for a in ctx.available_actions],
        provider_call_id=ctx.provider_call_id,
        connected_at=ctx.connected_at,
        occurred_at=ctx.occurred_at,
    )


async def _existing(session: SessionDep, interaction_id: str) -> None:
    if await session.get(t.InteractionRow, interaction_id) is None:
        raise NotFoundError("interaction", interaction_id, "interaction_id")


@router.get(
    "/interactions/{interaction_id}/call",
    response_model=CallContextOut,
    responses={409: {"description": "NO_CALL_CONTEXT: the provider has sent none yet"}},
)
async def get_call(
    interaction_id: str, _who: CurrentPrincipal, session: SessionDep
) -> CallContextOut:
    """The interaction's current call context; 409 NO_CALL_CONTEXT before the provider sent one."""
    await _existing(session, interaction_id)
    stored = await latest_context(session, interaction_id)
    if stored is None:
        raise no_context(interaction_id)
    return _out(stored)


@router.post("/interactions/{interaction_id}/controls", response_model=ControlOut, status_code=202)
async def invoke_control(
    interaction_id: str,
    body: ControlIn,
    who: CurrentPrincipal,
    engine: EngineDep,
    session: SessionDep,
) -> ControlOut:
    """Ask the provider to act on the call; allowed only for actions the context offers now."""
    agent_id = who.acting_agent()
    if agent_id is None:
        raise DomainError(
            ErrorCode.FORBIDDEN, "only the agent who holds the interaction may control its call"
        )
    await _existing(session, interaction_id)
    current = await latest_context(session, interaction_id)
    request = ControlRequest(interaction_id, agent_id, body.action, body.params, current)
    sent = await engine.execute(InvokeCallControl(request))
    return ControlOut(
        event_id=sent.event_id,
        interaction_id=interaction_id,
        action=body.action.value,
        spoke=sent.spoke,
    )
