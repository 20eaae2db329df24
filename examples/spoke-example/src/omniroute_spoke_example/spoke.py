"""The Pigeon Desk spoke: our work becomes Pigeon tickets; Pigeon's agents get it back."""

from __future__ import annotations

from typing import Any

import httpx

from omniroute.domain.outbound import RoutingEventType
from omniroute.spokes import events_schema as es
from omniroute.spokes.base import (
    CatalogEntry,
    CatalogKind,
    RoutingEvent,
    Spoke,
    SpokeAuthError,
    SpokeRejectedError,
    SpokeStore,
    SpokeUnavailableError,
)
from omniroute_spoke_example.settings import PigeonSettings

TICKET = "ticket/"  # store key prefix: our document id -> Pigeon's ticket id


class PigeonSpoke(Spoke[PigeonSettings]):
    """Spoke[PigeonSettings]: the base reads manifest.json beside this module and types settings."""

    def __init__(
        self, instance_name: str, settings: PigeonSettings, store: SpokeStore | None = None
    ) -> None:
        super().__init__(instance_name, settings, store)
        self._http: httpx.AsyncClient | None = None

    # -- life cycle: open and close the HTTP pool; never contact Pigeon here -------------

    async def setup(self) -> None:
        """Open the connection pool (again is harmless)."""
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=str(self.settings.base_url),
                timeout=self.settings.timeout_s,
                headers={"Authorization": f"Bearer {self.settings.api_token.get_secret_value()}"},
            )

    async def unload(self) -> None:
        """Close the pool (again is harmless)."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def health(self) -> None:
        """Pigeon answers with our token."""
        await self._call("GET", "/me")

    # -- routing events out ---------------------------------------------------------------

    async def deliver(self, event: RoutingEvent) -> None:
        """One routing event as Pigeon calls; the event id is the idempotency key."""
        match event.type:
            case RoutingEventType.NEW_INTERACTION:
                await self._open_ticket(event, event.data_as(es.NewInteractionData))
            case RoutingEventType.OFFER_OUTCOME:
                outcome = event.data_as(es.OfferOutcomeData)
                ticket = await self._ticket(outcome.document_id)
                body = {"outcome": outcome.outcome, "agent": outcome.provider_agent_id}
                await self._call("POST", f"/tickets/{ticket}/offers", event, body)
            case RoutingEventType.TRANSFER_TO_QUEUE | RoutingEventType.TRANSFER_TO_AGENT:
                transfer = event.data_as(es.TransferData)
                ticket = await self._ticket(transfer.document_id)
                body = {
                    "queue": transfer.provider_queue_id,
                    "agent": transfer.to.provider_agent_id,
                    "type": transfer.transfer_type,
                }
                await self._call("POST", f"/tickets/{ticket}/transfer", event, body)
            case RoutingEventType.CANCEL_TRANSFER:
                ticket = await self._ticket(event.data_as(es.TransferData).document_id)
                await self._call("DELETE", f"/tickets/{ticket}/transfer", event)
            case RoutingEventType.AGENT_PRESENCE:
                presence = event.data_as(es.AgentPresenceData)
                path = f"/agents/{presence.provider_agent_id}/status"
                await self._call("PUT", path, event, {"status": presence.provider_state})
            case RoutingEventType.END_INTERACTION:
                end = event.data_as(es.EndInteractionData)
                ticket = await self._ticket(end.document_id)
                body = {"wrap_up": end.wrap_up_code_name, "notes": end.notes}
                await self._call("POST", f"/tickets/{ticket}/close", event, body)
            case _:
                msg = f"Pigeon Desk does not take {event.type.value} events"
                raise SpokeRejectedError(msg)

    async def _open_ticket(self, event: RoutingEvent, data: es.NewInteractionData) -> None:
        body = {
            "reference": data.document_id,
            "queue": data.provider_queue_id,
            "subject": data.customer.get("subject") or f"{data.document_type} {data.document_id}",
            "customer": data.customer.get("customer_name"),
        }
        answer = await self._call("POST", "/tickets", event, body)
        ticket = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(ticket, str):
            msg = "Pigeon Desk answered POST /tickets without a ticket id"
            raise SpokeRejectedError(msg)
        # Kept by Omniroute in its own table, so a restarted server still knows the ticket.
        await self.store.save(TICKET + data.document_id, ticket)

    async def _ticket(self, document_id: str) -> str:
        ticket = await self.store.load(TICKET + document_id)
        if not isinstance(ticket, str):
            msg = f"no Pigeon ticket for '{document_id}': its new_interaction never reached Pigeon"
            raise SpokeRejectedError(msg)
        return ticket

    # -- catalog in -------------------------------------------------------------------------

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """Pigeon's queues; other kinds are refused by the base class."""
        if kind is not CatalogKind.QUEUES:
            return await super().list_catalog(kind)
        answer = await self._call("GET", "/queues")
        items = answer.get("queues", []) if isinstance(answer, dict) else []
        return [CatalogEntry(str(q["id"]), str(q["name"])) for q in items if "id" in q]

    # -- HTTP, with every failure mapped to one of the three spoke errors ---------------------

    async def _call(
        self,
        method: str,
        path: str,
        event: RoutingEvent | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        if self._http is None:
            msg = f"pigeon spoke '{self.instance_name}' is not set up"
            raise RuntimeError(msg)
        headers = {"Idempotency-Key": event.id} if event is not None else {}
        try:
            response = await self._http.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as err:
            msg = f"Pigeon Desk {method} {path}: {type(err).__name__}: {err}"
            raise SpokeUnavailableError(msg) from err
        what = f"Pigeon Desk {method} {path} answered {response.status_code}"
        if response.status_code in (401, 403):
            raise SpokeAuthError(what)
        if response.status_code == 429 or response.status_code >= 500:
            raise SpokeUnavailableError(what)
        if response.status_code >= 400:
            raise SpokeRejectedError(f"{what}: {response.text[:200]}")
        return response.json() if response.content else None
