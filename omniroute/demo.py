"""Demo data: a small contact centre to try Omniroute with, loaded once."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from omniroute.auth_tokens import hash_token, new_token
from omniroute.store import tables as t
from omniroute.store.db import Database

# Dave leads the team: he may open the supervisor view as well as his workspace.
SUPERVISORS = frozenset({"dave"})
DEMO_PASSWORD = "demo"  # noqa: S105 public on purpose: the demo agents' sign-in password
DEMO_EMAIL_DOMAIN = "demo.omniroute.local"
ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 public on purpose: fixed demo credentials
INTEGRATION_TOKEN = "demo-integration-token"  # noqa: S105 public on purpose
# The shared secret between Omniroute's demo webhook spoke and the simulator.
SIM_SECRET = "demo-simulator-webhook-secret-not-for-production"  # noqa: S105 public on purpose
SIM_SPOKE = "sim"
SIM_PORT = 8090
# Arbitrary constant naming the demo-loading lock in PostgreSQL.
DEMO_LOCK_KEY = 0x6F6D6E69_64656D6F
# Demo mode's email: new mail goes to this queue; replies are caught by a relay on this port.
DEMO_EMAIL_QUEUE = "billing-email"
DEMO_MAILBOX_PORT = 2526


def agent_token(agent_id: str) -> str:
    """The fixed demo token of a demo agent."""
    return f"demo-agent-{agent_id}-token"


@dataclass(frozen=True, slots=True)
class DemoAgent:
    """A demo agent and where it can work."""

    id: str
    name: str
    email: str
    skills: dict[str, int]
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoToken:
    """An API token created for the demo."""

    name: str
    role: str
    agent_id: str | None
    token: str


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the demo holds: its agents and the API tokens that are known."""

    loaded: bool
    agents: tuple[DemoAgent, ...]
    tokens: tuple[DemoToken, ...]
    password: str = DEMO_PASSWORD


def _skill(
    skill_id: str, min_level: int, *, mandatory: bool = True, widen_after_s: int | None = None
) -> dict[str, Any]:
    return {
        "skill_id": skill_id,
        "min_level": min_level,
        "mandatory": mandatory,
        "widen_after_s": widen_after_s,
    }


def _agent(agent_id: str, skills: dict[str, int], groups: Sequence[str]) -> DemoAgent:
    return DemoAgent(
        id=agent_id,
        name=agent_id.title(),
        email=f"{agent_id}@{DEMO_EMAIL_DOMAIN}",
        skills=skills,
        groups=tuple(groups),
    )


AGENTS = (
    _agent("alice", {"english": 5, "french": 4, "billing": 3}, ["tier1"]),
    _agent("bob", {"english": 4, "technical": 3}, ["tier1"]),
    _agent("carol", {"english": 3, "french": 2, "billing": 5}, ["tier2"]),
    _agent("dave", {"english": 2, "technical": 5, "billing": 1}, ["tier2"]),
)

# Per-channel overrides that show the capacity and availability model in the demo.
AGENT_CHANNELS: tuple[tuple[str, str, int | None, bool], ...] = (
    ("bob", "chat", 2, True),
    ("dave", "email", None, False),
)
AGENT_CAPACITY_CAPS = {"carol": 6}


def _fixed_tokens() -> list[DemoToken]:
    tokens = [
        DemoToken("Demo admin", "admin", None, ADMIN_TOKEN),
        DemoToken("Demo integration", "integration", None, INTEGRATION_TOKEN),
    ]
    tokens += [DemoToken(f"{a.name} (agent)", "agent", a.id, agent_token(a.id)) for a in AGENTS]
    return tokens


def _random_tokens() -> list[DemoToken]:
    return [DemoToken(d.name, d.role, d.agent_id, new_token()) for d in _fixed_tokens()]


def _token_id(token: DemoToken) -> str:
    return f"demo-{token.agent_id}" if token.agent_id else f"demo-{token.role}"


def _catalog(now: datetime) -> list[list[Any]]:
    """Configuration rows, in groups that each only refer to earlier groups."""
    return [
        [
            t.ChannelRow(id="chat", name="Chat", default_capacity=3),
            t.ChannelRow(id="email", name="Email", default_capacity=5),
            t.ChannelRow(id="case", name="Case", default_capacity=5),
            t.ChannelRow(id="voice", name="Voice", default_capacity=1),
            t.ChannelRow(id="callback", name="Callback", default_capacity=1),
            t.PresenceStateRow(id="available", name="Available", is_available=True),
            t.PresenceStateRow(id="away", name="Away", is_available=False),
            t.PresenceStateRow(id="offline", name="Offline", is_available=False),
            t.PresenceStateRow(id="lunch", name="Lunch", is_available=False),
            t.SkillRow(id="english", name="English", description="Speaks English"),
            t.SkillRow(id="french", name="French", description="Speaks French"),
            t.SkillRow(id="billing", name="Billing", description="Invoices, refunds, payments"),
            t.SkillRow(id="technical", name="Technical", description="Product troubleshooting"),
            t.GroupRow(id="tier1", name="Tier 1"),
            t.GroupRow(id="tier2", name="Tier 2"),
            t.WrapUpCodeRow(id="resolved", name="Resolved", description="Issue resolved"),
            t.WrapUpCodeRow(
                id="follow-up",
                name="Follow-up",
                description="Needs a follow-up",
                time_limit_s=120,
            ),
            t.WrapUpCodeRow(id="escalated", name="Escalated", description="Handed on"),
        ],
        [
            t.RuleRow(
                id="standard",
                name="Standard",
                strategy="most_capacity",
                offer_timeout_s=30,
                allowed_to_decline=True,
                auto_accept=False,
                presence_after_timeout="away",
                reassign_on_timeout=False,
                primary_group_id="tier1",
                overflow_group_id="tier2",
                overflow_after_s=60,
            ),
            t.RuleRow(
                id="voice-rule",
                name="Voice",
                strategy="longest_idle",
                offer_timeout_s=20,
                allowed_to_decline=False,
                auto_accept=False,
                # An unanswered call means the agent is not at the phone: stop offering calls.
                presence_after_timeout="away",
                reassign_on_timeout=False,
            ),
            t.RejectReasonRow(id="busy", name="Busy", reassignable=True),
            t.RejectReasonRow(id="wrong-skill", name="Wrong skill", reassignable=False),
            t.RejectReasonRow(
                id="not-my-queue", name="Not my queue", channel_id="email", reassignable=False
            ),
        ],
        [
            t.QueueRow(
                id="support-chat",
                name="Support chat",
                channels=["chat"],
                priority=10,
                rule_id="standard",
                skills=[_skill("english", 1)],
            ),
            t.QueueRow(
                id="billing-email",
                name="Billing email",
                channels=["email"],
                priority=20,
                rule_id="standard",
                skills=[
                    _skill("billing", 2),
                    _skill("french", 1, mandatory=False, widen_after_s=120),
                ],
            ),
            t.QueueRow(
                id="cases", name="Cases", channels=["case"], priority=100, rule_id="standard"
            ),
            t.QueueRow(
                id="voice",
                name="Voice",
                channels=["voice", "callback"],
                priority=5,
                rule_id="voice-rule",
            ),
        ],
        [
            t.SpokeRow(
                name=SIM_SPOKE,
                kind="webhook",
                settings={
                    "url": f"http://127.0.0.1:{SIM_PORT}/webhook",
                    "catalog_url": f"http://127.0.0.1:{SIM_PORT}/catalog",
                    "secret": SIM_SECRET,
                },
                presence_map={
                    "available": "On Queue",
                    "away": "Away",
                    "offline": "Offline",
                    "lunch": "Break",
                },
                allow_provisioning=False,
                enabled=True,
                created_at=now,
                updated_at=now,
            ),
        ],
        [
            # Routed by the contact-center simulator: its routing picks the agent.
            t.QueueRow(
                id="sim-chat",
                name="Simulator chat (external)",
                channels=["chat"],
                priority=10,
                rule_id="standard",
                routing_mode="external",
                spoke=SIM_SPOKE,
                provider_queue_id="sim-queue-general",
            ),
            # Voice calls and callbacks the simulator starts (POST /sim/calls) and controls.
            t.QueueRow(
                id="sim-voice",
                name="Simulator voice (external)",
                channels=["voice", "callback"],
                priority=5,
                rule_id="voice-rule",
                routing_mode="external",
                spoke=SIM_SPOKE,
                provider_queue_id="sim-queue-general",
            ),
            # The simulator's agent panel in the workspace's connector panel.
            t.SpokePanelRow(
                spoke=SIM_SPOKE,
                panel_url=f"http://127.0.0.1:{SIM_PORT}/panel",
                allowed_origins=[f"http://127.0.0.1:{SIM_PORT}"],
                title="Contact center (simulator)",
                enabled=True,
                updated_at=now,
            ),
        ],
    ]


def _agent_rows(now: datetime, password_hashes: Sequence[str]) -> list[list[Any]]:
    agents = [
        t.AgentRow(
            id=a.id,
            name=a.name,
            email=a.email,
            presence_id="offline",
            presence_since=now,
            capacity_cap=AGENT_CAPACITY_CAPS.get(a.id),
            allow_external=True,
            password_hash=password_hash,
            supervisor=a.id in SUPERVISORS,
            created_at=now,
        )
        for a, password_hash in zip(AGENTS, password_hashes, strict=True)
    ]
    details: list[Any] = [
        t.AgentSkillRow(agent_id=a.id, skill_id=skill, level=level)
        for a in AGENTS
        for skill, level in a.skills.items()
    ]
    details += [t.AgentGroupRow(agent_id=a.id, group_id=g) for a in AGENTS for g in a.groups]
    details += [
        t.AgentChannelRow(
            agent_id=agent, channel_id=channel, capacity=capacity, available=available
        )
        for agent, channel, capacity, available in AGENT_CHANNELS
    ]
    return [agents, details]


def _token_rows(now: datetime, tokens: Sequence[DemoToken]) -> list[t.ApiTokenRow]:
    return [
        t.ApiTokenRow(
            id=_token_id(token),
            name=token.name,
            token_hash=hash_token(token.token),
            role=token.role,
            agent_id=token.agent_id,
            created_at=now,
        )
        for token in tokens
    ]


def _hash_passwords(count: int) -> list[str]:
    hasher = PasswordHasher()
    return [hasher.hash(DEMO_PASSWORD) for _ in range(count)]


async def _known_tokens(db: Database, tokens: Sequence[DemoToken]) -> tuple[DemoToken, ...]:
    """The tokens among these whose digest the store holds."""
    digests = {hash_token(token.token) for token in tokens}
    async with db.session() as session:
        stored = set(
            await session.scalars(
                select(t.ApiTokenRow.token_hash).where(t.ApiTokenRow.token_hash.in_(digests))
            )
        )
    return tuple(token for token in tokens if hash_token(token.token) in stored)


async def load_demo_data(db: Database, *, fixed_tokens: bool = True) -> DemoInfo:
    """Load the demo configuration, agents and tokens unless channel 'chat' already exists."""
    async with db.session() as session:
        exists = await session.get(t.ChannelRow, "chat") is not None
    if exists:
        await ensure_demo_widget(db)
        known = await _known_tokens(db, _fixed_tokens()) if fixed_tokens else ()
        return DemoInfo(loaded=False, agents=AGENTS, tokens=known)

    loaded = True
    tokens = _fixed_tokens() if fixed_tokens else _random_tokens()
    # Argon2 is deliberately slow; keep the event loop free while it runs.
    password_hashes = await asyncio.to_thread(_hash_passwords, len(AGENTS))
    now = datetime.now(UTC)
    groups = [*_catalog(now), *_agent_rows(now, password_hashes), _token_rows(now, tokens)]
    async with db.session() as session, session.begin():
        await _demo_lock(db, session)
        if await session.get(t.ChannelRow, "chat") is not None:
            loaded = False
        if loaded:
            for rows in groups:
                session.add_all(rows)
                await session.flush()
    await ensure_demo_widget(db)
    if not loaded:
        known = await _known_tokens(db, _fixed_tokens()) if fixed_tokens else ()
        return DemoInfo(loaded=False, agents=AGENTS, tokens=known)
    return DemoInfo(loaded=True, agents=AGENTS, tokens=tuple(tokens))


DEMO_WIDGET = "demo"
DEMO_WIDGET_QUEUE = "support-chat"


def is_demo_widget(row: t.ChatWidgetRow) -> bool:
    """Whether a widget is the one the demo data made (a widget of your own may reuse the id)."""
    return row.id == DEMO_WIDGET and row.queue_id == DEMO_WIDGET_QUEUE


async def _demo_lock(db: Database, session: AsyncSession) -> None:
    """Nodes started at once with --demo: one loads, the others wait and find it loaded."""
    if db.dialect == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DEMO_LOCK_KEY})


async def ensure_demo_widget(db: Database) -> None:
    """Add the demo chat widget on the support chat queue (also to older demo databases)."""
    async with db.session() as session, session.begin():
        await _demo_lock(db, session)
        if await session.get(t.ChatWidgetRow, DEMO_WIDGET) is not None:
            return
        if await session.get(t.QueueRow, DEMO_WIDGET_QUEUE) is None:
            return
        now = datetime.now(UTC)
        session.add(
            t.ChatWidgetRow(
                id=DEMO_WIDGET,
                title="Northwind Outfitters",
                greeting="Hi! Questions about an order, sizes or returns? We are here to help.",
                queue_id=DEMO_WIDGET_QUEUE,
                allowed_origins=[],
                color="#1f6f5c",
                enabled=True,
                created_at=now,
                updated_at=now,
            )
        )


# -- demo credentials outside demo mode ----------------------------------------------------

# Secrets the demo publishes; outside demo mode nothing signed with them is trusted.
DEMO_SECRETS = frozenset({SIM_SECRET})
REMOVE_COMMAND = "omniroute demo-data --remove"


def _is_demo_password(password_hash: str | None) -> bool:
    if password_hash is None:
        return False
    try:
        return bool(PasswordHasher().verify(password_hash, DEMO_PASSWORD))
    except (VerificationError, InvalidHashError):
        return False


def uses_demo_secret(settings: dict[str, Any]) -> bool:
    """Whether a spoke's stored settings hold a published demo secret."""
    return any(isinstance(v, str) and v in DEMO_SECRETS for v in settings.values())


async def _demo_rows(
    session: AsyncSession,
) -> tuple[list[t.ApiTokenRow], list[t.AgentRow], t.ChatWidgetRow | None, list[t.SpokeRow]]:
    token_ids = [_token_id(token) for token in _fixed_tokens()]
    tokens = list(
        await session.scalars(select(t.ApiTokenRow).where(t.ApiTokenRow.id.in_(token_ids)))
    )
    emails = [agent.email for agent in AGENTS]
    candidates = list(
        await session.scalars(
            select(t.AgentRow).where(
                t.AgentRow.email.in_(emails), t.AgentRow.password_hash.is_not(None)
            )
        )
    )
    hashes = [agent.password_hash for agent in candidates]
    demo = await asyncio.to_thread(lambda: [_is_demo_password(h) for h in hashes])
    agents = [agent for agent, is_demo in zip(candidates, demo, strict=True) if is_demo]
    widget = await session.get(t.ChatWidgetRow, DEMO_WIDGET)
    widget = widget if widget is not None and is_demo_widget(widget) else None
    spokes = [
        row for row in await session.scalars(select(t.SpokeRow)) if uses_demo_secret(row.settings)
    ]
    return tokens, agents, widget, spokes


async def demo_credentials(db: Database) -> list[str]:
    """The demo credentials the database holds, described; empty when there are none."""
    async with db.session() as session:
        tokens, agents, widget, spokes = await _demo_rows(session)
    found = []
    if tokens:
        found.append(f"{len(tokens)} demo API tokens")
    if agents:
        found.append(f"the demo password on {', '.join(a.id for a in agents)}")
    if widget is not None:
        found.append(f"the demo chat widget '{widget.id}'")
    found += [f"the demo secret of spoke '{row.name}'" for row in spokes]
    return found


async def remove_demo_credentials(db: Database) -> list[str]:
    """Remove every demo credential; the demo's catalog, agents and work stay. What was removed."""
    removed = await demo_credentials(db)
    async with db.session() as session, session.begin():
        tokens, agents, widget, spokes = await _demo_rows(session)
        for token in tokens:
            await session.delete(token)
        for agent in agents:
            agent.password_hash = None
        await session.execute(
            delete(t.WebSessionRow).where(t.WebSessionRow.agent_id.in_([a.id for a in agents]))
        )
        if widget is not None:
            await session.delete(widget)
        for row in spokes:
            # Switched off with a secret nobody knows: set your own and switch it on again.
            row.settings = {
                k: secrets.token_urlsafe(32) if isinstance(v, str) and v in DEMO_SECRETS else v
                for k, v in row.settings.items()
            }
            row.enabled = False
            row.updated_at = datetime.now(UTC)
    return removed
