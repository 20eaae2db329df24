"""An agent's profile as a provider describes it, and how a sync merges it into ours."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

MAX_LEVEL = 10


class ProfileField(StrEnum):
    """What a profile sync may bring in; each can be switched off per spoke or locked per agent."""

    NAME = "name"
    EMAIL = "email"
    SKILLS = "skills"
    GROUPS = "groups"
    CAPACITY = "capacity"


ALL_FIELDS = frozenset(ProfileField)


@dataclass(frozen=True, slots=True)
class ProfileSkill:
    """A skill the provider gives the agent, with the provider's id, name and our level."""

    provider_id: str
    name: str
    level: int = 1


@dataclass(frozen=True, slots=True)
class ProfileGroup:
    """A queue or group the provider puts the agent in."""

    provider_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """What the provider says about one of its agents."""

    provider_agent_id: str
    name: str | None = None
    email: str | None = None
    skills: tuple[ProfileSkill, ...] = ()
    groups: tuple[ProfileGroup, ...] = ()
    # Our channel id -> the number of such items the provider lets the agent hold at once.
    capacity: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentLinks:
    """The part of our agent a sync may change."""

    name: str
    email: str
    skills: Mapping[str, int]
    groups: frozenset[str]
    capacity: Mapping[str, int | None]


@dataclass(frozen=True, slots=True)
class Synced:
    """What an earlier sync from this spoke set, so the next one removes only its own."""

    skills: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    capacity: frozenset[str] = frozenset()


def clamp_level(level: float) -> int:
    """A provider's level as ours: a whole number from 1 to MAX_LEVEL."""
    if math.isnan(level):
        return 1
    return max(1, min(MAX_LEVEL, round(level)))


def merge(
    current: AgentLinks,
    before: Synced,
    *,
    skills: Mapping[str, int],
    groups: frozenset[str],
    profile: ProviderProfile,
    fields: frozenset[ProfileField],
) -> tuple[AgentLinks, Synced]:
    """Our agent after the sync, and what this sync now owns.

    `skills` and `groups` are the provider's, already mapped to our ids. Only fields in `fields`
    (allowed by the spoke and not locked for the agent) change; skills, groups and channel
    capacities that an administrator gave by hand (not set by an earlier sync) are kept.
    """
    name = current.name
    if ProfileField.NAME in fields and profile.name and profile.name.strip():
        name = profile.name.strip()
    email = current.email
    if ProfileField.EMAIL in fields and profile.email and profile.email.strip():
        email = profile.email.strip().lower()
    new_skills = dict(current.skills)
    owned_skills = before.skills
    if ProfileField.SKILLS in fields:
        for skill_id in before.skills - skills.keys():
            new_skills.pop(skill_id, None)
        new_skills |= skills
        owned_skills = frozenset(skills)
    new_groups = current.groups
    owned_groups = before.groups
    if ProfileField.GROUPS in fields:
        new_groups = (current.groups - (before.groups - groups)) | groups
        owned_groups = groups
    capacity = dict(current.capacity)
    owned_capacity = before.capacity
    if ProfileField.CAPACITY in fields:
        for channel_id in before.capacity - profile.capacity.keys():
            capacity[channel_id] = None
        capacity |= profile.capacity
        owned_capacity = frozenset(profile.capacity)
    after = AgentLinks(name, email, new_skills, frozenset(new_groups), capacity)
    return after, Synced(owned_skills, owned_groups, owned_capacity)
