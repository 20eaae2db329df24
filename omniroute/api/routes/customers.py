"""Customer records and each customer's history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field
from sqlalchemy import select

from omniroute.api.admin_schemas import Email
from omniroute.api.auth import Role
from omniroute.api.deps import CurrentPrincipal, EngineDep, SessionDep
from omniroute.api.schemas import Body, Out
from omniroute.api.visibility import agent_sees, sees_everything
from omniroute.services.toolkit import customers
from omniroute.store import tables as t

router = APIRouter(tags=["customers"])
USERS = (Role.ADMIN, Role.AGENT, Role.SUPERVISOR, Role.INTEGRATION)
Attributes = dict[str, str | int | float | bool | None]


class CustomerIn(Body):
    """A new customer."""

    name: str = Field("", max_length=200)
    emails: list[Email] = Field(default_factory=list, max_length=20)
    phone: str = Field("", max_length=64)
    attributes: Attributes = Field(default_factory=dict, max_length=100)


class CustomerPatch(Body):
    """Fields to change; `emails` replaces the list."""

    name: str | None = Field(None, max_length=200)
    emails: list[Email] | None = Field(None, max_length=20)
    phone: str | None = Field(None, max_length=64)
    attributes: Attributes | None = Field(None, max_length=100)


class CustomerOut(Out):
    """A customer record."""

    id: str
    name: str
    emails: list[str]
    phone: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CustomerHistoryEntry(Out):
    """One interaction or case of the customer; `visible` when the caller may open it."""

    type: str
    id: str
    reference: str | None
    channel_id: str
    state: str
    subject: str
    agent_id: str | None
    created_at: datetime
    visible: bool = True


@router.get("/customers", response_model=list[CustomerOut])
async def find_customers(
    who: CurrentPrincipal, session: SessionDep, email: str | None = None
) -> list[CustomerOut]:
    """The customer with an address (`email`), or every customer by name (at most 500)."""
    who.require(*USERS)
    if email is not None:
        row = await customers.by_email(session, email)
        return [CustomerOut.model_validate(row)] if row is not None else []

    rows = await session.scalars(
        select(t.CustomerRow).order_by(t.CustomerRow.name, t.CustomerRow.id).limit(500)
    )
    return [CustomerOut.model_validate(r) for r in rows]


@router.post("/customers", response_model=CustomerOut, status_code=201)
async def create_customer(
    body: CustomerIn, who: CurrentPrincipal, session: SessionDep, engine: EngineDep
) -> CustomerOut:
    """Add a customer; each address may belong to one customer only (409 CONFLICT)."""
    who.require(*USERS)
    row = await customers.create(session, body.model_dump(), engine.clock.now())
    return CustomerOut.model_validate(row)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: str, who: CurrentPrincipal, session: SessionDep) -> CustomerOut:
    """One customer."""
    who.require(*USERS)
    return CustomerOut.model_validate(await customers.get(session, customer_id))


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
async def update_customer(
    customer_id: str,
    body: CustomerPatch,
    who: CurrentPrincipal,
    session: SessionDep,
    engine: EngineDep,
) -> CustomerOut:
    """Change a customer's name, addresses, phone or attributes."""
    who.require(*USERS)
    row = await customers.get(session, customer_id)
    fields = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    row = await customers.update(session, row, fields, engine.clock.now())
    return CustomerOut.model_validate(row)


@router.delete("/customers/{customer_id}", status_code=204, response_class=Response)
async def delete_customer(customer_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    """Delete a customer record (admins; their interactions and cases stay)."""
    who.require(Role.ADMIN)
    await session.delete(await customers.get(session, customer_id))
    await session.commit()
    return Response(status_code=204)


@router.get("/customers/{customer_id}/history", response_model=list[CustomerHistoryEntry])
async def customer_history(
    customer_id: str, who: CurrentPrincipal, session: SessionDep
) -> list[CustomerHistoryEntry]:
    """Every interaction and case of the customer, newest first."""
    who.require(Role.ADMIN, Role.AGENT, Role.SUPERVISOR)
    row = await customers.get(session, customer_id)
    items = [CustomerHistoryEntry.model_validate(e) for e in await customers.history(session, row)]
    if not sees_everything(who) and who.agent_id is not None:
        from sqlalchemy import select

        for kind, model in (("interaction", t.InteractionRow), ("case", t.CaseRow)):
            ids = [e.id for e in items if e.type == kind]
            seen = set(
                await session.scalars(
                    select(model.id).where(model.id.in_(ids), agent_sees(model, who.agent_id))
                )
            )
            for e in items:
                if e.type == kind:
                    e.visible = e.id in seen
    return items
