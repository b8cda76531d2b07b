"""The service calendar ("5*8 hours of ticket service time") and arithmetic in service time.

Service time runs only inside the opening hours of working days that are not holidays, in
the calendar's time zone. Each day's window is turned into absolute times through the zone,
so days when the clocks change are handled by the zone's own rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3_660  # no search goes further than ten years
WINDOW_CACHE_DAYS = 20_000


@dataclass(frozen=True)
class ServiceCalendar:
    """Working days (0 = Monday), daily opening hours, a time zone, and holidays."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    working_days: frozenset[int] = frozenset(range(5))
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    holidays: frozenset[date] = frozenset()
    # each day's open period, computed once: every clock of every ticket asks for them
    _windows: dict[date, tuple[datetime, datetime] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("opening hours must close after they open")
        if not self.working_days or not self.working_days <= set(range(7)):
            raise ValueError("working days must be a non-empty set of weekdays 0-6")

    def windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC) from the day ``start`` falls on, in order, for ten years at most."""
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            window = self._window(day)
            if window is not None:
                yield window
            day += timedelta(days=1)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """One day's open period in UTC (None if closed)."""
        try:  # one lookup, not `in` then `[]`: another thread may clear the cache between
            return self._windows[day]
        except KeyError:
            pass
        window = None
        if day.weekday() in self.working_days and day not in self.holidays:
            opens = datetime.combine(day, self.opens, self.zone).astimezone(UTC)
            closes = datetime.combine(day, self.closes, self.zone).astimezone(UTC)
            window = (opens, closes) if closes > opens else None
        if len(self._windows) >= WINDOW_CACHE_DAYS:
            self._windows.clear()
        self._windows[day] = window
        return window

    def add(self, start: datetime, service: timedelta) -> datetime:
        """The moment when ``service`` worth of service time has passed since ``start``."""
        if service < timedelta(0):
            raise ValueError("service time cannot be negative")
        remaining = service
        for opens, closes in self.windows(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise ValueError("the calendar has no service time within ten years")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Service time between two moments (zero if ``end`` is not after ``start``)."""
        total = timedelta(0)
        if end <= start:
            return total
        for opens, closes in self.windows(start):
            if opens >= end:
                break
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        return total


def parse_days(text: str) -> frozenset[int]:
    """``mon-fri`` or ``mon,wed,fri`` (ranges and lists may be mixed)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"unknown day in {text!r}; use {', '.join(DAY_NAMES)}")
        start, stop = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        days.update(
            range(start, stop + 1) if start <= stop else [*range(start, 7), *range(stop + 1)]
        )
    return frozenset(days)


def parse_hours(text: str) -> tuple[time, time]:
    """``09:00-17:00``."""
    opens, _, closes = text.replace(" ", "").partition("-")
    try:
        return time.fromisoformat(opens), time.fromisoformat(closes)
    except ValueError:
        raise ValueError(f"opening hours must look like 09:00-17:00, not {text!r}") from None


def parse_holidays(text: str) -> frozenset[date]:
    """ISO dates separated by commas."""
    try:
        return frozenset(date.fromisoformat(d.strip()) for d in text.split(",") if d.strip())
    except ValueError:
        raise ValueError(f"holidays must be ISO dates separated by commas, not {text!r}") from None


def parse_icalendar_holidays(text: str) -> frozenset[date]:
    """All-day (or timed) events of an iCalendar file, as the dates they cover."""
    holidays: set[date] = set()
    start: date | None = None
    for raw in text.splitlines():
        line = raw.strip()
        name, _, value = line.partition(":")
        key = name.split(";")[0].upper()
        if key == "BEGIN" and value.upper() == "VEVENT":
            start = None
        elif key == "DTSTART":
            start = _ical_date(value)
            holidays.add(start)
        elif key == "DTEND" and start is not None:
            end = _ical_date(value)  # exclusive for all-day events
            day = start + timedelta(days=1)
            while day < end:
                holidays.add(day)
                day += timedelta(days=1)
    return frozenset(holidays)


def _ical_date(value: str) -> date:
    try:
        return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise ValueError(f"not an iCalendar date: {value!r}") from None
