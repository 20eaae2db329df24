"""Calendars and escalation policy: examples at DST changes and property tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omniroute.domain.calendar import (
    Calendar,
    DateException,
    Span,
    format_span,
    parse_span,
)
from omniroute.domain.escalation import (
    EscalationStep,
    StepAction,
    StepError,
    affinity_allows,
    aged_priority,
    check_steps,
    expired_exclusions,
    step_due,
    widened_skills,
)
from omniroute.domain.model import SkillRequirement

NINE_TO_FIVE = (Span(time(9), time(17)),)
WEEKDAYS = (NINE_TO_FIVE,) * 5 + ((), ())


def berlin(
    holidays: frozenset[date] = frozenset(), exceptions: tuple[DateException, ...] = ()
) -> Calendar:
    """A Monday-to-Friday 09:00-17:00 calendar in Berlin."""
    return Calendar("office", "Office", "Europe/Berlin", WEEKDAYS, holidays, exceptions)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_open_in_local_hours_on_both_sides_of_dst() -> None:
    cal = berlin()
    # Winter (UTC+1): 09:00 local is 08:00 UTC.
    assert not cal.is_open(utc(2026, 3, 27, 7, 59))
    assert cal.is_open(utc(2026, 3, 27, 8, 0))
    # Summer after 29 March (UTC+2): 09:00 local is 07:00 UTC.
    assert cal.is_open(utc(2026, 3, 30, 7, 0))
    assert not cal.is_open(utc(2026, 3, 30, 15, 0))
    # Weekend closed; the next opening is Monday 09:00 local summer time.
    assert cal.next_opening(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)


def test_holidays_and_exceptions() -> None:
    cal = berlin(
        holidays=frozenset({date(2026, 12, 25)}),
        exceptions=(
            DateException(date(2026, 12, 24), (Span(time(9), time(12)),)),
            DateException(date(2026, 12, 26), (Span(time(10), time(14)),)),
        ),
    )
    assert not cal.is_open(utc(2026, 12, 25, 10, 0))
    assert cal.is_open(utc(2026, 12, 24, 10, 0))
    assert not cal.is_open(utc(2026, 12, 24, 11, 30))
    # A Saturday opened by an exception.
    assert cal.is_open(utc(2026, 12, 26, 9, 0))
    assert cal.next_change(utc(2026, 12, 24, 10, 0)) == utc(2026, 12, 24, 11, 0)
    assert cal.next_opening(utc(2026, 12, 24, 12, 0)) == utc(2026, 12, 26, 9, 0)


def test_opening_inside_the_spring_forward_gap() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026: the queue opens when the gap ends.
    daily = ((Span(time(2, 30), time(5)),),) * 7
    cal = Calendar("night", "Night", "Europe/Berlin", daily)
    assert cal.next_opening(utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 0)


def test_repeated_hour_in_autumn() -> None:
    # 01:00-01:45 happens twice on 1 November 2026 in New York: open both times.
    daily = ((Span(time(1), time(1, 45)),),) * 7
    cal = Calendar("ny", "NY", "America/New_York", daily)
    first_close = utc(2026, 11, 1, 5, 45)
    assert cal.is_open(first_close - timedelta(minutes=1))
    assert cal.next_opening(first_close) == utc(2026, 11, 1, 6, 0)


def test_closed_forever_has_no_change() -> None:
    cal = Calendar("never", "Never", "UTC")
    assert cal.next_change(utc(2026, 1, 1)) is None


@pytest.mark.parametrize("text", ["9-17", "09:00", "17:00-09:00", "ab:cd-10:00", "10:00-10:00"])
def test_bad_spans(text: str) -> None:
    with pytest.raises(ValueError, match=text.split("-", maxsplit=1)[0][:2]):
        parse_span(text)


def test_span_round_trip() -> None:
    assert format_span(parse_span("22:00-24:00")) == "22:00-24:00"
    assert parse_span("08:30-12:15") == Span(time(8, 30), time(12, 15))


ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
)


@st.composite
def spans(draw: st.DrawFn) -> tuple[Span, ...]:
    """Up to two disjoint spans of a day on a 15-minute grid."""
    edges = sorted(draw(st.sets(st.integers(0, 96), min_size=0, max_size=4)))
    if len(edges) % 2:
        edges = edges[:-1]
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        start = time(a * 15 // 60, a * 15 % 60)
        end = time(0, 0) if b == 96 else time(b * 15 // 60, b * 15 % 60)
        out.append(Span(start, end))
    return tuple(out)


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    """Random weekly hours in a random zone, with a holiday or two."""
    weekly = tuple(draw(spans()) for _ in range(7))
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 1, 1)), max_size=3))
    return Calendar("c", "C", draw(ZONES), weekly, holidays)


# Hypothesis draws naive bounds and attaches the zone itself.
INSTANTS = st.datetimes(
    datetime(2026, 1, 1),  # noqa: DTZ001
    datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@settings(max_examples=150, deadline=None)
@given(calendars(), INSTANTS)
def test_next_change_flips_and_nothing_flips_before(cal: Calendar, at: datetime) -> None:
    change = cal.next_change(at)
    if change is None:
        # Nothing flips within the horizon: the state holds for a fortnight at least.
        probes = [at + timedelta(hours=h) for h in range(0, 24 * 14, 7)]
        assert {cal.is_open(p) for p in probes} == {cal.is_open(at)}
        return
    assert change > at
    assert cal.is_open(change) != cal.is_open(at)
    # The state just before the change is still the state at `at` (sampled each 7 minutes).
    probe = at
    while probe < change:
        assert cal.is_open(probe) == cal.is_open(at)
        probe += timedelta(minutes=7)
    assert cal.is_open(change - timedelta(seconds=1)) == cal.is_open(at)


@settings(max_examples=100, deadline=None)
@given(calendars(), INSTANTS)
def test_next_opening_is_open(cal: Calendar, at: datetime) -> None:
    opening = cal.next_opening(at)
    if opening is not None:
        assert opening >= at
        assert cal.is_open(opening)


# -- escalation policy --------------------------------------------------------------------


def test_step_rules() -> None:
    ok = (
        EscalationStep(30, StepAction.WIDEN, drop_skills=("billing",)),
        EscalationStep(60, StepAction.RAISE_PRIORITY, raise_by=5),
        EscalationStep(120, StepAction.ABANDON, reason="no_agent", message="Sorry"),
    )
    check_steps(ok)
    with pytest.raises(StepError) as err:
        check_steps((ok[2], EscalationStep(200, StepAction.WIDEN)))
    assert (err.value.index, err.value.field) == (0, "action")
    with pytest.raises(StepError) as err:
        check_steps((ok[1], ok[0]))
    assert (err.value.index, err.value.field) == (1, "after_s")
    with pytest.raises(StepError) as err:
        check_steps((EscalationStep(5, StepAction.MOVE_QUEUE),))
    assert err.value.field == "queue_id"


def test_step_due_counts_from_entry() -> None:
    steps = (EscalationStep(30, StepAction.WIDEN), EscalationStep(90, StepAction.WIDEN))
    entered = utc(2026, 1, 1)
    assert step_due(steps, 0, entered) == entered + timedelta(seconds=30)
    assert step_due(steps, 1, entered) == entered + timedelta(seconds=90)
    assert step_due(steps, 2, entered) is None


def test_widen_drops_only_named_skills() -> None:
    skills = (SkillRequirement("english"), SkillRequirement("billing", 2))
    step = EscalationStep(10, StepAction.WIDEN, drop_skills=("billing",))
    assert widened_skills(skills, [step]) == (SkillRequirement("english"),)
    assert widened_skills(skills, []) == skills


@given(
    st.integers(0, 1000),
    st.floats(0, 10),
    st.floats(0, 10_000),
    st.floats(0, 10_000),
)
def test_aging_never_lowers_rank(priority: int, rate: float, a: float, b: float) -> None:
    younger, older = sorted((a, b))
    assert aged_priority(priority, rate, 0) == priority
    assert aged_priority(priority, rate, older) <= aged_priority(priority, rate, younger)
    assert aged_priority(priority, rate, older) <= priority


@given(st.dictionaries(st.sampled_from("abcde"), INSTANTS), INSTANTS)
def test_expired_exclusions(until: dict[str, datetime], now: datetime) -> None:
    expired = expired_exclusions(until, now)
    assert expired == {a for a, end in until.items() if end <= now}


@given(st.sampled_from("abc"), st.sampled_from(["a", None]), st.integers(0, 100), st.floats(0, 200))
def test_affinity(agent: str, preferred: str | None, wait: int, waited: float) -> None:
    allowed = affinity_allows(agent, preferred, wait, waited)
    if preferred is None or agent == preferred or waited >= wait:
        assert allowed
    else:
        assert not allowed
