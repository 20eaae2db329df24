"""Merging a provider's profile into an agent: only allowed fields, only the sync's own links."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from omniroute.domain.profile import (
    ALL_FIELDS,
    AgentLinks,
    ProfileField,
    ProviderProfile,
    Synced,
    clamp_level,
    merge,
)

IDS = st.sampled_from(["a", "b", "c", "d", "e"])
LEVELS = st.integers(min_value=1, max_value=10)
CHANNELS = st.sampled_from(["chat", "email", "voice"])
Case = tuple[
    AgentLinks, Synced, dict[str, int], frozenset[str], ProviderProfile, frozenset[ProfileField]
]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    current = AgentLinks(
        draw(st.text(min_size=1, max_size=5)),
        "x@example.com",
        draw(st.dictionaries(IDS, LEVELS)),
        draw(st.frozensets(IDS)),
        draw(st.dictionaries(CHANNELS, st.none() | LEVELS)),
    )
    before = Synced(
        draw(st.frozensets(IDS)), draw(st.frozensets(IDS)), draw(st.frozensets(CHANNELS))
    )
    skills = draw(st.dictionaries(IDS, LEVELS))
    groups = draw(st.frozensets(IDS))
    profile = ProviderProfile(
        "p1",
        draw(st.none() | st.text(max_size=5)),
        draw(st.none() | st.just("new@example.com")),
        capacity=draw(st.dictionaries(CHANNELS, LEVELS)),
    )
    fields = draw(st.frozensets(st.sampled_from(list(ProfileField))))
    return current, before, skills, groups, profile, fields


@given(cases())
def test_locked_fields_never_change_and_manual_links_stay(case: Case) -> None:
    current, before, skills, groups, profile, fields = case
    after, owned = merge(
        current, before, skills=skills, groups=groups, profile=profile, fields=fields
    )
    if ProfileField.SKILLS not in fields:
        assert after.skills == current.skills
        assert owned.skills == before.skills
    else:
        # The provider's skills are there at its levels; hand-given ones (not synced before) stay.
        assert {k: after.skills[k] for k in skills} == skills
        for skill_id, level in current.skills.items():
            if skill_id not in before.skills and skill_id not in skills:
                assert after.skills[skill_id] == level
        assert not (set(after.skills) & (before.skills - skills.keys()))
        assert owned.skills == frozenset(skills)
    if ProfileField.GROUPS not in fields:
        assert after.groups == current.groups
    else:
        assert groups <= after.groups
        assert (current.groups - before.groups) <= after.groups
        assert not (after.groups & (before.groups - groups))
    if ProfileField.CAPACITY not in fields:
        assert after.capacity == current.capacity
    else:
        for channel, n in profile.capacity.items():
            assert after.capacity[channel] == n
        for channel in before.capacity - profile.capacity.keys():
            assert after.capacity[channel] is None
    if ProfileField.NAME not in fields or not (profile.name or "").strip():
        assert after.name == current.name
    if ProfileField.EMAIL not in fields or not profile.email:
        assert after.email == current.email


def test_merging_twice_changes_nothing_more() -> None:
    current = AgentLinks("Ann", "ann@example.com", {"manual": 3}, frozenset({"g0"}), {})
    profile = ProviderProfile("p1", "Ann B", None, capacity={"chat": 4})
    skills, groups = {"s1": 2}, frozenset({"g1"})
    once, owned = merge(
        current, Synced(), skills=skills, groups=groups, profile=profile, fields=ALL_FIELDS
    )
    twice, owned_again = merge(
        once, owned, skills=skills, groups=groups, profile=profile, fields=ALL_FIELDS
    )
    assert once == twice
    assert owned == owned_again
    assert once.skills == {"manual": 3, "s1": 2}
    assert once.groups == frozenset({"g0", "g1"})


def test_levels_are_whole_numbers_from_one_to_ten() -> None:
    levels = (-3, 0, 0.4, 2.6, 5, 99, float("nan"))
    assert [clamp_level(x) for x in levels] == [1, 1, 1, 3, 5, 10, 1]
