"""The spoke contract as tests: subclass `SpokeContract` as `TestYourSpoke` in your test suite.

```python
class TestAcme(SpokeContract):
    spoke_class = AcmeSpoke

    def settings(self) -> dict[str, Any]:
        return {"url": "https://acme.example", "token": "t0ken"}

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[dict[str, Any]]:
        async with serving(AcmeDouble()) as url:  # omniroute.testing.server
            yield {"url": url, "token": "t0ken"}
```

Without `provider`, the delivery tests are skipped; everything else runs without a network.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from omniroute.spokes import registry
from omniroute.spokes.base import (
    AnySpoke,
    Capability,
    CatalogKind,
    RoutingEvent,
    SpokeAuthError,
    SpokeRejectedError,
)
from omniroute.spokes.store import MemorySpokeStore, SpokeStore
from omniroute.testing.events import story

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CATALOG = {
    CatalogKind.SKILLS: Capability.CATALOG_SKILLS,
    CatalogKind.QUEUES: Capability.CATALOG_QUEUES,
    CatalogKind.WRAP_UP_CODES: Capability.CATALOG_WRAP_UP_CODES,
    CatalogKind.AGENTS: Capability.CATALOG_AGENTS,
}
INSTANCE = "contract"


class _Unrelated(BaseModel):
    """Settings of no spoke at all."""


class SpokeContract:
    """What every spoke must do; the tests below run for the subclass's `spoke_class`."""

    spoke_class: ClassVar[type[AnySpoke]]

    def settings(self) -> dict[str, Any]:
        """Valid settings for a spoke whose set-up does not contact the provider."""
        raise NotImplementedError

    @asynccontextmanager
    async def provider(self) -> AsyncIterator[dict[str, Any]]:
        """Settings pointing at a running double of the provider (override to run deliveries)."""
        pytest.skip(f"{type(self).__name__} gives no provider double: deliveries not checked")
        yield {}

    def events(self) -> list[RoutingEvent]:
        """The events delivered in order against the double (override to adapt the story)."""
        manifest = self.spoke_class.manifest
        return story(INSTANCE, manifest.supports)

    def make(self, settings: dict[str, Any], store: SpokeStore | None = None) -> AnySpoke:
        """A spoke instance as the core makes one: validated settings and a store."""
        model = self.spoke_class.manifest.settings_model.model_validate(settings)
        return self.spoke_class(INSTANCE, model, store or MemorySpokeStore(INSTANCE))

    # -- the package -----------------------------------------------------------------------

    def test_manifest_is_complete(self) -> None:
        """Name, version, title, capabilities and a settings model with a JSON Schema."""
        manifest = self.spoke_class.manifest
        assert NAME.match(manifest.name), f"manifest name {manifest.name!r} must match {NAME}"
        assert manifest.version
        assert manifest.title
        assert manifest.supports <= frozenset(Capability)
        assert issubclass(manifest.settings_model, BaseModel)
        assert manifest.settings_model.model_json_schema()["type"] == "object"

    def test_discovered_through_its_entry_point(self) -> None:
        """The installed package's entry point gives exactly this class, and it is not broken."""
        name = self.spoke_class.manifest.name
        broken = {k.name: k.error for k in registry.broken_spokes()}
        assert name not in broken, f"entry point '{name}' is broken: {broken.get(name)}"
        assert registry.available_spokes().get(name) is self.spoke_class

    def test_settings_are_typed(self) -> None:
        """The spoke gets its settings model; any other model is refused."""
        spoke = self.make(self.settings())
        assert isinstance(spoke.settings, self.spoke_class.manifest.settings_model)
        with pytest.raises(TypeError):
            self.spoke_class(INSTANCE, _Unrelated(), MemorySpokeStore(INSTANCE))

    def test_keeps_its_data_in_the_store_it_is_given(self) -> None:
        """The store the core passes is the spoke's store: no database of its own."""
        store = MemorySpokeStore(INSTANCE)
        assert self.make(self.settings(), store).store is store

    # -- life cycle --------------------------------------------------------------------------

    async def test_setup_and_unload_are_idempotent(self) -> None:
        """Setting up or unloading twice is harmless (the core retries a failed set-up)."""
        spoke = self.make(self.settings())
        await spoke.setup()
        await spoke.setup()
        await spoke.unload()
        await spoke.unload()

    async def test_catalog_kinds_follow_the_manifest(self) -> None:
        """A catalog the manifest does not claim is refused with SpokeRejectedError."""
        spoke = self.make(self.settings())
        await spoke.setup()
        try:
            for kind, capability in CATALOG.items():
                if capability not in spoke.manifest.supports:
                    with pytest.raises(SpokeRejectedError):
                        await spoke.list_catalog(kind)
        finally:
            await spoke.unload()

    async def test_inbound_requests_are_authenticated(self) -> None:
        """Unsigned inbound requests are refused: SpokeAuthError, or SpokeRejectedError if none."""
        spoke = self.make(self.settings())
        await spoke.setup()
        try:
            expected = (
                SpokeAuthError
                if Capability.INBOUND_EVENTS in spoke.manifest.supports
                else SpokeRejectedError
            )
            with pytest.raises(expected):
                spoke.parse_inbound({"content-type": "application/json"}, b"[]")
        finally:
            await spoke.unload()

    # -- deliveries against the provider's double ---------------------------------------------

    async def deliver_all(
        self,
        settings: dict[str, Any],
        events: list[RoutingEvent],
        store: SpokeStore | None = None,
        *,
        twice: bool = False,
    ) -> None:
        """Set up one instance, deliver the events in order (each twice if asked), unload."""
        spoke = self.make(settings, store)
        await spoke.setup()
        try:
            for routing_event in events:
                await spoke.deliver(routing_event)
                if twice:
                    await spoke.deliver(replace(routing_event, attempt=2))
        finally:
            await spoke.unload()

    async def test_delivers_an_interaction_from_start_to_end(self) -> None:
        """Every event of the story is delivered, in order, without an error."""
        async with self.provider() as settings:
            await self.deliver_all(settings, self.events())

    async def test_a_retried_event_is_delivered_again_without_harm(self) -> None:
        """At least once: each event delivered twice (attempt 2, same id) still succeeds."""
        async with self.provider() as settings:
            await self.deliver_all(settings, self.events(), twice=True)

    async def test_what_it_remembers_survives_a_restart(self) -> None:
        """A new instance on the same store carries on with the interaction the old one began."""
        events = self.events()
        async with self.provider() as settings:
            store = MemorySpokeStore(INSTANCE)
            await self.deliver_all(settings, events[:1], store)
            await self.deliver_all(settings, events[1:], store)
