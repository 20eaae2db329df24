"""The profile-sync settings every spoke with the `profile.sync` capability offers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omniroute.domain.profile import ProfileField


class ProfileSyncSettings(BaseModel):
    """Whether and what to bring from the provider's agent profile into ours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="sync at sign-in and on the schedule")
    fields: frozenset[ProfileField] = Field(
        frozenset(ProfileField),
        description="what the sync may change: name, email, skills, groups, capacity",
    )
    interval_s: int = Field(
        900,
        ge=0,
        le=86_400 * 7,
        description="seconds between scheduled syncs of each linked agent; 0: at sign-in only",
    )


def profile_settings(settings: BaseModel) -> ProfileSyncSettings:
    """A spoke's profile-sync settings (the defaults when its settings have none)."""
    value = getattr(settings, "profile_sync", None)
    return value if isinstance(value, ProfileSyncSettings) else ProfileSyncSettings()
