"""Settings of a webhook spoke: where events go, the shared secret, where the catalog is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

from omniroute.spokes.profile import ProfileSyncSettings

MIN_SECRET_LENGTH = 32


class WebhookSettings(BaseModel):
    """One webhook spoke's settings; `secret` signs requests both ways."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl = Field(description="where routing events are POSTed")
    secret: SecretStr = Field(
        description="the shared HMAC-SHA256 secret, at least 32 characters",
        json_schema_extra={"minLength": MIN_SECRET_LENGTH},
    )
    catalog_url: HttpUrl | None = Field(
        None,
        description="base URL of GET /skills, /queues, /wrap-up-codes, /agents and /health",
    )
    timeout_s: float = Field(10, gt=0, le=300, description="per request, connect to last byte")
    tolerance_s: int = Field(
        300, ge=1, le=3600, description="largest clock difference accepted on inbound requests"
    )
    profile_sync: ProfileSyncSettings = Field(
        default_factory=ProfileSyncSettings,
        description="read linked agents' profiles from {catalog_url}/agents/{id}/profile",
    )

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            msg = f"the secret must be at least {MIN_SECRET_LENGTH} characters"
            raise ValueError(msg)
        return value
