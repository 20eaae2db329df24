"""Demo data loads once, with working credentials and the documented configuration."""

from __future__ import annotations

from datetime import UTC

from argon2 import PasswordHasher
from sqlalchemy import func, select

from omniroute.auth_tokens import hash_token, new_token
from omniroute.demo import ADMIN_TOKEN, INTEGRATION_TOKEN, agent_token, load_demo_data
from omniroute.store import tables as t
from omniroute.store.db import Database

FIXED = {
    ADMIN_TOKEN,
    INTEGRATION_TOKEN,
    *(agent_token(a) for a in ("alice", "bob", "carol", "dave")),
}


async def _count(db: Database, row: type[t.Base]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(row)) or 0)


def test_tokens_are_random_and_hashed_as_sha256_hex() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert len(first) >= 43
    digest = hash_token(first)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


async def test_load_demo_data_once(db: Database) -> None:
    info = await load_demo_data(db)
    assert info.loaded
    assert [a.id for a in info.agents] == ["alice", "bob", "carol", "dave"]
    assert {token.token for token in info.tokens} == FIXED

    counts = {row.__tablename__: await _count(db, row) for row in (t.ChannelRow, t.AgentRow)}
    assert counts == {"channels": 5, "agents": 4}

    again = await load_demo_data(db)
    assert not again.loaded
    assert {token.token for token in again.tokens} == FIXED
    assert await _count(db, t.AgentRow) == 4
    assert await _count(db, t.ApiTokenRow) == 6


async def test_demo_rows_match_the_documented_configuration(db: Database) -> None:
    await load_demo_data(db)
    async with db.session() as session:
        channels = {c.id: c.default_capacity for c in await session.scalars(select(t.ChannelRow))}
        presence = {p.id: p.is_available for p in await session.scalars(select(t.PresenceStateRow))}
        standard = await session.get(t.RuleRow, "standard")
        voice_rule = await session.get(t.RuleRow, "voice-rule")
        queues = {q.id: q for q in await session.scalars(select(t.QueueRow))}
        reasons = {r.id: r for r in await session.scalars(select(t.RejectReasonRow))}
        follow_up = await session.get(t.WrapUpCodeRow, "follow-up")
        alice = await session.get(t.AgentRow, "alice")
        admin = await session.scalar(
            select(t.ApiTokenRow).where(t.ApiTokenRow.token_hash == hash_token(ADMIN_TOKEN))
        )
        bob = await session.scalar(
            select(t.ApiTokenRow).where(t.ApiTokenRow.token_hash == hash_token(agent_token("bob")))
        )

    assert channels == {"chat": 3, "email": 5, "case": 5, "voice": 1, "callback": 1}
    assert presence == {"available": True, "away": False, "offline": False, "lunch": False}
    assert standard is not None
    assert (standard.strategy, standard.offer_timeout_s, standard.allowed_to_decline) == (
        "most_capacity",
        30,
        True,
    )
    assert standard.presence_after_timeout == "away"
    assert (standard.primary_group_id, standard.overflow_group_id) == ("tier1", "tier2")
    assert standard.overflow_after_s == 60
    assert voice_rule is not None
    assert (voice_rule.strategy, voice_rule.offer_timeout_s) == ("longest_idle", 20)
    assert not voice_rule.allowed_to_decline

    assert queues["support-chat"].channels == ["chat"]
    assert queues["support-chat"].priority == 10
    assert queues["support-chat"].skills == [
        {"skill_id": "english", "min_level": 1, "mandatory": True, "widen_after_s": None}
    ]
    assert queues["billing-email"].skills == [
        {"skill_id": "billing", "min_level": 2, "mandatory": True, "widen_after_s": None},
        {"skill_id": "french", "min_level": 1, "mandatory": False, "widen_after_s": 120},
    ]
    assert queues["voice"].channels == ["voice", "callback"]
    assert queues["voice"].rule_id == "voice-rule"
    assert queues["cases"].channels == ["case"]

    assert reasons["busy"].reassignable
    assert not reasons["wrong-skill"].reassignable
    assert reasons["not-my-queue"].channel_id == "email"
    assert follow_up is not None
    assert follow_up.time_limit_s == 120

    assert alice is not None
    assert alice.email == "alice@demo.omniroute.local"
    assert alice.presence_id == "offline"
    assert alice.created_at.tzinfo is UTC
    assert alice.password_hash is not None
    assert PasswordHasher().verify(alice.password_hash, "demo")
    assert admin is not None
    assert (admin.role, admin.agent_id) == ("admin", None)
    assert bob is not None
    assert (bob.role, bob.agent_id) == ("agent", "bob")


async def test_random_tokens_are_not_listed_when_loading_again(db: Database) -> None:
    info = await load_demo_data(db, fixed_tokens=False)
    assert info.loaded
    assert len(info.tokens) == 6
    assert not FIXED & {token.token for token in info.tokens}

    again = await load_demo_data(db)
    assert not again.loaded
    assert again.tokens == ()
