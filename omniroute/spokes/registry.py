"""Discover spoke classes through the `omniroute.spokes` entry-point group, once each."""

from __future__ import annotations

import inspect
import logging
import threading
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from omniroute.spokes.base import AnySpoke, Spoke

GROUP = "omniroute.spokes"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpokeKind:
    """One entry point of the group: the spoke class it gave, or why it gave none."""

    name: str
    target: str
    distribution: str | None
    cls: type[AnySpoke] | None = None
    error: str | None = None


_lock = threading.Lock()
_kinds: list[SpokeKind] | None = None


def _load(ep: EntryPoint) -> SpokeKind:
    dist = ep.dist.name if ep.dist is not None else None
    try:
        cls = ep.load()
    except Exception as err:  # noqa: BLE001 - a broken third-party package must not stop us
        return SpokeKind(ep.name, ep.value, dist, error=f"{type(err).__name__}: {err}")
    if not (isinstance(cls, type) and issubclass(cls, Spoke)):
        return SpokeKind(ep.name, ep.value, dist, error=f"{ep.value} is not a Spoke class")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        error = f"{ep.value} is abstract: it does not implement {missing}"
        return SpokeKind(ep.name, ep.value, dist, error=error)
    if not hasattr(cls, "manifest"):
        error = f"{ep.value} has no manifest: subclass Spoke[Settings] beside a manifest.json"
        return SpokeKind(ep.name, ep.value, dist, error=error)
    return SpokeKind(cls.manifest.name, ep.value, dist, cls=cls)


def discover() -> list[SpokeKind]:
    """Every entry point of the group, each loaded on its own the first time only."""
    global _kinds
    with _lock:
        if _kinds is None:
            found: list[SpokeKind] = []
            taken: dict[str, str] = {}
            for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
                kind = _load(ep)
                if kind.cls is not None and kind.name in taken:
                    error = f"spoke kind '{kind.name}' is already provided by {taken[kind.name]}"
                    kind = SpokeKind(ep.name, ep.value, kind.distribution, error=error)
                if kind.cls is not None:
                    taken[kind.name] = kind.target
                else:
                    log.warning("spoke entry point '%s' is broken: %s", ep.name, kind.error)
                found.append(kind)
            _kinds = found
        return list(_kinds)


def refresh() -> None:
    """Forget what was loaded, so the next lookup reads the entry points again."""
    global _kinds
    with _lock:
        _kinds = None


def broken_spokes() -> list[SpokeKind]:
    """The entry points that did not give a usable spoke class, with their errors."""
    return [k for k in discover() if k.cls is None]


def available_spokes() -> dict[str, type[AnySpoke]]:
    """Every installed, working spoke class by its manifest name."""
    return {k.name: k.cls for k in discover() if k.cls is not None}


def spoke_class(kind: str) -> type[AnySpoke]:
    """The spoke class of a kind, or KeyError naming the installed ones (or why it is broken)."""
    spokes = available_spokes()
    if kind in spokes:
        return spokes[kind]
    broken = next((k for k in broken_spokes() if k.name == kind), None)
    if broken is not None:
        msg = f"spoke kind '{kind}' is installed but broken: {broken.error}"
        raise KeyError(msg)
    installed = ", ".join(sorted(spokes)) or "none"
    msg = f"no spoke of kind '{kind}' is installed (installed: {installed})"
    raise KeyError(msg)
