"""What an administrator configures for a Pigeon Desk spoke."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr


class PigeonSettings(BaseModel):
    """Pigeon Desk's address and API token; SecretStr keeps the token masked in Omniroute's API."""

    model_config = ConfigDict(extra="forbid")

    base_url: HttpUrl = Field(description="Pigeon Desk's API, e.g. https://acme.pigeondesk.example")
    api_token: SecretStr = Field(min_length=8, description="sent as a Bearer token")
    timeout_s: float = Field(10, gt=0, le=120, description="per request")
