"""Settings of a Twilio Flex spoke: credentials, workspace, workflow and callback URL."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from omniroute.spokes.profile import ProfileSyncSettings


def _sid(prefix: str) -> str:
    return rf"^{prefix}[0-9a-fA-F]{{32}}$"


class TwilioFlexSettings(BaseModel):
    """One Twilio Flex spoke's settings; the auth token also verifies TaskRouter's callbacks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_sid: str = Field(pattern=_sid("AC"), description="the Twilio account SID (AC...)")
    auth_token: SecretStr = Field(
        description="the account's auth token: Twilio signs callbacks with it",
        min_length=16,
    )
    api_key_sid: str | None = Field(
        None,
        pattern=_sid("SK"),
        description="an API key SID (SK...) for REST calls instead of the auth token",
    )
    api_key_secret: SecretStr | None = Field(None, description="the API key's secret")
    workspace_sid: str = Field(
        pattern=_sid("WS"), description="the TaskRouter workspace SID (WS...)"
    )
    workflow_sid: str = Field(
        pattern=_sid("WW"), description="the workflow new tasks and transfers enter (WW...)"
    )
    callback_url: HttpUrl = Field(
        description=(
            "the public URL of POST /api/v1/spokes/{name}/events exactly as Twilio calls it; "
            "signatures are computed over it"
        )
    )
    task_channels: dict[str, str] = Field(
        default_factory=dict,
        description="our channel id to a TaskRouter task channel unique name; others use 'default'",
    )
    task_timeout_s: int = Field(
        86400, ge=1, le=2_592_000, description="how long a task may live in TaskRouter"
    )
    reservation_timeout_s: float = Field(
        120,
        gt=0,
        le=86400,
        description="the workflow's TaskReservationTimeout: how long an agent has to answer",
    )
    timeout_s: float = Field(10, gt=0, le=300, description="per request to Twilio")
    taskrouter_base_url: HttpUrl | None = Field(
        None,
        description="replaces https://taskrouter.twilio.com (tests and proxies only)",
    )
    caller_id: str | None = Field(
        None,
        pattern=r"^(\+[1-9][0-9]{6,14}|client:[\w.@-]{1,120})$",
        description=(
            "the Twilio number (E.164) calls to customers and transfers come from; without it "
            "the spoke offers no dial, retry_callback or transfer"
        ),
    )
    voice_channels: list[str] = Field(
        default_factory=lambda: ["voice", "callback"],
        description="our channels whose tasks are calls: they get call context and controls",
    )
    api_base_url: HttpUrl | None = Field(
        None,
        description="replaces https://api.twilio.com, the Voice API (tests and proxies only)",
    )
    profile_sync: ProfileSyncSettings = Field(
        default_factory=ProfileSyncSettings,
        description="bring each linked worker's name, skills, levels, queues and channels in",
    )

    @model_validator(mode="after")
    def _key_pair(self) -> Self:
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            msg = "set api_key_sid and api_key_secret together, or neither"
            raise ValueError(msg)
        return self
