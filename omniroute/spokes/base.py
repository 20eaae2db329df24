"""The spoke contract: manifest, life cycle, routing events out, catalog and events in."""

# RoutingEventType and the inbound event types are re-exported for spoke authors.

from __future__ import annotations

import builtins
import json
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import resources
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omniroute.domain.inbound import InboundEvent, InboundEventType, InboundOffer, InboundTransfer
from omniroute.domain.outbound import RoutingEventType
from omniroute.domain.profile import ProfileGroup, ProfileSkill, ProviderProfile
from omniroute.spokes import events_schema as es
from omniroute.spokes.store import MemorySpokeStore, SpokeStore

__all__ = [
    "AnySpoke",
    "Capability",
    "CatalogEntry",
    "CatalogKind",
    "EventData",
    "InboundEvent",
    "InboundEventType",
    "InboundOffer",
    "InboundTransfer",
    "Manifest",
    "ProfileGroup",
    "ProfileSkill",
    "ProviderProfile",
    "RoutingEvent",
    "RoutingEventType",
    "Spoke",
    "SpokeAuthError",
    "SpokeError",
    "SpokeRejectedError",
    "SpokeStore",
    "SpokeUnavailableError",
]

SettingsT = TypeVar("SettingsT", bound=BaseModel)
DataT = TypeVar("DataT", bound=BaseModel)
MANIFEST_FILE = "manifest.json"

EventData = (
    es.NewInteractionData
    | es.OfferOutcomeData
    | es.OfferRefusedData
    | es.EndInteractionData
    | es.TransferData
    | es.AgentPresenceData
    | es.InteractionControlData
)


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
    PROFILE_SYNC = "profile.sync"
    CALLS = "calls"


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

    @property
    def data(self) -> EventData:
        """The payload as the typed model of this event type (events_schema.py)."""
        model = es.OUTGOING[self.type].model_fields["data"].annotation
        assert isinstance(model, builtins.type)
        parsed: EventData = self.data_as(model)
        return parsed

    def data_as(self, model: builtins.type[DataT]) -> DataT:
        """The payload as `model`; SpokeRejectedError when it does not fit."""
        try:
            return model.model_validate(dict(self.payload))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:3]
            )
            msg = f"event '{self.id}' ({self.type.value}) is not {model.__name__}: {problems}"
            raise SpokeRejectedError(msg) from err


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


class ManifestFile(BaseModel):
    """What a spoke package's manifest.json holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    version: str = Field(min_length=1)
    title: str = Field(min_length=1)
    supports: list[Capability]
    documentation: str = ""


def load_manifest(package: str, settings_model: type[BaseModel]) -> Manifest:
    """The manifest.json of a package, with the settings model; ValueError naming the problem."""
    try:
        text = resources.files(package).joinpath(MANIFEST_FILE).read_text("utf-8")
        raw = ManifestFile.model_validate(json.loads(text))
    except (OSError, ValueError) as err:
        msg = f"{package}/{MANIFEST_FILE}: {err}"
        raise ValueError(msg) from err
    return Manifest(
        name=raw.name,
        version=raw.version,
        title=raw.title,
        supports=frozenset(raw.supports),
        settings_model=settings_model,
        documentation=raw.documentation,
    )


def _settings_argument(cls: type) -> type[BaseModel] | None:
    """The settings model given as `Spoke[Model]` in a class's bases, if any."""
    for base in cls.__dict__.get("__orig_bases__", ()):
        origin = get_origin(base)
        if isinstance(origin, type) and issubclass(origin, Spoke):
            args = get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
                return args[0]
    return None


class Spoke(ABC, Generic[SettingsT]):
    """A connector to one provider; one instance per configured spoke.

    Subclass `Spoke[YourSettings]` in a package holding a manifest.json: the base reads
    the manifest once, when the class is made, and checks the settings' type.
    """

    manifest: ClassVar[Manifest]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = _settings_argument(cls)
        if model is None or "manifest" in cls.__dict__:
            return
        module = sys.modules[cls.__module__]
        package = module.__package__ or cls.__module__
        cls.manifest = load_manifest(package, model)

    def __init__(
        self, instance_name: str, settings: SettingsT, store: SpokeStore | None = None
    ) -> None:
        model = self.manifest.settings_model
        if not isinstance(settings, model):
            msg = f"settings must be {model.__name__}, not {type(settings).__name__}"
            raise TypeError(msg)
        self.instance_name = instance_name
        self.settings: SettingsT = settings
        # The core passes its database-backed store; without one, nothing outlives the process.
        self.store: SpokeStore = store if store is not None else MemorySpokeStore(instance_name)

    async def setup(self) -> None:
        """Open connections or sessions; raise a SpokeError if that fails."""

    async def unload(self) -> None:
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

    async def receive(self, headers: Mapping[str, str], body: bytes) -> list[InboundEvent]:
        """`parse_inbound`, awaited by the core; override it to use the store while parsing."""
        return self.parse_inbound(headers, body)

    async def fetch_profile(self, provider_agent_id: str) -> ProviderProfile:
        """The provider's current profile of one agent (capability `profile.sync`)."""
        raise SpokeRejectedError(f"spoke '{self.manifest.name}' does not sync agent profiles")


AnySpoke = Spoke[Any]
