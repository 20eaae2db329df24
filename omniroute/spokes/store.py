"""A spoke's own persistent data: JSON values by key, namespaced per spoke instance."""

# Modelled on Home Assistant's `Store`: a spoke keeps what it must remember (id maps,
# cursors, tokens) without tables or migrations of its own.

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

MAX_KEY_CHARS = 200
MAX_VALUE_BYTES = 256 * 1024

Migrator = Callable[[int, Any], Awaitable[Any]]


class SpokeStoreError(ValueError):
    """A key or value the spoke store cannot keep."""


def check_key(key: str) -> str:
    """The key itself, or SpokeStoreError when it is empty or too long."""
    if not key or len(key) > MAX_KEY_CHARS:
        msg = f"a spoke store key has 1 to {MAX_KEY_CHARS} characters, not {len(key)}"
        raise SpokeStoreError(msg)
    return key


def encoded(data: Any, limit: int = MAX_VALUE_BYTES) -> str:
    """The JSON text of a value, or SpokeStoreError when it is not JSON or over `limit` bytes."""
    try:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        msg = f"a spoke store value must be JSON: {err}"
        raise SpokeStoreError(msg) from err
    if len(text.encode()) > limit:
        msg = f"a spoke store value is limited to {limit} bytes of JSON"
        raise SpokeStoreError(msg)
    return text


class SpokeStore(ABC):
    """The JSON values of one spoke instance, each under a key with a version."""

    def __init__(self, spoke: str, max_value_bytes: int = MAX_VALUE_BYTES) -> None:
        self.spoke = spoke
        self.max_value_bytes = max_value_bytes

    @abstractmethod
    async def read(self, key: str) -> tuple[int, Any] | None:
        """The (version, value) stored under a key, or None."""

    @abstractmethod
    async def write(self, key: str, version: int, data: Any) -> None:
        """Store a value under a key, replacing the previous one."""

    @abstractmethod
    async def remove(self, key: str) -> None:
        """Forget a key (a missing key is fine)."""

    @abstractmethod
    async def read_prefix(self, prefix: str) -> dict[str, tuple[int, Any]]:
        """Every key starting with `prefix`, with its version and value."""

    def key(self, key: str, version: int = 1, migrate: Migrator | None = None) -> Store:
        """A handle on one key: `await handle.load()`, `await handle.save(data)`."""
        return Store(self, check_key(key), version, migrate)

    async def load(self, key: str) -> Any | None:
        """The value under a key, or None."""
        found = await self.read(check_key(key))
        return None if found is None else found[1]

    async def save(self, key: str, data: Any) -> None:
        """Store a value (JSON: dicts, lists, strings, numbers, booleans, None) under a key."""
        await self.write(check_key(key), 1, data)

    async def load_prefix(self, prefix: str) -> dict[str, Any]:
        """Every value whose key starts with `prefix`, by key."""
        return {k: v for k, (_, v) in (await self.read_prefix(prefix)).items()}


class Store:
    """One key of a spoke store with a version; older data goes through `migrate` on load."""

    def __init__(self, store: SpokeStore, key: str, version: int, migrate: Migrator | None) -> None:
        self.store = store
        self.name = key
        self.version = version
        self.migrate = migrate

    async def load(self) -> Any | None:
        """The value, migrated to this version when stored by an older one; None if none."""
        found = await self.store.read(self.name)
        if found is None:
            return None
        version, data = found
        if version == self.version:
            return data
        if version > self.version or self.migrate is None:
            msg = (
                f"spoke '{self.store.spoke}' key '{self.name}' holds version {version}; "
                f"this code reads version {self.version}"
                + ("" if version > self.version else " and gave no migrate function")
            )
            raise SpokeStoreError(msg)
        migrated = await self.migrate(version, data)
        await self.save(migrated)
        return migrated

    async def save(self, data: Any) -> None:
        """Store the value under this key and version."""
        await self.store.write(self.name, self.version, data)

    async def remove(self) -> None:
        """Forget the value."""
        await self.store.remove(self.name)


class MemorySpokeStore(SpokeStore):
    """A spoke store in this process only: for tests and tools that keep nothing."""

    def __init__(self, spoke: str = "memory") -> None:
        super().__init__(spoke)
        self.values: dict[str, tuple[int, str]] = {}

    async def read(self, key: str) -> tuple[int, Any] | None:
        """The (version, value) under a key, or None."""
        found = self.values.get(key)
        return None if found is None else (found[0], json.loads(found[1]))

    async def write(self, key: str, version: int, data: Any) -> None:
        """Keep a copy of the value, as the database would."""
        self.values[check_key(key)] = (version, encoded(copy.deepcopy(data), self.max_value_bytes))

    async def remove(self, key: str) -> None:
        """Forget a key."""
        self.values.pop(key, None)

    async def read_prefix(self, prefix: str) -> dict[str, tuple[int, Any]]:
        """Every key starting with `prefix`."""
        return {
            k: (v, json.loads(text))
            for k, (v, text) in sorted(self.values.items())
            if k.startswith(prefix)
        }
