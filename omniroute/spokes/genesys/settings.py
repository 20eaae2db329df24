"""Settings of a Genesys Cloud spoke: region, OAuth client, integration and mappings."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

from omniroute.spokes.profile import ProfileSyncSettings

MIN_SECRET_LENGTH = 32
REGION = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class GenesysSettings(BaseModel):
    """One Genesys Cloud organization; one document holds credentials and every mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(
        "mypurecloud.com",
        description="the organization's region domain, e.g. mypurecloud.de or usw2.pure.cloud",
    )
    client_id: str = Field(min_length=1, description="OAuth client (client credentials grant)")
    client_secret: SecretStr = Field(description="the OAuth client's secret")
    integration_id: str = Field(
        min_length=1, description="the Open Messaging integration new interactions enter through"
    )
    inbound_secret: SecretStr = Field(
        description="shared secret Genesys sends in X-Omniroute-Secret, at least 32 characters",
        json_schema_extra={"minLength": MIN_SECRET_LENGTH},
    )
    presence_definitions: dict[str, str] = Field(
        default_factory=dict,
        description="provider state name -> Genesys presence definition id (overrides the "
        "match by system presence or label)",
    )
    fallback_presence: str | None = Field(
        None,
        description="Genesys state name used for a provider state that matches no definition",
    )
    queues: dict[str, str] = Field(
        default_factory=dict,
        description="Omniroute queue id -> Genesys queue id, for transfers to internal queues",
    )
    callback_channels: list[str] = Field(
        default_factory=lambda: ["callback"],
        description="our channels whose interactions become Genesys callbacks "
        "(POST /api/v2/conversations/callbacks) instead of Open Messaging conversations",
    )
    api_base_url: HttpUrl | None = Field(None, description="overrides https://api.{region}")
    login_base_url: HttpUrl | None = Field(None, description="overrides https://login.{region}")
    page_size: int = Field(100, ge=1, le=500, description="entities per catalog page")
    timeout_s: float = Field(10, gt=0, le=300, description="per request, connect to last byte")
    profile_sync: ProfileSyncSettings = Field(
        default_factory=ProfileSyncSettings,
        description="bring each linked user's name, skills, queues and utilization in",
    )

    @field_validator("region")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not REGION.match(value):
            msg = "region must be a domain such as mypurecloud.com or mypurecloud.ie"
            raise ValueError(msg)
        return value

    @field_validator("inbound_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            msg = f"the inbound secret must be at least {MIN_SECRET_LENGTH} characters"
            raise ValueError(msg)
        return value

    @property
    def api_url(self) -> str:
        """Where the Platform API answers."""
        base = str(self.api_base_url) if self.api_base_url else f"https://api.{self.region}"
        return base.rstrip("/")

    @property
    def login_url(self) -> str:
        """Where OAuth tokens are issued."""
        base = str(self.login_base_url) if self.login_base_url else f"https://login.{self.region}"
        return base.rstrip("/")
