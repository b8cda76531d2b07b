"""SLA through the application, with the configured calendar and the injectable clock."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import ConfigError, Settings
from application.messages import ticket_event_message
from application.service_level import ServiceLevel
from application.tickets import TicketingApp
from projections.candidates import breaches_pending
from tests.integration.conftest import ADMIN, caught_up, submit, user, workspace_with
from workers.sweeps import record_breaches

MONDAY_10 = datetime(2026, 1, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_sla_follows_configuration_and_time(database_url: str) -> None:
    settings = dataclasses.replace(
        Settings(),
        database_url=database_url,
        default_assignee=ADMIN.account_id,
        service_holidays="2026-01-06",
        sla_targets_by_type="bug=2/16",
    )
    clock = SettableClock(MONDAY_10)
    app = build_app(settings, clock=clock)
    try:
        alice = user()
        ws = workspace_with(app, alice)
        ticket_id = str(submit(app, alice, ws).ticket.id)
        sla = app.sla(app.ticket(ADMIN, ticket_id))
        assert sla.first_response_due_at == MONDAY_10 + timedelta(hours=2)
        # 16 service hours: Mon 10-17 (7), Tue a holiday, Wed 9-17 (8), Thu 9-10
        assert sla.resolution_due_at == datetime(2026, 1, 8, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
        clock.advance(timedelta(hours=3))
        assert app.sla(app.ticket(ADMIN, ticket_id)).breached == ["first_response"]
    finally:
        app.store.close()


def test_calendar_from_an_icalendar_file(tmp_path: Path) -> None:
    ics = tmp_path / "holidays.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260105\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    level = ServiceLevel.from_settings(
        dataclasses.replace(Settings(), service_holidays_file=str(ics))
    )
    assert level.calendar.add(MONDAY_10, timedelta(hours=1)) == MONDAY_10 + timedelta(days=1)


@pytest.mark.parametrize(
    "change",
    [
        {"service_timezone": "Mars/Olympus"},
        {"service_hours": "late"},
        {"service_days": "someday"},
        {"sla_targets_by_type": "bug=fast"},
        {"sla_targets_by_type": "nope=1/2"},
        {"service_holidays_file": "/nonexistent/holidays.ics"},
    ],
)
def test_bad_service_settings_are_clear_errors(change: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        ServiceLevel.from_settings(dataclasses.replace(Settings(), **change))  # type: ignore[arg-type]


def test_breaches_are_recorded_once_and_published_as_ticket_sla_breached(
    app: TicketingApp, clock: SettableClock, projecting: None
) -> None:
    clock.set(MONDAY_10 + timedelta(days=500))  # a Monday at 10:00, after other tests' tickets
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = submit(app, alice, ws).ticket.id
    view = caught_up(app)
    clock.advance(timedelta(hours=5))  # past the 4 service hours for a first response
    assert ticket_id not in breaches_pending(view, clock.now() - timedelta(hours=2))
    assert ticket_id in breaches_pending(view, clock.now())
    assert app.housekeeping.record_sla_breaches(ticket_id) == ["first_response"]
    assert app.housekeeping.record_sla_breaches(ticket_id) == []
    assert ticket_id not in breaches_pending(caught_up(app), clock.now()), "no longer pending"
    history = app.history(ADMIN, str(ticket_id))
    [breach] = [entry for entry in history if entry.type == "TicketSlaBreached"]
    assert breach.data == {"target": "first_response"}
    message = ticket_event_message(list(app.store.events.get(ticket_id))[-1], 1, ws)
    assert (message["type"], message["data"]["target"]) == ("TicketSlaBreached", "first_response")


def test_the_sweep_records_a_breach_of_a_ticket_closed_late(
    app: TicketingApp, clock: SettableClock, projecting: None
) -> None:
    clock.set(MONDAY_10 + timedelta(days=507))  # a Monday at 10:00, after other tests' tickets
    alice = user()
    ws = workspace_with(app, alice)
    late = submit(app, alice, ws).ticket.id
    in_time = submit(app, alice, ws).ticket.id
    clock.advance(timedelta(hours=1))
    app.accept(ADMIN, str(in_time))
    app.reply(ADMIN, str(in_time), "answered within the hour")
    clock.advance(timedelta(hours=5))  # 15:00+: the other one's first response is late
    app.accept(ADMIN, str(late))
    app.complete(ADMIN, str(late))  # closed without an answer, after the deadline
    clock.advance(timedelta(days=30))
    view = caught_up(app)
    pending = breaches_pending(view, clock.now())
    assert late in pending
    assert in_time not in pending, "answered in time, resolution clock paused"
    assert record_breaches(app, view, clock.now()) >= 1
    assert late not in breaches_pending(caught_up(app), clock.now())

    def breaches() -> list[str]:
        history = app.history(ADMIN, str(late))
        return [entry.data["target"] for entry in history if entry.type == "TicketSlaBreached"]

    assert breaches() == ["first_response"]
    record_breaches(app, view, clock.now())  # a second sweep records nothing more for it
    assert breaches() == ["first_response"]
