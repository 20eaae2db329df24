"""Settings from the environment (`OMNIROUTE_*`) and an optional TOML config file."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Self

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

ENV_PREFIX = "OMNIROUTE_"
CONFIG_FILE_ENV = "OMNIROUTE_CONFIG_FILE"
DEMO_SECRET_KEY = "omniroute-demo-secret-key-do-not-use-in-production"  # noqa: S105 public on purpose
MIN_SECRET_KEY_LENGTH = 32
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def config_file_path() -> Path | None:
    """The TOML config file named by `OMNIROUTE_CONFIG_FILE`, if any."""
    value = os.environ.get(CONFIG_FILE_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        msg = f"{CONFIG_FILE_ENV} names {value!r}, which is not a readable file"
        raise FileNotFoundError(msg)
    return path


class StoreSettings(BaseSettings):
    """The settings the store commands need (no secret key required)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./var/omniroute.db"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then environment, then the TOML config file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file_path()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


class Settings(StoreSettings):
    """Everything the server reads at start-up."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    demo: bool = False
    secret_key: SecretStr | None = None
    log_level: str = "info"
    engine_batch_max: int = Field(default=512, ge=1)
    engine_timer_batch: int = Field(default=1000, ge=1, le=1_000_000)
    spoke_store_max_value_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    # Development aid: every engine message and result travels through the wire codec.
    engine_checks: bool = False
    # Session cookies are Secure on HTTPS requests; force it behind a TLS-terminating proxy.
    cookie_secure: bool = False
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    email_enabled: bool = False
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = Field(default=2525, ge=1, le=65535)
    smtp_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    smtp_max_connections: int = Field(default=100, ge=1, le=100_000)
    email_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    email_queue_id: str | None = None
    email_from_address: str = "support@omniroute.localhost"
    smtp_relay_host: str | None = None
    smtp_relay_port: int = Field(default=25, ge=1, le=65535)
    smtp_relay_username: str | None = None
    smtp_relay_password: SecretStr | None = None
    smtp_relay_starttls: bool = False
    smtp_relay_timeout_s: float = Field(default=30.0, gt=0)
    case_form_queue_id: str | None = None
    # Cluster (PostgreSQL only): several nodes on one database, one of them leads.
    node_id: str | None = Field(default=None, max_length=200)
    node_url: str | None = Field(default=None, max_length=500)
    no_engine: bool = False
    lease_s: float = Field(default=3.0, ge=0.5, le=60)
    lease_renew_s: float = Field(default=0.5, gt=0, le=30)
    forward_timeout_s: float = Field(default=15.0, gt=0, le=300)
    idle_tx_timeout_s: float = Field(default=10.0, ge=1, le=3600)
    load_idle_tx_timeout_s: float = Field(default=120.0, ge=1, le=3600)
    change_log_kept_s: float = Field(default=3600.0, ge=60, le=30 * 86_400)
    # The leader's door for forwarded messages (set alike on every node).
    door_max_in_flight: int = Field(default=1024, ge=1, le=1_000_000)
    door_command_timeout_s: float = Field(default=10.0, gt=0, le=300)
    door_body_max_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024, le=1024**3)
    # Old rows (keys, the change log, heartbeats, audit entries) are deleted this many at a time.
    housekeeping_batch: int = Field(default=1000, ge=1, le=1_000_000)
    # Doors: how long and how much the server waits for and takes from one client.
    http_header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    http_body_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    http_keepalive_timeout_s: int = Field(default=5, ge=1, le=3600)
    http_max_connections: int = Field(default=1000, ge=16, le=1_000_000)
    http_max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=16 * 1024 * 1024)
    # Compression costs tens of KB of zlib state per open WebSocket, most of them idle feeds.
    ws_compression: bool = False
    # The largest WebSocket message a client may send (uvicorn's own default is 16 MiB).
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # A peer that leaves a ping unanswered this long after it was sent is gone: close it.
    ws_ping_interval_s: float = Field(default=20.0, gt=0, le=3600)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    body_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    # A retry waits this long for the first request with its Idempotency-Key to finish; a
    # running request's reservation not refreshed for `idempotency_stale_s` was left by a dead node.
    idempotency_wait_s: float = Field(default=15.0, gt=0, le=3600)
    idempotency_stale_s: float = Field(default=10.0, ge=0.1, le=3600)
    public_body_max_bytes: int = Field(default=64 * 1024, ge=1024)
    email_reply_max_bytes: int = Field(default=12 * 1024 * 1024, ge=1024)
    chat_auth_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # Per-client rates, in the `limits` notation ("N/second|minute|hour", "N per M minutes").
    rate_limit_sign_in: str = "30/minute"
    rate_limit_chat_start: str = "20/minute"
    rate_limit_chat_messages: str = "60/minute"
    rate_limit_chat_messages_per_ip: str = "300/minute"
    rate_limit_widget: str = "300/minute"
    rate_limit_case_form: str = "20/minute"
    rate_limit_offline_message: str = "20/minute"
    rate_limit_chat_frames: str = "300/minute"
    rate_limit_feed_frames: str = "60/minute"
    rate_limit_spoke_events: str = "6000/minute"
    # Per API token or browser session, on every authenticated REST request; windows by ";".
    rate_limit_api: str = "2000/second;100000/minute"
    sign_in_max_failures: int = Field(default=5, ge=1, le=1000)
    sign_in_lockout_s: int = Field(default=300, ge=1, le=86_400)
    password_hash_concurrency: int = Field(default=2, ge=1, le=64)
    password_hash_queue: int = Field(default=16, ge=0, le=10_000)
    # Demo mode's catch-all relay: where it listens (None: not started) and keeps what it caught.
    demo_mailbox_port: int | None = Field(default=None, ge=0, le=65535)
    demo_mailbox_dir: str = "./var/demo-mail"
    demo_mailbox_limit: int = Field(default=200, ge=1, le=10000)
    audit_retention_days: int = Field(default=365, ge=1, le=36_500)
    report_retention_days: int = Field(default=90, ge=1, le=3_650)
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024)
    # Comma-separated MIME types; `*` matches any part, as in `image/*`.
    attachment_types: str = (
        "image/*,application/pdf,text/plain,text/csv,application/zip,"
        "application/msword,application/vnd.openxmlformats-officedocument.*"
    )
    search_limit: int = Field(default=50, ge=1, le=1000)
    # Comma-separated addresses or CIDRs of the proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies' addresses and networks (none by default)."""
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError as err:
                    msg = f"{item.strip()!r} is not an address or CIDR (e.g. 10.0.0.5, 10.0.0.0/8)"
                    raise ValueError(msg) from err
        return value

    @property
    def allowed_attachment_types(self) -> list[str]:
        """The attachment type patterns, lower case."""
        return [p.strip().lower() for p in self.attachment_types.split(",") if p.strip()]

    @field_validator(
        "rate_limit_sign_in",
        "rate_limit_chat_start",
        "rate_limit_chat_messages",
        "rate_limit_chat_messages_per_ip",
        "rate_limit_widget",
        "rate_limit_case_form",
        "rate_limit_offline_message",
        "rate_limit_chat_frames",
        "rate_limit_feed_frames",
        "rate_limit_spoke_events",
        "rate_limit_api",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as err:
            msg = (
                f"{value!r} is not a rate; write it like '30/minute', '100 per 5 minutes'"
                " or '10/second;300/minute'"
            )
            raise ValueError(msg) from err
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            msg = f"log_level must be one of {', '.join(LOG_LEVELS)}"
            raise ValueError(msg)
        return level

    @model_validator(mode="after")
    def _check_lease(self) -> Self:
        if self.lease_renew_s * 2 > self.lease_s:
            msg = "lease_renew_s must be at most half of lease_s, or a busy leader loses its lease"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _check_idempotency(self) -> Self:
        if self.idempotency_wait_s <= self.idempotency_stale_s:
            msg = (
                "idempotency_wait_s must be above idempotency_stale_s, or a retry never takes "
                "over a request its dead node left running"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _check_secret_key(self) -> Self:
        if self.secret_key is None:
            if self.demo:
                self.secret_key = SecretStr(DEMO_SECRET_KEY)
                return self
            msg = (
                "secret_key is required outside demo mode: set OMNIROUTE_SECRET_KEY to a random "
                f"string of at least {MIN_SECRET_KEY_LENGTH} characters "
                '(for example: python -c "import secrets; print(secrets.token_urlsafe(32))"), '
                "or run in demo mode with OMNIROUTE_DEMO=1"
            )
            raise ValueError(msg)
        if self.demo:
            return self
        key = self.secret_key.get_secret_value()
        if key == DEMO_SECRET_KEY:
            msg = "secret_key is the public demo key; set OMNIROUTE_SECRET_KEY to your own"
            raise ValueError(msg)
        if len(key) < MIN_SECRET_KEY_LENGTH:
            msg = f"secret_key must be at least {MIN_SECRET_KEY_LENGTH} characters long"
            raise ValueError(msg)
        return self


def browse_host(host: str) -> str:
    """The address to reach a server bound to `host` (the loopback for a wildcard)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - compared, not bound


def ensure_sqlite_dir(url: str) -> None:
    """Create the parent directory of a SQLite file database URL; other URLs are left alone."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
