"""Discover spoke classes through the `omniroute.spokes` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points

from omniroute.spokes.base import Spoke

GROUP = "omniroute.spokes"


def available_spokes() -> dict[str, type[Spoke]]:
    """Every installed spoke class by its manifest name."""
    found: dict[str, type[Spoke]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Spoke)):
            msg = f"entry point '{ep.name}' in {GROUP} is not a Spoke class"
            raise TypeError(msg)
        found[cls.manifest.name] = cls
    return found


def spoke_class(kind: str) -> type[Spoke]:
    """The spoke class of a kind, or KeyError naming the installed ones."""
    spokes = available_spokes()
    if kind not in spokes:
        installed = ", ".join(sorted(spokes)) or "none"
        msg = f"no spoke of kind '{kind}' is installed (installed: {installed})"
        raise KeyError(msg)
    return spokes[kind]
