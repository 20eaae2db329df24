"""The core's vocabulary: every command and query the engine accepts, by stable name.

Importing this module registers every handler (`omniroute.core.handlers`), so whoever builds
a message can hand it to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omniroute.core.door import Command, Query
from omniroute.core.views import CapacityView, PresenceView
from omniroute.domain.model import Offer

# -- agents -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentPresence(Query[PresenceView]):
    """An agent's presence and per-channel availability."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class SetPresence(Command[PresenceView]):
    """Set an agent's presence state and/or per-channel availability."""

    agent_id: str
    presence_id: str | None = None
    channel_available: dict[str, bool] | None = None


@dataclass(frozen=True, slots=True)
class AgentCapacity(Query[CapacityView]):
    """An agent's capacity, load and free capacity per channel."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class SetCapacity(Command[CapacityView]):
    """Set capacity overrides per channel (None = the channel default) and, if given, the cap."""

    agent_id: str
    channels: dict[str, int | None] = field(default_factory=dict)
    cap_given: bool = False
    capacity_cap: int | None = None


@dataclass(frozen=True, slots=True)
class AgentOffers(Query[list[Offer]]):
    """An agent's pending offers, oldest first."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class AcceptOffer(Command[Offer]):
    """Accept a pending offer; `agent_id` (when given) must be the agent it was made to."""

    offer_id: str
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class RejectOffer(Command[Offer]):
    """Decline a pending offer with a reason; the item returns to its queue."""

    offer_id: str
    agent_id: str | None = None
    reason_id: str | None = None
    note: str | None = None


from omniroute.core import handlers as _handlers  # noqa: E402, F401 - registers the handlers
