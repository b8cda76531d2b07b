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
from application.service_level import ServiceLevel
from tests.integration.conftest import ADMIN, submit, user, workspace_with

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
        app.close()


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
