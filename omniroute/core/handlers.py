"""One handler per command and query: each binds a message of the vocabulary to a use case."""

from __future__ import annotations

import copy

from omniroute.core import messages as m
from omniroute.core.door import handles
from omniroute.core.state import Tx
from omniroute.core.views import CapacityView, PresenceView, capacity_view, presence_view
from omniroute.domain.model import Offer
from omniroute.services import agents, routing

# -- agents -------------------------------------------------------------------------------


@handles(m.AgentPresence)
def _agent_presence(tx: Tx, q: m.AgentPresence) -> PresenceView:
    return presence_view(tx, agents.get_agent(tx, q.agent_id))


@handles(m.SetPresence)
def _set_presence(tx: Tx, c: m.SetPresence) -> PresenceView:
    agent = agents.set_presence(tx, c.agent_id, c.presence_id, c.channel_available)
    return presence_view(tx, agent)


@handles(m.AgentCapacity)
def _agent_capacity(tx: Tx, q: m.AgentCapacity) -> CapacityView:
    return capacity_view(tx, agents.get_agent(tx, q.agent_id))


@handles(m.SetCapacity)
def _set_capacity(tx: Tx, c: m.SetCapacity) -> CapacityView:
    agent = agents.set_capacity(
        tx, c.agent_id, c.channels, cap_given=c.cap_given, capacity_cap=c.capacity_cap
    )
    return capacity_view(tx, agent)


@handles(m.AgentOffers)
def _agent_offers(tx: Tx, q: m.AgentOffers) -> list[Offer]:
    agents.get_agent(tx, q.agent_id)
    offers = [o for o in tx.state.offers.values() if o.agent_id == q.agent_id]
    return [copy.copy(o) for o in sorted(offers, key=lambda o: o.created_at)]


@handles(m.AcceptOffer)
def _accept_offer(tx: Tx, c: m.AcceptOffer) -> Offer:
    return copy.copy(routing.accept_offer(tx, c.offer_id, c.agent_id))


@handles(m.RejectOffer)
def _reject_offer(tx: Tx, c: m.RejectOffer) -> Offer:
    offer = routing.reject_offer(tx, c.offer_id, c.agent_id, c.reason_id, c.note)
    return copy.copy(offer)
