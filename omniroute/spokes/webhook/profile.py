"""The webhook protocol's agent profile: `GET {catalog_url}/agents/{id}/profile`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omniroute.domain.profile import ProfileGroup, ProfileSkill, ProviderProfile

PROFILE_PATH = "agents/{id}/profile"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileSkillIn(_Strict):
    """A skill the platform gives the agent."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    level: int = Field(1, ge=1, le=10)


class ProfileGroupIn(_Strict):
    """A queue or group the platform puts the agent in."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)


class AgentProfileIn(_Strict):
    """The platform's profile of one agent."""

    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320)
    skills: list[ProfileSkillIn] = Field(default_factory=list, max_length=1000)
    groups: list[ProfileGroupIn] = Field(default_factory=list, max_length=1000)
    capacity: dict[str, int] = Field(
        default_factory=dict, description="our channel id -> how many items at once (0-10,000)"
    )

    def profile(self) -> ProviderProfile:
        """As the core's provider profile."""
        return ProviderProfile(
            provider_agent_id=self.id,
            name=self.name,
            email=self.email,
            skills=tuple(ProfileSkill(s.id, s.name, s.level) for s in self.skills),
            groups=tuple(ProfileGroup(g.id, g.name) for g in self.groups),
            capacity={k: max(0, min(v, 10_000)) for k, v in self.capacity.items()},
        )
