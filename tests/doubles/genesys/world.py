"""The double's organization: users, queues, skills, wrap-up codes and presence definitions."""

from __future__ import annotations

from typing import Any

SYSTEM_PRESENCES = ["Available", "Away", "Busy", "Offline", "Idle", "On Queue", "Meal", "Break"]
PRESENCE_IDS = {name: f"pd-{name.lower().replace(' ', '-')}" for name in SYSTEM_PRESENCES}
ON_QUEUE = "On Queue"
CLIENT_ID = "double-client-id"
CLIENT_SECRET = "double-client-secret-0123456789"
INTEGRATION_ID = "om-integration-1"
CREATED = "2026-01-05T09:00:00.000Z"


def users() -> list[dict[str, Any]]:
    """Three agents; their emails match the seeded Omniroute agents."""
    return [
        {
            "id": f"gc-user-{name}",
            "name": name.title(),
            "email": f"{name}@demo.omniroute.local",
            "state": "active",
            "username": f"{name}@demo.omniroute.local",
            "version": 1,
            "selfUri": f"/api/v2/users/gc-user-{name}",
        }
        for name in ("alice", "bob", "carol")
    ]


def queues() -> list[dict[str, Any]]:
    """Three queues; every user is a member of each."""
    return [
        {
            "id": f"gc-queue-{key}",
            "name": name,
            "description": f"{name} chats",
            "dateCreated": CREATED,
            "memberCount": 3,
            "selfUri": f"/api/v2/routing/queues/gc-queue-{key}",
        }
        for key, name in (("general", "General"), ("billing", "Billing"), ("sales", "Sales"))
    ]


def skills() -> list[dict[str, Any]]:
    """Four routing skills."""
    return [
        {
            "id": f"gc-skill-{name}",
            "name": name.title(),
            "state": "active",
            "version": "1",
            "dateModified": CREATED,
            "selfUri": f"/api/v2/routing/skills/gc-skill-{name}",
        }
        for name in ("english", "french", "billing", "tech")
    ]


def wrap_up_codes() -> list[dict[str, Any]]:
    """Three organization wrap-up codes."""
    return [
        {
            "id": f"gc-wrap-{key}",
            "name": name,
            "dateCreated": CREATED,
            "selfUri": f"/api/v2/routing/wrapupcodes/gc-wrap-{key}",
        }
        for key, name in (("resolved", "Resolved"), ("callback", "Call back"), ("spam", "Spam"))
    ]


# Sales has no members: work sent there waits, as in an empty Genesys queue.
QUEUE_MEMBERS = {
    "gc-queue-general": {"gc-user-alice", "gc-user-bob", "gc-user-carol"},
    "gc-queue-billing": {"gc-user-alice", "gc-user-bob", "gc-user-carol"},
    "gc-queue-sales": set(),
}

# Billing's call and callback media settings answer alerts without the agent's click.
AUTO_ANSWER_QUEUES = frozenset({"gc-queue-billing"})

QUEUE_WRAP_UPS = {
    "gc-queue-general": ["gc-wrap-resolved", "gc-wrap-callback"],
    "gc-queue-billing": ["gc-wrap-resolved"],
    "gc-queue-sales": [],
}


def presence_definitions() -> list[dict[str, Any]]:
    """One organization definition per system presence."""
    return [
        {
            "id": PRESENCE_IDS[name],
            "name": name,
            "type": "System",
            "languageLabels": {"en_US": name},
            "systemPresence": name.replace(" ", ""),
            "deactivated": False,
            "selfUri": f"/api/v2/presence/definitions/{PRESENCE_IDS[name]}",
        }
        for name in SYSTEM_PRESENCES
    ]


def user_skills() -> dict[str, list[dict[str, Any]]]:
    """Each user's routing skills (UserRoutingSkill), proficiency 0-5."""

    def skill(name: str, proficiency: float) -> dict[str, Any]:
        return {
            "id": f"gc-skill-{name}",
            "name": name.title(),
            "proficiency": proficiency,
            "state": "active",
            "skillUri": f"/api/v2/routing/skills/gc-skill-{name}",
            "selfUri": f"/api/v2/users/gc-user/routingskills/gc-skill-{name}",
        }

    return {
        "gc-user-alice": [skill("english", 5.0), skill("billing", 3.0)],
        "gc-user-bob": [skill("english", 4.0), skill("french", 2.0)],
        "gc-user-carol": [skill("tech", 4.0)],
    }


def user_utilization() -> dict[str, dict[str, int]]:
    """Each user's maximum capacity per Genesys media type."""
    return {uid: {"message": 3, "email": 2, "call": 1} for uid in (u["id"] for u in users())}
