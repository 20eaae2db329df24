"""Business-hours calendars: weekly opening hours in a time zone, holidays and exceptions.

Times are wall-clock times in the calendar's zone (`zoneinfo`), so a 09:00 opening stays at
09:00 across daylight-saving changes. Every instant handed in or out is tz-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# How far ahead `next_change` looks for an opening or a closing before giving up (a calendar
# closed every day has none).
SEARCH_DAYS = 400


class OutOfHoursAction(StrEnum):
    """What a queue does with new work while its calendar is closed."""

    KEEP_QUEUED = "keep_queued"
    ROUTE_TO_QUEUE = "route_to_queue"
    ANSWER = "answer"


@dataclass(frozen=True, slots=True)
class Span:
    """An opening on one day from `start` to `end` (wall-clock; `end` 00:00 means midnight)."""

    start: time
    end: time

    def end_minutes(self) -> int:
        """The end as minutes after midnight; midnight counts as 24:00."""
        if self.end == time(0, 0):
            return 24 * 60
        return self.end.hour * 60 + self.end.minute

    def start_minutes(self) -> int:
        """The start as minutes after midnight."""
        return self.start.hour * 60 + self.start.minute


@dataclass(frozen=True, slots=True)
class DateException:
    """A date whose hours replace the weekly hours: `spans` empty means closed all day."""

    day: date
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class Calendar:
    """Weekly hours per weekday (0 = Monday), holidays (closed) and dated exceptions."""

    id: str
    name: str
    tz: str
    weekly: tuple[tuple[Span, ...], ...] = ((), (), (), (), (), (), ())
    holidays: frozenset[date] = frozenset()
    exceptions: tuple[DateException, ...] = ()

    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return ZoneInfo(self.tz)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """The opening spans of one local date."""
        for exception in self.exceptions:
            if exception.day == day:
                return exception.spans
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        """Whether the calendar is open at this instant."""
        local = at.astimezone(self.zone())
        minute = local.hour * 60 + local.minute + local.second / 60
        return any(
            s.start_minutes() <= minute < s.end_minutes() for s in self.spans_on(local.date())
        )

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant after `at` when open/closed flips, or None within the horizon."""
        now_open = self.is_open(at)
        zone = self.zone()
        first = at.astimezone(zone).date() - timedelta(days=1)
        for offset in range(SEARCH_DAYS):
            day = first + timedelta(days=offset)
            moments = sorted(
                {
                    m
                    for s in self.spans_on(day)
                    for edge in (s.start_minutes(), s.end_minutes())
                    for m in _instants(day, edge, zone)
                }
            )
            for moment in moments:
                if moment > at and self.is_open(moment) != now_open:
                    return moment
        return None

    def next_opening(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the next opening instant (None if none ahead)."""
        if self.is_open(at):
            return at
        return self.next_change(at)


def _instants(day: date, minutes: int, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The UTC instants of a local wall-clock minute: two in a repeated hour; for a time in a
    spring-forward gap, the end of the gap (when the local clock passes it)."""
    base = datetime.combine(day, time(0, 0)) + timedelta(minutes=minutes)
    first = base.replace(tzinfo=zone).astimezone(UTC)
    second = base.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == base:
        return (min(first, second), max(first, second))
    return (_transition(min(first, second), max(first, second), zone),)


def _transition(low: datetime, high: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in [low, high] with the zone's offset at `high`."""
    target = high.astimezone(zone).utcoffset()
    while (high - low).total_seconds() > 1:
        mid = low + (high - low) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).utcoffset() == target:
            high = mid
        else:
            low = mid
    return high


def parse_span(text: str) -> Span:
    """A span from 'HH:MM-HH:MM' (end 24:00 or 00:00 means midnight); ValueError otherwise."""
    start_s, sep, end_s = text.partition("-")
    if not sep:
        msg = f"'{text}' is not HH:MM-HH:MM"
        raise ValueError(msg)
    start = _parse_time(start_s.strip())
    end = time(0, 0) if end_s.strip() in ("24:00", "00:00") else _parse_time(end_s.strip())
    span = Span(start, end)
    if span.end_minutes() <= span.start_minutes():
        msg = f"'{text}' ends before it starts"
        raise ValueError(msg)
    return span


def format_span(span: Span) -> str:
    """'HH:MM-HH:MM', midnight at the end written 24:00."""
    end = "24:00" if span.end == time(0, 0) else span.end.strftime("%H:%M")
    return f"{span.start.strftime('%H:%M')}-{end}"


def _parse_time(text: str) -> time:
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        msg = f"'{text}' is not HH:MM"
        raise ValueError(msg)
    return time(int(hours), int(minutes))


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def calendar_from_json(
    calendar_id: str,
    name: str,
    tz: str,
    *,
    weekly: dict[str, list[str]],
    holidays: list[str],
    exceptions: list[dict[str, object]],
) -> Calendar:
    """A calendar from its stored form: {"mon": ["09:00-17:00"]}, ISO dates, dated hours."""
    return Calendar(
        id=calendar_id,
        name=name,
        tz=tz,
        weekly=tuple(tuple(parse_span(s) for s in weekly.get(day, [])) for day in DAYS),
        holidays=frozenset(date.fromisoformat(d) for d in holidays),
        exceptions=tuple(
            DateException(
                date.fromisoformat(str(e["date"])),
                tuple(parse_span(str(s)) for s in _strings(e.get("hours"))),
            )
            for e in exceptions
        ),
    )


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
