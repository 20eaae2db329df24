"""Connector panels: the provider's agent panel per spoke, identity and presence from it."""

from __future__ import annotations

from urllib.parse import urlsplit

from omniroute.core import identity
from omniroute.core.routing import set_presence_state
from omniroute.core.state import SpokeConfig, Tx
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError

PROTOCOL_VERSION = 1
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def origin_of(url: str, field: str) -> str:
    """The origin (scheme://host[:port]) of an http(s) URL; HTTPS unless on loopback."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"'{url}' is not an http(s) URL with a host, e.g. https://panel.example.com",
            field,
        )
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"'{url}' must use https (plain http is allowed only on localhost)",
            field,
        )
    port = f":{parts.port}" if parts.port is not None else ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}{port}"


def allowed_origins(panel_url: str, origins: list[str]) -> list[str]:
    """The panel's own origin first, then each other allowed origin once."""
    found = dict.fromkeys([origin_of(panel_url, "panel_url")])
    for n, origin in enumerate(origins):
        clean = origin_of(origin, f"allowed_origins.{n}")
        if clean != origin.strip().rstrip("/"):
            raise DomainError(
                ErrorCode.VALIDATION_ERROR,
                f"'{origin}' is not an origin; give only scheme://host[:port], e.g. {clean}",
                f"allowed_origins.{n}",
            )
        found[clean] = None
    return list(found)


def _spoke(tx: Tx, spoke: str) -> SpokeConfig:
    config = tx.state.spokes.get(spoke)
    if config is None or not config.enabled:
        raise NotFoundError("enabled spoke", spoke, "spoke")
    return config


def link_from_panel(tx: Tx, spoke: str, provider_agent_id: str, agent_id: str) -> str:
    """Link the provider's identity reported by its panel to the signed-in agent."""
    agent = tx.state.agents.get(agent_id)
    if agent is None:
        raise NotFoundError("agent", agent_id, "agent_id")
    _spoke(tx, spoke)
    linked = tx.state.identities.get((spoke, provider_agent_id))
    if linked == agent_id:
        return "already_linked"
    if linked is not None:
        raise DomainError(
            ErrorCode.IDENTITY_CONFLICT,
            f"provider agent '{provider_agent_id}' is linked to another agent; "
            "sign out of the provider's panel and sign in as yourself",
            "provider_agent_id",
        )
    current = tx.state.provider_agent_id(spoke, agent_id)
    if current is not None:
        raise DomainError(
            ErrorCode.IDENTITY_CONFLICT,
            f"agent '{agent_id}' is already linked to provider agent '{current}' at "
            f"spoke '{spoke}'; sign in to the provider's panel as that agent",
            "provider_agent_id",
        )
    identity.link(tx, spoke, provider_agent_id, agent)
    return "linked"


def presence_from_panel(tx: Tx, spoke: str, agent_id: str, state_name: str) -> str:
    """Apply a state the agent chose in the provider's panel; returns our presence id."""
    agent = tx.state.agents.get(agent_id)
    if agent is None:
        raise NotFoundError("agent", agent_id, "agent_id")
    config = _spoke(tx, spoke)
    ours = config.our_state(state_name)
    if ours is None:
        known = ", ".join(sorted(config.presence_map.values())) or "none"
        raise DomainError(
            ErrorCode.VALIDATION_ERROR,
            f"provider state '{state_name}' has no mapping in spoke '{spoke}'s presence map "
            f"(mapped states: {known}); add it to the spoke's presence_map",
            "state_name",
        )
    # The change came from the provider's own panel, so it is not echoed back to that spoke.
    set_presence_state(tx, agent, ours, reason="provider_panel", origin_spoke=spoke)
    return ours
