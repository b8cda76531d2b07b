"""Service-time arithmetic: weekends, holidays, time zones with DST, outside hours; properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.service_hours import (
    ServiceCalendar,
    parse_days,
    parse_holidays,
    parse_hours,
    parse_icalendar_holidays,
)

SHANGHAI = ServiceCalendar()  # Monday-Friday 09:00-17:00, Asia/Shanghai (UTC+8, no DST)
H = timedelta(hours=1)


def cst(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_inside_one_working_day() -> None:
    assert SHANGHAI.add(cst(2026, 1, 5, 10), 4 * H) == cst(2026, 1, 5, 14)  # a Monday


def test_over_the_evening_and_the_weekend() -> None:
    friday_afternoon = cst(2026, 1, 9, 15)
    assert SHANGHAI.add(friday_afternoon, 4 * H) == cst(2026, 1, 12, 11)  # Monday
    assert SHANGHAI.elapsed(friday_afternoon, cst(2026, 1, 12, 11)) == 4 * H


def test_submitted_outside_hours_starts_at_the_next_opening() -> None:
    assert SHANGHAI.add(cst(2026, 1, 10, 12), 1 * H) == cst(2026, 1, 12, 10)  # Saturday
    assert SHANGHAI.add(cst(2026, 1, 5, 7), 1 * H) == cst(2026, 1, 5, 10)  # before opening
    assert SHANGHAI.add(cst(2026, 1, 5, 18), 1 * H) == cst(2026, 1, 6, 10)  # after closing


def test_holidays_are_skipped() -> None:
    calendar = ServiceCalendar(holidays=frozenset({date(2026, 1, 6)}))
    assert calendar.add(cst(2026, 1, 5, 16), 2 * H) == cst(2026, 1, 7, 10)


def test_forty_service_hours_is_a_working_week() -> None:
    assert SHANGHAI.add(cst(2026, 1, 5, 9), 40 * H) == cst(2026, 1, 9, 17)


def test_dst_in_another_zone() -> None:
    new_york = ServiceCalendar(zone=ZoneInfo("America/New_York"))
    # clocks go forward on Sunday 2026-03-08; Friday 16:00 EST + 2 service hours = Monday 10:00 EDT
    friday = datetime(2026, 3, 6, 16, tzinfo=ZoneInfo("America/New_York"))
    due = new_york.add(friday, 2 * H)
    assert due == datetime(2026, 3, 9, 10, tzinfo=ZoneInfo("America/New_York"))
    assert due.astimezone(UTC).hour == 14, "10:00 EDT is 14:00 UTC, not 15:00"
    assert new_york.elapsed(friday, due) == 2 * H


def test_elapsed_is_zero_backwards_and_on_closed_days() -> None:
    assert SHANGHAI.elapsed(cst(2026, 1, 5, 12), cst(2026, 1, 5, 11)) == timedelta(0)
    assert SHANGHAI.elapsed(cst(2026, 1, 10, 0), cst(2026, 1, 12, 0)) == timedelta(0)


def test_configuration_parsing() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("sat, sun") == frozenset({5, 6})
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_hours("08:30-18:00") == (time(8, 30), time(18))
    assert parse_holidays("2026-10-01, 2026-10-02") == {date(2026, 10, 1), date(2026, 10, 2)}
    for bad in ("someday", "mon-funday"):
        with pytest.raises(ValueError, match="unknown day"):
            parse_days(bad)
    with pytest.raises(ValueError, match="opening hours"):
        parse_hours("9 to 5")
    with pytest.raises(ValueError, match="close after"):
        ServiceCalendar(opens=time(17), closes=time(9))


def test_icalendar_holidays() -> None:
    ics = "\r\n".join([
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT", "DTSTART;VALUE=DATE:20261001", "DTEND;VALUE=DATE:20261004",
        "SUMMARY:National Day", "END:VEVENT",
        "BEGIN:VEVENT", "DTSTART;VALUE=DATE:20260101", "SUMMARY:New Year", "END:VEVENT",
        "END:VCALENDAR",
    ])  # fmt: skip
    assert parse_icalendar_holidays(ics) == {
        date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3), date(2026, 1, 1)
    }  # fmt: skip


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=120))
calendars = st.sampled_from(
    [
        SHANGHAI,
        ServiceCalendar(zone=ZoneInfo("America/New_York")),
        ServiceCalendar(zone=ZoneInfo("Europe/Berlin"), working_days=frozenset({0, 2, 4})),
        ServiceCalendar(holidays=frozenset({date(2026, 5, 1), date(2026, 10, 1)})),
    ]
)


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=moments, service=durations)
def test_a_due_time_is_never_inside_a_closed_period(
    calendar: ServiceCalendar, start: datetime, service: timedelta
) -> None:
    due = calendar.add(start, service)
    assert _is_open(calendar, due - timedelta(microseconds=1))
    assert calendar.elapsed(start, due) == service


@settings(max_examples=300, deadline=None)
@given(calendar=calendars, start=moments, later=durations, service=durations)
def test_due_times_are_monotonic_in_the_start(
    calendar: ServiceCalendar, start: datetime, later: timedelta, service: timedelta
) -> None:
    assert calendar.add(start, service) <= calendar.add(start + later, service)


def _is_open(calendar: ServiceCalendar, moment: datetime) -> bool:
    """Whether service time runs at this moment (the property's oracle, written apart)."""
    local = moment.astimezone(calendar.zone)
    return (
        local.weekday() in calendar.working_days
        and local.date() not in calendar.holidays
        and calendar.opens <= local.time().replace(tzinfo=None) < calendar.closes
    )
