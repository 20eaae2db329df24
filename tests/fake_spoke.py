"""A spoke for tests: records what it delivers and fails on command."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from omniroute.spokes import registry
from omniroute.spokes.base import (
    AnySpoke,
    Capability,
    Manifest,
    RoutingEvent,
    Spoke,
    SpokeAuthError,
    SpokeError,
    SpokeRejectedError,
    SpokeUnavailableError,
)

KIND = "fake"


class FakeSettings(BaseModel):
    """Settings of the fake spoke: one required field and one secret."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    token: SecretStr | None = None
    fail_setup: bool = False


class FakeProvider:
    """The provider behind every fake spoke of a test: its log and its failures."""

    def __init__(self) -> None:
        self.delivered: list[RoutingEvent] = []
        self.attempts: list[RoutingEvent] = []
        self.failures: list[Callable[[], SpokeError]] = []
        self.down: Callable[[], SpokeError] | None = None
        self.health_error: SpokeError | None = None
        self.gate: asyncio.Event | None = None
        self.hold_after_delivery = False
        self.setup_failures = 0
        self.active: dict[str, int] = defaultdict(int)
        self.max_active = 0
        self.max_active_per_key = 0
        self.started = asyncio.Event()
        self.setups = 0
        self.unloads = 0

    def fail(self, times: int, error: Callable[[], SpokeError]) -> None:
        """Fail the next `times` deliveries with a new error from `error`."""
        self.failures.extend([error] * times)

    def fail_unavailable(self, times: int, retry_after_s: float | None = None) -> None:
        """The provider is overloaded for the next `times` deliveries."""
        self.fail(times, lambda: SpokeUnavailableError("provider down", retry_after_s))

    def fail_auth(self, times: int) -> None:
        """The provider refuses our credentials for the next `times` deliveries."""
        self.fail(times, lambda: SpokeAuthError("token expired"))

    def fail_rejected(self, times: int) -> None:
        """The provider refuses the next `times` requests."""
        self.fail(times, lambda: SpokeRejectedError("unknown queue"))

    def hold(self, *, after_delivery: bool = False) -> None:
        """Make deliveries wait until `release()`, before or after the provider takes them."""
        self.gate = asyncio.Event()
        self.hold_after_delivery = after_delivery

    def release(self) -> None:
        """Let held deliveries go on."""
        if self.gate is not None:
            self.gate.set()
        self.gate = None

    def by_key(self) -> dict[str, list[int]]:
        """Delivered events' seqs (from their payload) per ordering key, in delivery order."""
        out: dict[str, list[int]] = defaultdict(list)
        for ev in self.delivered:
            out[ev.ordering_key].append(int(ev.payload["n"]))
        return dict(out)

    async def deliver(self, event: RoutingEvent) -> None:
        """What a fake spoke's deliver does."""
        self.attempts.append(event)
        self.active[event.ordering_key] += 1
        self.max_active_per_key = max(self.max_active_per_key, self.active[event.ordering_key])
        self.max_active = max(self.max_active, sum(self.active.values()))
        self.started.set()
        try:
            if self.gate is not None and not self.hold_after_delivery:
                await self.gate.wait()
            if self.down is not None:
                raise self.down()
            if self.failures:
                raise self.failures.pop(0)()
            self.delivered.append(event)
            if self.gate is not None and self.hold_after_delivery:
                # The provider has the event but its answer never reaches us.
                await self.gate.wait()
        finally:
            self.active[event.ordering_key] -= 1


class FakeSpoke(Spoke[FakeSettings]):
    """A spoke whose provider is the test's `FakeProvider`."""

    manifest = Manifest(
        name=KIND,
        version="1.0",
        title="Fake provider",
        supports=frozenset({Capability.ROUTING}),
        settings_model=FakeSettings,
    )
    provider: ClassVar[FakeProvider] = FakeProvider()

    async def setup(self) -> None:
        """Fail when told to by the settings."""
        assert isinstance(self.settings, FakeSettings)
        if self.settings.fail_setup:
            raise SpokeUnavailableError("cannot reach the provider")
        if self.provider.setup_failures > 0:
            self.provider.setup_failures -= 1
            raise SpokeUnavailableError("provider starting up")
        self.provider.setups += 1

    async def unload(self) -> None:
        """Count unloads."""
        self.provider.unloads += 1

    async def health(self) -> None:
        """Fail with the provider's health error, if any."""
        if self.provider.health_error is not None:
            raise self.provider.health_error

    async def deliver(self, event: RoutingEvent) -> None:
        """Hand the event to the provider."""
        await self.provider.deliver(event)


def install(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """Register the fake spoke kind for one test; its provider, fresh."""
    provider = FakeProvider()
    monkeypatch.setattr(FakeSpoke, "provider", provider)
    installed = registry.available_spokes

    def with_fake() -> dict[str, type[AnySpoke]]:
        return installed() | {KIND: FakeSpoke}

    monkeypatch.setattr(registry, "available_spokes", with_fake)
    return provider
