"""The spoke contract: manifest, life cycle, routing events out, catalog and events in."""

# RoutingEventType and the inbound event types are re-exported for spoke authors.

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel

from omniroute.domain.inbound import InboundEvent, InboundEventType, InboundOffer
from omniroute.domain.outbound import RoutingEventType

__all__ = [
    "Capability",
    "CatalogEntry",
    "CatalogKind",
    "InboundEvent",
    "InboundEventType",
    "InboundOffer",
    "Manifest",
    "RoutingEvent",
    "RoutingEventType",
    "Spoke",
    "SpokeAuthError",
    "SpokeError",
    "SpokeRejectedError",
    "SpokeUnavailableError",
]


class SpokeError(Exception):
    """Base of the few errors every spoke maps its vendor's errors to."""


class SpokeUnavailableError(SpokeError):
    """The provider cannot be reached or is overloaded: retry later."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SpokeAuthError(SpokeError):
    """The provider refused our credentials: an operator must renew them."""


class SpokeRejectedError(SpokeError):
    """The provider refused this request: retrying the same request will not help."""


class Capability(StrEnum):
    """What a spoke supports; the manifest lists them."""

    ROUTING = "routing"
    TRANSFERS = "transfers"
    CATALOG_SKILLS = "catalog.skills"
    CATALOG_QUEUES = "catalog.queues"
    CATALOG_WRAP_UP_CODES = "catalog.wrap_up_codes"
    CATALOG_AGENTS = "catalog.agents"
    PRESENCE_OUT = "presence.out"
    PRESENCE_IN = "presence.in"
    INBOUND_EVENTS = "inbound_events"


@dataclass(frozen=True, slots=True)
class Manifest:
    """A spoke's identity, what it supports, and the model of its settings."""

    name: str
    version: str
    title: str
    supports: frozenset[Capability]
    settings_model: type[BaseModel]
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class RoutingEvent:
    """One outgoing event; `id` doubles as the idempotency key the provider may use."""

    id: str
    type: RoutingEventType
    spoke: str
    ordering_key: str
    created_at: datetime
    attempt: int
    payload: Mapping[str, Any]
    schema_version: int = 1


class CatalogKind(StrEnum):
    """What a catalog import can bring in."""

    SKILLS = "skills"
    QUEUES = "queues"
    WRAP_UP_CODES = "wrap_up_codes"
    AGENTS = "agents"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One skill, queue, wrap-up code or agent as the provider describes it."""

    provider_id: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


class Spoke(ABC):
    """A connector to one provider; one instance per configured spoke."""

    manifest: ClassVar[Manifest]

    def __init__(self, instance_name: str, settings: BaseModel) -> None:
        self.instance_name = instance_name
        self.settings = settings

    async def setup(self) -> None:  # noqa: B027 - optional hook
        """Open connections or sessions; raise a SpokeError if that fails."""

    async def unload(self) -> None:  # noqa: B027 - optional hook
        """Release what setup opened."""

    @abstractmethod
    async def health(self) -> None:
        """Check that the provider answers with our credentials; raise a SpokeError if not."""

    @abstractmethod
    async def deliver(self, event: RoutingEvent) -> None:
        """Send one routing event; raise a SpokeError on failure."""

    async def list_catalog(self, kind: CatalogKind) -> list[CatalogEntry]:
        """The provider's skills, queues, wrap-up codes or agents."""
        raise SpokeRejectedError(f"spoke '{self.manifest.name}' has no {kind.value} catalog")

    def parse_inbound(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """Verify and parse a provider's inbound request; raise SpokeAuthError if forged."""
        raise SpokeRejectedError(f"spoke '{self.manifest.name}' takes no inbound events")
