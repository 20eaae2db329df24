"""Settings of an Amazon Connect spoke: the instance, its flows, the relay's secret."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator

from omniroute.spokes.profile import ProfileSyncSettings

MIN_SECRET_LENGTH = 32


class ConnectSettings(BaseModel):
    """One Amazon Connect spoke's settings; AWS credentials come from the standard chain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str = Field(min_length=1, max_length=64, description="the instance's AWS region")
    instance_id: str = Field(
        min_length=1, max_length=100, description="the Amazon Connect instance id"
    )
    task_flow_id: str = Field(
        min_length=1, max_length=500, description="the flow each new task starts in"
    )
    queue_transfer_flow_id: str = Field(
        min_length=1, max_length=500, description="a 'Transfer to queue' flow for queue transfers"
    )
    agent_transfer_flow_id: str = Field(
        min_length=1, max_length=500, description="a 'Transfer to agent' flow for agent transfers"
    )
    relay_secret: SecretStr = Field(
        description="the HMAC-SHA256 secret the agent-event relay signs with, 32+ characters",
        json_schema_extra={"minLength": MIN_SECRET_LENGTH},
    )
    endpoint_url: HttpUrl | None = Field(
        None, description="another Connect API endpoint (a VPC endpoint or a test double)"
    )
    offer_timeout_s: int | None = Field(
        30, gt=0, le=3600, description="seconds an agent has to answer an offer; null: no limit"
    )
    timeout_s: float = Field(10, gt=0, le=300, description="per API call attempt")
    max_attempts: int = Field(
        5, ge=1, le=20, description="attempts per API call in all, throttling retried with backoff"
    )
    tolerance_s: int = Field(
        300, ge=1, le=3600, description="largest clock difference accepted on relay requests"
    )
    profile_sync: ProfileSyncSettings = Field(
        default_factory=ProfileSyncSettings,
        description="bring each linked user's name, routing profile, queues and proficiencies in",
    )

    @field_validator("relay_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            msg = f"the relay secret must be at least {MIN_SECRET_LENGTH} characters"
            raise ValueError(msg)
        return value
