"""One handler per command and query: each binds a message of the vocabulary to a use case."""

from __future__ import annotations

import copy
from typing import Any

from omniroute.core import (
    agents,
    call_controls,
    cases,
    chat,
    connector_panels,
    documents,
    email,
    live,
    provider_events,
    routing,
    transfers,
    work_offers,
)
from omniroute.core import messages as m
from omniroute.core.documents import NewDocument
from omniroute.core.door import handles
from omniroute.core.email import Filed
from omniroute.core.live import LiveQueue, LiveView
from omniroute.core.rows import ChatMessage
from omniroute.core.state import Tx
from omniroute.core.views import (
    CapacityView,
    ChatStarted,
    ControlSent,
    DirectoryEntry,
    DocumentCreated,
    FeedHello,
    PresenceView,
    capacity_view,
    document_created,
    presence_view,
)
from omniroute.core.work_offers import WorkOfferResult
from omniroute.domain.errors import DomainError, ErrorCode
from omniroute.domain.model import DocumentType, Offer

# -- agents -------------------------------------------------------------------------------


@handles(m.AgentPresence)
def _agent_presence(tx: Tx, q: m.AgentPresence) -> PresenceView:
    return presence_view(tx, agents.get_agent(tx, q.agent_id))


@handles(m.SetPresence)
def _set_presence(tx: Tx, c: m.SetPresence) -> PresenceView:
    agent = agents.set_presence(tx, c.agent_id, c.presence_id, c.channel_available)
    return presence_view(tx, agent)


@handles(m.SetAgentDisabled)
def _set_agent_disabled(tx: Tx, c: m.SetAgentDisabled) -> PresenceView:
    return presence_view(tx, agents.set_disabled(tx, c.agent_id, disabled=c.disabled))


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


@handles(m.FeedSnapshot)
def _feed_snapshot(tx: Tx, q: m.FeedSnapshot) -> FeedHello:
    agent = agents.get_agent(tx, q.agent_id)
    offers = [copy.copy(o) for o in tx.state.offers.values() if o.agent_id == agent.id]
    return FeedHello(
        agent_id=agent.id,
        seq=tx.state.next_seq - 1,
        presence_id=agent.presence_id,
        channel_available=dict(agent.channel_available),
        load=dict(agent.load),
        offers=offers,
    )


@handles(m.Directory)
def _directory(tx: Tx, _q: m.Directory) -> list[DirectoryEntry]:
    config = tx.state.config
    entries = []
    for agent in sorted(tx.state.agents.values(), key=lambda a: a.name.lower()):
        presence = config.presence.get(agent.presence_id)
        entries.append(
            DirectoryEntry(
                id=agent.id,
                name=agent.name,
                presence_id=agent.presence_id,
                presence_name=presence.name if presence is not None else agent.presence_id,
                available_on=[
                    c for c in sorted(config.channels) if tx.state.index.is_routable(agent.id, c)
                ],
                load={k: v for k, v in agent.load.items() if v},
            )
        )
    return entries


@handles(m.QueueDepths)
def _queue_depths(tx: Tx, _q: m.QueueDepths) -> list[LiveQueue]:
    return live.queues(tx)


@handles(m.LiveOverview)
def _live_overview(tx: Tx, _q: m.LiveOverview) -> LiveView:
    return live.snapshot(tx)


# -- documents ----------------------------------------------------------------------------


def _create(tx: Tx, kind: DocumentType, c: m.CreateInteraction | m.CreateCase) -> DocumentCreated:
    doc, _ = documents.create_document(tx, NewDocument(kind, c.channel_id, dict(c.fields), c.route))
    return document_created(tx, doc)


@handles(m.CreateInteraction)
def _create_interaction(tx: Tx, c: m.CreateInteraction) -> DocumentCreated:
    return _create(tx, DocumentType.INTERACTION, c)


@handles(m.CreateCase)
def _create_case(tx: Tx, c: m.CreateCase) -> DocumentCreated:
    return _create(tx, DocumentType.CASE, c)


@handles(m.RouteDocument)
def _route_document(tx: Tx, c: m.RouteDocument) -> str:
    if c.holder_agent_id is not None:
        doc = tx.state.documents.get(c.document_id)
        if doc is None or doc.agent_id != c.holder_agent_id:
            raise DomainError(ErrorCode.FORBIDDEN, "an agent may only transfer work assigned to it")
    return documents.route_document(tx, c.document_id, c.route).id


@handles(m.EndInteraction)
def _end_interaction(tx: Tx, c: m.EndInteraction) -> None:
    documents.end_interaction(tx, c.interaction_id, c.agent_id, c.wrap_up_code_id, c.notes)


@handles(m.SubmitWrapUp)
def _submit_wrap_up(tx: Tx, c: m.SubmitWrapUp) -> None:
    documents.submit_wrap_up(tx, c.interaction_id, c.agent_id, c.wrap_up_code_id, c.notes)


@handles(m.CloseCase)
def _close_case(tx: Tx, c: m.CloseCase) -> None:
    documents.close_case(tx, c.case_id, c.agent_id, c.resolution, c.wrap_up_code_id)


@handles(m.UpdateCase)
def _update_case(tx: Tx, c: m.UpdateCase) -> None:
    cases.update_case(tx, c.case_id, c.agent_id, c.status, c.priority)


@handles(m.FileCaseForm)
def _file_case_form(tx: Tx, c: m.FileCaseForm) -> DocumentCreated:
    doc = cases.file_case(tx, c.fields, c.queue_id, c.idempotency_key, c.request_hash)
    return document_created(tx, doc)


@handles(m.FileEmail)
def _file_email(tx: Tx, c: m.FileEmail) -> Filed:
    return email.file_message(tx, c.email, c.thread, c.queue_id)


# -- external routing ---------------------------------------------------------------------


@handles(m.SubmitWorkOffer)
def _submit_work_offer(tx: Tx, c: m.SubmitWorkOffer) -> WorkOfferResult:
    return work_offers.offer_work(tx, c.request)


@handles(m.StartTransfer)
def _start_transfer(tx: Tx, c: m.StartTransfer) -> str:
    return transfers.start_transfer(tx, c.request).id


@handles(m.CancelTransfer)
def _cancel_transfer(tx: Tx, c: m.CancelTransfer) -> str:
    return transfers.cancel_transfer(tx, c.document_id, c.agent_id).id


@handles(m.CompleteConsult)
def _complete_consult(tx: Tx, c: m.CompleteConsult) -> str:
    return transfers.complete_consult(tx, c.document_id, c.agent_id).id


@handles(m.ApplyInboundEvents)
def _apply_inbound_events(tx: Tx, c: m.ApplyInboundEvents) -> list[dict[str, Any]]:
    return provider_events.apply_events(tx, c.spoke, c.events)


@handles(m.InvokeCallControl)
def _invoke_call_control(tx: Tx, c: m.InvokeCallControl) -> ControlSent:
    event_id, spoke = call_controls.invoke(tx, c.request)
    return ControlSent(event_id, spoke)


@handles(m.LinkPanelIdentity)
def _link_panel_identity(tx: Tx, c: m.LinkPanelIdentity) -> str:
    return connector_panels.link_from_panel(tx, c.spoke, c.provider_agent_id, c.agent_id)


@handles(m.SetPanelPresence)
def _set_panel_presence(tx: Tx, c: m.SetPanelPresence) -> str:
    return connector_panels.presence_from_panel(tx, c.spoke, c.agent_id, c.state_name)


# -- chat ---------------------------------------------------------------------------------


@handles(m.StartChat)
def _start_chat(tx: Tx, c: m.StartChat) -> ChatStarted:
    doc, message = chat.start_chat(tx, c.chat)
    return ChatStarted(doc.id, message)


@handles(m.PostChatMessage)
def _post_chat_message(tx: Tx, c: m.PostChatMessage) -> ChatMessage:
    return chat.agent_message(tx, c.interaction_id, c.agent_id, c.body, c.attachments)


@handles(m.PostCustomerMessage)
def _post_customer_message(tx: Tx, c: m.PostCustomerMessage) -> ChatMessage:
    return chat.customer_message(tx, c.interaction_id, c.body, c.client_id, c.attachments)


@handles(m.CustomerTyping)
def _customer_typing(tx: Tx, c: m.CustomerTyping) -> None:
    chat.customer_typing(tx, c.interaction_id)


@handles(m.CustomerEndsChat)
def _customer_ends_chat(tx: Tx, c: m.CustomerEndsChat) -> None:
    chat.customer_ends(tx, c.interaction_id)


@handles(m.AnnounceNote)
def _announce_note(tx: Tx, c: m.AnnounceNote) -> None:
    doc = tx.state.documents.get(c.note.document_id)
    if doc is not None and doc.agent_id is not None and doc.agent_id != c.note.author_agent_id:
        tx.emit(doc.agent_id, c.note)


@handles(m.MarkChatDelivered)
def _mark_chat_delivered(tx: Tx, c: m.MarkChatDelivered) -> None:
    chat.delivered(tx, c.interaction_id, list(c.message_ids), c.at)
