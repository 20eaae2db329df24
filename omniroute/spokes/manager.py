"""The configured spokes of this process: validated, set up, looked up by name, reloaded."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.engine.clock import Clock, SystemClock
from omniroute.spokes import registry
from omniroute.spokes.base import AnySpoke
from omniroute.spokes.store import MAX_VALUE_BYTES
from omniroute.store import tables as t
from omniroute.store.db import Database
from omniroute.store.spoke_data import DatabaseSpokeStore

log = logging.getLogger(__name__)


# The same set-up incident again within this time (another node, a retry) is not recorded.
INCIDENT_REPEAT = timedelta(minutes=10)


class SpokeStatus(StrEnum):
    """Where a configured spoke stands in this process."""

    LOADED = "loaded"
    DISABLED = "disabled"
    INVALID = "invalid"
    FAILED = "failed"


@dataclass
class _Slot:
    name: str
    kind: str
    status: SpokeStatus
    spoke: AnySpoke | None = None
    error: str | None = None
    cls: type[AnySpoke] | None = None
    settings: BaseModel | None = None
    failed_at: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def settings_errors(err: ValidationError, prefix: str = "settings") -> list[tuple[str, str]]:
    """(field, message) pairs of a settings validation error, never echoing the input."""
    out: list[tuple[str, str]] = []
    for e in err.errors(include_input=False, include_url=False):
        field_name = ".".join([prefix, *(str(p) for p in e["loc"])])
        out.append((field_name, e["msg"]))
    return out


class SpokeManager:
    """Owns one spoke instance per enabled configured spoke."""

    def __init__(
        self,
        db: Database,
        clock: Clock | None = None,
        *,
        setup_timeout_s: float = 30.0,
        setup_retry_s: float = 5.0,
        refused_secrets: frozenset[str] = frozenset(),
        store_max_value_bytes: int = MAX_VALUE_BYTES,
    ) -> None:
        self.db = db
        self.store_max_value_bytes = store_max_value_bytes
        # Published secrets (the demo's): a spoke configured with one is not loaded.
        self.refused_secrets = refused_secrets
        self.clock: Clock = clock or SystemClock()
        self.setup_timeout_s = setup_timeout_s
        self.setup_retry_s = setup_retry_s
        self._slots: dict[str, _Slot] = {}
        self._reload_locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Load every configured spoke; a bad one is reported and left unloaded."""
        async with self.db.session() as session:
            rows = (await session.scalars(select(t.SpokeRow).order_by(t.SpokeRow.name))).all()
        slots = await asyncio.gather(*(self._load(row) for row in rows))
        self._slots = {slot.name: slot for slot in slots}

    async def stop(self) -> None:
        """Unload every spoke."""
        slots, self._slots = list(self._slots.values()), {}
        await asyncio.gather(*(self._unload(slot) for slot in slots))

    def names(self) -> list[str]:
        """The spokes this manager knows, loaded or not."""
        return sorted(self._slots)

    def status(self, name: str) -> tuple[SpokeStatus, str | None] | None:
        """A spoke's status and, when not loaded, why; None when unknown."""
        slot = self._slots.get(name)
        return None if slot is None else (slot.status, slot.error)

    def get(self, name: str) -> AnySpoke:
        """The loaded spoke of that name."""
        slot = self._slots.get(name)
        if slot is None:
            raise NotFoundError("spoke", name)
        if slot.spoke is None or slot.status is not SpokeStatus.LOADED:
            reason = f": {slot.error}" if slot.error else ""
            raise DomainError(
                ErrorCode.SPOKE_UNAVAILABLE, f"spoke '{name}' is {slot.status.value}{reason}"
            )
        return slot.spoke

    async def ready(self, name: str) -> AnySpoke:
        """The loaded spoke, loading a row made elsewhere or retrying a failed set-up first."""
        slot = self._slots.get(name)
        if slot is None:
            # Another process (the CLI, a second API worker) may have created it.
            await self.reload(name)
            return self.get(name)
        if slot.status is SpokeStatus.FAILED:
            await self._retry_setup(slot)
        return self.get(name)

    async def reload(self, name: str) -> None:
        """Unload one spoke and load it again from its stored configuration."""
        lock = self._reload_locks.setdefault(name, asyncio.Lock())
        async with lock:
            old = self._slots.pop(name, None)
            if old is not None:
                await self._unload(old)
            async with self.db.session() as session:
                row = await session.get(t.SpokeRow, name)
            if row is not None:
                self._slots[name] = await self._load(row)

    # -- loading ----------------------------------------------------------------------

    async def _load(self, row: t.SpokeRow) -> _Slot:
        if not row.enabled:
            return _Slot(row.name, row.kind, SpokeStatus.DISABLED)
        if any(isinstance(v, str) and v in self.refused_secrets for v in row.settings.values()):
            message = (
                "its secret is the public demo secret, trusted only in demo mode; "
                "set a secret of your own (or run 'omniroute demo-data --remove')"
            )
            log.warning("spoke '%s' not loaded: %s", row.name, message)
            return _Slot(row.name, row.kind, SpokeStatus.INVALID, error=message)
        try:
            cls = registry.spoke_class(row.kind)
        except KeyError as err:
            message = str(err.args[0])
            await self._incident(row.name, "unknown_kind", message, {"kind": row.kind})
            return _Slot(row.name, row.kind, SpokeStatus.INVALID, error=message)
        except Exception as err:  # noqa: BLE001 - a broken third-party package must not stop us
            message = f"spoke kind '{row.kind}' could not be loaded: {err}"
            await self._incident(row.name, "unknown_kind", message, {"kind": row.kind})
            return _Slot(row.name, row.kind, SpokeStatus.INVALID, error=message)
        try:
            settings = cls.manifest.settings_model.model_validate(row.settings)
        except ValidationError as err:
            problems = settings_errors(err)
            message = "invalid settings: " + "; ".join(f"{f}: {m}" for f, m in problems)
            details: dict[str, Any] = {
                "kind": row.kind,
                "errors": [{"field": f, "message": m} for f, m in problems],
            }
            await self._incident(row.name, "invalid_settings", message, details)
            return _Slot(row.name, row.kind, SpokeStatus.INVALID, error=message)
        slot = _Slot(row.name, row.kind, SpokeStatus.FAILED, cls=cls, settings=settings)
        error = await self._setup(slot)
        if error is not None:
            await self._incident(row.name, "setup_failed", error, {"kind": row.kind})
        return slot

    async def _setup(self, slot: _Slot) -> str | None:
        assert slot.cls is not None
        assert slot.settings is not None
        try:
            store = DatabaseSpokeStore(self.db, slot.name, self.store_max_value_bytes)
            spoke = slot.cls(slot.name, slot.settings, store)
            await asyncio.wait_for(spoke.setup(), self.setup_timeout_s)
        except Exception as err:  # noqa: BLE001 - reported; the server keeps running
            slot.status = SpokeStatus.FAILED
            slot.error = f"set-up failed: {type(err).__name__}: {err}"
            slot.failed_at = self.clock.now()
            log.warning("spoke '%s' %s", slot.name, slot.error)
            return slot.error
        slot.spoke = spoke
        slot.status = SpokeStatus.LOADED
        slot.error = None
        return None

    async def _retry_setup(self, slot: _Slot) -> None:
        async with slot.lock:
            if slot.status is not SpokeStatus.FAILED or slot.failed_at is None:
                return
            if (self.clock.now() - slot.failed_at).total_seconds() < self.setup_retry_s:
                return
            await self._setup(slot)

    async def _unload(self, slot: _Slot) -> None:
        spoke, slot.spoke = slot.spoke, None
        if spoke is None:
            return
        try:
            await spoke.unload()
        except Exception:
            log.exception("spoke '%s' failed to unload", slot.name)

    async def _incident(self, spoke: str, kind: str, message: str, details: dict[str, Any]) -> None:
        now = self.clock.now()
        i = t.SpokeIncidentRow
        try:
            async with self.db.session() as session, session.begin():
                # Every node of a cluster loads the same spokes: one incident says it for all.
                same = await session.scalar(
                    select(i.id)
                    .where(
                        i.spoke == spoke,
                        i.kind == kind,
                        i.message == message,
                        i.created_at > now - INCIDENT_REPEAT,
                    )
                    .limit(1)
                )
                if same is not None:
                    log.warning("spoke '%s': %s (reported already)", spoke, message)
                    return
                session.add(
                    t.SpokeIncidentRow(
                        id=uuid.uuid4().hex,
                        spoke=spoke,
                        kind=kind,
                        message=message,
                        details=details,
                        created_at=now,
                    )
                )
        except Exception:
            log.exception("could not record incident for spoke '%s': %s", spoke, message)
