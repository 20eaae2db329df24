"""A Genesys Cloud user's profile: user, routing skills, queues and utilization."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError

from omniroute.domain.profile import ProfileGroup, ProfileSkill, ProviderProfile, clamp_level
from omniroute.spokes.base import SpokeRejectedError
from omniroute.spokes.genesys.client import GenesysClient

# Genesys media types -> our channel ids; a media type with no channel here is not synced.
MEDIA_CHANNELS = {"message": "chat", "chat": "chat", "email": "email", "call": "voice"}
MEDIA_CHANNELS |= {"callback": "callback"}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _User(_Lenient):
    id: str
    name: str | None = None
    email: str | None = None
    state: str | None = None


class _Skill(_Lenient):
    id: str
    name: str = ""
    proficiency: float = 1.0
    state: str = "active"


class _Queue(_Lenient):
    id: str
    name: str = ""


class _Media(_Lenient):
    maximumCapacity: int | None = None  # noqa: N815 - the API's name


class _Utilization(_Lenient):
    utilization: dict[str, _Media] = {}


def _parse(model: type[_Lenient], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        msg = f"Genesys {what}: unexpected answer: {err.errors()[0]['msg']}"
        raise SpokeRejectedError(msg) from err


async def fetch(api: GenesysClient, user_id: str) -> ProviderProfile:
    """The user's profile: GET users/{id}, its routingskills, queues and routing utilization."""
    uid = quote(user_id, safe="")
    user: _User = _parse(_User, await api.call("GET", f"/api/v2/users/{uid}"), "user")
    skills = [
        _parse(_Skill, s, "routing skill")
        async for s in api.pages(f"/api/v2/users/{uid}/routingskills")
    ]
    queues = [_parse(_Queue, q, "queue") async for q in api.pages(f"/api/v2/users/{uid}/queues")]
    raw = await api.call("GET", f"/api/v2/routing/users/{uid}/utilization")
    utilization: _Utilization = _parse(_Utilization, raw, "utilization")
    capacity: dict[str, int] = {}
    for media, settings in utilization.utilization.items():
        channel = MEDIA_CHANNELS.get(media)
        if channel is not None and settings.maximumCapacity is not None:
            # Several media may share a channel (message and chat): the larger wins.
            capacity[channel] = max(capacity.get(channel, 0), min(settings.maximumCapacity, 10_000))
    return ProviderProfile(
        provider_agent_id=user.id,
        name=user.name,
        email=user.email,
        skills=tuple(
            ProfileSkill(s.id, s.name or s.id, clamp_level(s.proficiency))
            for s in skills
            if s.state == "active"
        ),
        groups=tuple(ProfileGroup(q.id, q.name or q.id) for q in queues),
        capacity=capacity,
    )
