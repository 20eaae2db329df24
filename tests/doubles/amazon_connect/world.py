"""The double's Amazon Connect instance: users, statuses, queues, task contacts, a router."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-2"
INSTANCE_ID = "11111111-2222-3333-4444-555555555555"
INSTANCE_ARN = f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE_ID}"
STATUSES = {"st-available": "Available", "st-offline": "Offline", "st-break": "Break"}
ROUTABLE = "st-available"
WITH_AGENT = ("CONNECTING", "CONNECTED", "CONNECTED_ONHOLD")


def now() -> datetime:
    """The double's clock."""
    return datetime.now(UTC)


def stamp(when: datetime) -> str:
    """Agent event stream timestamps: ISO 8601 in UTC with milliseconds."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class Contact:
    """One task contact, or a voice contact (a call, or a queued callback)."""

    id: str
    name: str
    attributes: dict[str, str]
    queue_id: str | None
    state: str = "QUEUED"
    channel: str = "TASK"
    initiation_method: str = "API"
    customer_number: str | None = None
    initial_id: str | None = None
    agent_id: str | None = None
    queued_at: datetime = field(default_factory=now)
    state_at: datetime = field(default_factory=now)
    declined_by: set[str] = field(default_factory=set)
    connected_at: datetime | None = None


@dataclass
class User:
    """One agent."""

    id: str
    username: str
    first_name: str
    last_name: str
    status_id: str = "st-offline"
    logged_in: bool = False
    routing_profile_id: str = "rp-general"
    # (attribute name, attribute value) -> level 1.0-5.0, as ListUserProficiencies gives them.
    proficiencies: dict[tuple[str, str], float] = field(default_factory=dict)
    # The user's VOICE auto-accept, and the one for agent-first callbacks.
    voice_auto_accept: bool = False
    callback_auto_accept: bool = False

    def auto_accepts(self, contact: Contact) -> bool:
        """Whether Connect connects this contact to the user without the softphone's click."""
        if contact.channel != "VOICE":
            return False
        if contact.initiation_method == "CALLBACK":
            return self.callback_auto_accept
        return self.voice_auto_accept


@dataclass
class World:
    """Everything the double knows, and the agent events it owes the relay."""

    users: dict[str, User]
    queues: dict[str, str]
    routing_profiles: dict[str, str]
    contacts: dict[str, Contact] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    # Routing profile id -> (channel -> concurrency) and the queues it serves.
    media: dict[str, dict[str, int]] = field(default_factory=dict)
    profile_queues: dict[str, list[str]] = field(default_factory=dict)

    def snapshot(self, user: User) -> dict[str, Any]:
        """An agent snapshot as the agent event stream has it."""
        contacts = [
            {
                "ContactId": c.id,
                "InitialContactId": c.initial_id,
                "Channel": c.channel,
                "InitiationMethod": c.initiation_method,
                "State": c.state,
                "StateStartTimestamp": stamp(c.state_at),
                "ConnectedToAgentTimestamp": stamp(c.connected_at) if c.connected_at else None,
                "QueueTimestamp": stamp(c.queued_at),
                "Queue": {"ARN": f"{INSTANCE_ARN}/queue/{c.queue_id}", "Name": c.queue_id},
            }
            for c in self.contacts.values()
            if c.agent_id == user.id and c.state in WITH_AGENT
        ]
        return {
            "AgentStatus": {
                "ARN": f"{INSTANCE_ARN}/agent-state/{user.status_id}",
                "Name": STATUSES[user.status_id],
                "StartTimestamp": stamp(now()),
                "Type": "ROUTABLE" if user.status_id == ROUTABLE else "OFFLINE",
            },
            "NextAgentStatus": None,
            "Configuration": {
                "AgentHierarchyGroups": None,
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "Username": user.username,
                "RoutingProfile": {"ARN": f"{INSTANCE_ARN}/routing-profile/rp-general"},
            },
            "Contacts": contacts,
        }

    def change(self, user: User, event_type: str, before: dict[str, Any] | None) -> None:
        """Queue an agent event for the relay."""
        self.outbox.append(
            {
                "AWSAccountId": ACCOUNT,
                "AgentARN": f"{INSTANCE_ARN}/agent/{user.id}",
                "CurrentAgentSnapshot": self.snapshot(user),
                "EventId": str(uuid.uuid4()),
                "EventTimestamp": stamp(now()),
                "EventType": event_type,
                "InstanceARN": INSTANCE_ARN,
                "PreviousAgentSnapshot": before,
                "Version": "2019-05-25",
            }
        )

    def set_contact(
        self, contact: Contact, state: str, agent_id: str | None, *, queued: bool = False
    ) -> None:
        """Move a contact, and tell the relay about each agent whose snapshot changed."""
        touched = {a for a in (contact.agent_id, agent_id) if a is not None}
        before = {a: self.snapshot(self.users[a]) for a in touched}
        contact.state = state
        contact.agent_id = agent_id
        contact.state_at = now()
        if state == "CONNECTED" and contact.connected_at is None:
            contact.connected_at = contact.state_at
        if queued or state == "QUEUED":
            contact.queued_at = now()
        for a in sorted(touched):
            self.change(self.users[a], "STATE_CHANGE", before[a])

    def route(self) -> None:
        """Offer each queued contact to a free available agent who has not declined it."""
        for contact in self.contacts.values():
            if contact.state != "QUEUED":
                continue
            busy = {c.agent_id for c in self.contacts.values() if c.state != "ENDED"}
            free = [
                u
                for u in self.users.values()
                if u.logged_in
                and u.status_id == ROUTABLE
                and u.id not in busy
                and u.id not in contact.declined_by
            ]
            if free:
                self.set_contact(contact, "CONNECTING", free[0].id)
                if free[0].auto_accepts(contact):
                    self.set_contact(contact, "CONNECTED", free[0].id)
