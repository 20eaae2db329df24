"""What the spoke knows of each call, written through to its spoke store to outlive a restart."""

# A callback reads its call from the store, is parsed against the copy in memory and writes
# what changed, all holding `lock`, so two callbacks of one call cannot interleave and a
# read cannot bring back a value older than one just written. Controls hold it only to read
# and to write, never across their requests to Twilio (whose callbacks need it meanwhile).

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from omniroute.domain.calls import CallKind, CallState
from omniroute.spokes.store import MAX_KEY_CHARS, SpokeStore
from omniroute.spokes.twilio_flex.calls import Call

CALL = "call/"
CALL_SID = "call-sid/"
DIALING = "dialing/"
_NAMES = frozenset(f.name for f in fields(Call))


def encode(call: Call) -> dict[str, Any]:
    """A call as JSON."""
    value = asdict(call)
    value["connected_at"] = call.connected_at.isoformat() if call.connected_at else None
    return value


def decode(value: object) -> Call | None:
    """A stored call, or None when the value is not one (written by another version, say)."""
    if not isinstance(value, dict) or not _NAMES.issuperset(value):
        return None
    try:
        at = value.get("connected_at")
        return Call(
            **value
            | {
                "kind": CallKind(value["kind"]),
                "state": CallState(value["state"]),
                "connected_at": datetime.fromisoformat(at) if isinstance(at, str) else None,
            }
        )
    except (KeyError, TypeError, ValueError):
        return None


def _fits(key: str) -> bool:
    return len(key) <= MAX_KEY_CHARS


class CallBook:
    """Calls by interaction, and the interaction of each CallSid and number being dialled."""

    def __init__(self, store: SpokeStore) -> None:
        self.store = store
        self._calls: dict[str, Call] = {}
        self._sids: dict[str, str] = {}
        self._dialing: dict[str, str] = {}
        self._dirty: set[str] = set()
        self.lock = asyncio.Lock()

    async def load(self) -> None:
        """Read every call and index this spoke stored."""
        for key, value in (await self.store.load_prefix(CALL)).items():
            call = decode(value)
            if call is not None:
                self._calls[key.removeprefix(CALL)] = call
        for prefix, index in ((CALL_SID, self._sids), (DIALING, self._dialing)):
            for key, value in (await self.store.load_prefix(prefix)).items():
                if isinstance(value, str):
                    index[key.removeprefix(prefix)] = value

    def get(self, interaction_id: str) -> Call | None:
        """The call of an interaction, if the spoke knows one."""
        return self._calls.get(interaction_id)

    def put(self, call: Call) -> None:
        """Remember the call as it stands now."""
        self._calls[call.interaction_id] = call
        self._dirty.add(CALL + call.interaction_id)

    def of_sid(self, call_sid: str) -> str | None:
        """The interaction of a CallSid the spoke placed."""
        return self._sids.get(call_sid)

    def of_number(self, number: str) -> str | None:
        """The interaction a number is being dialled for."""
        return self._dialing.get(number)

    def link_sid(self, call_sid: str, interaction_id: str) -> None:
        """Remember which interaction a CallSid belongs to."""
        if _fits(CALL_SID + call_sid) and self._sids.get(call_sid) != interaction_id:
            self._sids[call_sid] = interaction_id
            self._dirty.add(CALL_SID + call_sid)

    def dialing(self, number: str, interaction_id: str) -> None:
        """Remember that a number is dialled for an interaction (its CallSid may come later)."""
        if _fits(DIALING + number) and self._dialing.get(number) != interaction_id:
            self._dialing[number] = interaction_id
            self._dirty.add(DIALING + number)

    async def refresh(
        self,
        interaction_ids: Iterable[str] = (),
        call_sids: Iterable[str] = (),
        numbers: Iterable[str] = (),
    ) -> None:
        """Read these calls and index entries again (another process may have written them).

        Call it holding `lock`.
        """
        ids = set(interaction_ids)
        for prefix, index, names in (
            (CALL_SID, self._sids, call_sids),
            (DIALING, self._dialing, numbers),
        ):
            for name in names:
                value = await self._stored(prefix + name)
                if isinstance(value, str):
                    index[name] = value
                    ids.add(value)
        for interaction_id in ids:
            call = decode(await self._stored(CALL + interaction_id))
            if call is not None:
                self._calls[interaction_id] = call

    async def _stored(self, key: str) -> Any | None:
        # A key changed here and not yet written is newer than the store's.
        if key in self._dirty or not _fits(key):
            return None
        return await self.store.load(key)

    def forget(self, interaction_id: str) -> None:
        """Drop an interaction's call and every index entry pointing at it."""
        if self._calls.pop(interaction_id, None) is not None:
            self._dirty.add(CALL + interaction_id)
        for prefix, index in ((CALL_SID, self._sids), (DIALING, self._dialing)):
            for key in [k for k, v in index.items() if v == interaction_id]:
                del index[key]
                self._dirty.add(prefix + key)

    async def flush(self) -> None:
        """Take `lock` and write what changed."""
        async with self.lock:
            await self.write()

    async def write(self) -> None:
        """Write every changed key (its latest value) to the store, or remove it (hold `lock`)."""
        while self._dirty:
            key = self._dirty.pop()
            value = self._current(key)
            try:
                if value is None:
                    await self.store.remove(key)
                else:
                    await self.store.save(key, value)
            except BaseException:
                self._dirty.add(key)
                raise

    def _current(self, key: str) -> Any | None:
        if key.startswith(CALL_SID):
            return self._sids.get(key.removeprefix(CALL_SID))
        if key.startswith(DIALING):
            return self._dialing.get(key.removeprefix(DIALING))
        call = self._calls.get(key.removeprefix(CALL))
        return encode(call) if call is not None else None
