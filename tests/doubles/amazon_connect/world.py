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


def now() -> datetime:
    """The double's clock."""
    return datetime.now(UTC)


def stamp(when: datetime) -> str:
    """Agent event stream timestamps: ISO 8601 in UTC with milliseconds."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class Contact:
    """One task contact."""

    id: str
    name: str
    attributes: dict[str, str]
    queue_id: str | None
    state: str = "QUEUED"
    agent_id: str | None = None
    queued_at: datetime = field(default_factory=now)
    state_at: datetime = field(default_factory=now)
    declined_by: set[str] = field(default_factory=set)


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
                "InitialContactId": None,
                "Channel": "TASK",
                "InitiationMethod": "API",
                "State": c.state,
                "StateStartTimestamp": stamp(c.state_at),
                "ConnectedToAgentTimestamp": stamp(c.state_at) if c.state == "CONNECTED" else None,
                "QueueTimestamp": stamp(c.queued_at),
                "Queue": {"ARN": f"{INSTANCE_ARN}/queue/{c.queue_id}", "Name": c.queue_id},
            }
            for c in self.contacts.values()
            if c.agent_id == user.id and c.state in ("CONNECTING", "CONNECTED")
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
