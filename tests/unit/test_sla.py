"""SLA clocks from a ticket's timeline: service hours, pauses, breaches."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.actors import Actor, Role
from domain.service_hours import ServiceCalendar
from domain.sla import SlaStatus, SlaTargets, sla_status
from domain.ticket import Ticket
from tests.unit.builders import ASSIGNEE, DEFAULT_ASSIGNEE, SUBMITTER

CALENDAR = ServiceCalendar()  # Monday-Friday 09:00-17:00, Asia/Shanghai
TARGETS = SlaTargets()  # 4 h first response, 40 h resolution
H = timedelta(hours=1)


def cst(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))  # Jan 5 = Monday


def submitted(at: datetime) -> Ticket:
    return Ticket.submit(
        allocate_number=lambda: 1, workspace_id="w", ticket_type="bug", title="t", description="d",
        submitter=SUBMITTER, assignee=DEFAULT_ASSIGNEE, at=at,
    )  # fmt: skip


def status_of(ticket: Ticket, now: datetime) -> SlaStatus:
    return sla_status(
        CALENDAR, TARGETS, ticket.timeline, ticket.first_responded_at, ticket.closed_at, now
    )


def test_a_new_ticket_has_both_clocks_running() -> None:
    ticket = submitted(cst(5, 10))
    sla = status_of(ticket, cst(5, 11))
    assert sla.first_response_due_at == cst(5, 14)
    assert sla.resolution_due_at == cst(12, 10)
    assert sla.breached == []


def test_submitted_on_saturday_starts_on_monday() -> None:
    sla = status_of(submitted(cst(10, 12)), cst(10, 13))
    assert sla.first_response_due_at == cst(12, 13)


def test_an_automatic_reply_is_not_a_first_response_and_lateness_is_a_breach() -> None:
    ticket = submitted(cst(5, 10))
    assert ticket.first_responded_at is None, "the acknowledgement does not count"
    sla = status_of(ticket, cst(5, 15))
    assert sla.breached == ["first_response"]
    ticket.accept(ASSIGNEE, at=cst(5, 15))
    ticket.reply(ASSIGNEE, "late answer", at=cst(5, 16))
    sla = status_of(ticket, cst(5, 16, 30))
    assert sla.first_responded_at == cst(5, 16)
    assert sla.breached == ["first_response"]


def test_waiting_on_the_user_pauses_resolution() -> None:
    ticket = submitted(cst(5, 9))
    ticket.accept(ASSIGNEE, at=cst(5, 9))
    ticket.reply(ASSIGNEE, "which browser?", at=cst(5, 10))  # 1 h used, then paused
    paused = status_of(ticket, cst(7, 10))  # two days later, still waiting on the user
    assert paused.resolution_due_at == CALENDAR.add(cst(7, 10), 39 * H)
    ticket.reply(SUBMITTER, "Firefox", at=cst(7, 10))  # the clock runs again
    resumed = status_of(ticket, cst(7, 11))
    assert resumed.resolution_due_at == CALENDAR.add(cst(7, 10), 39 * H)
    assert resumed.breached == []


def test_revoked_time_does_not_count_and_a_late_close_breaches() -> None:
    ticket = submitted(cst(5, 9))
    ticket.revoke(SUBMITTER, at=cst(5, 10))
    ticket.restart(SUBMITTER, assignee=DEFAULT_ASSIGNEE, account_cancelled=False, at=cst(6, 9))
    sla = status_of(ticket, cst(6, 10))
    assert sla.first_response_due_at == cst(6, 12)  # 1 h before revoking, 3 h after
    admin = Actor("root", Role.ADMIN)
    ticket.complete(admin, at=cst(19, 9))
    assert status_of(ticket, cst(20, 9)).breached == ["first_response", "resolution"]


def test_breaches_are_recorded_once_per_target() -> None:
    ticket = submitted(cst(5, 10))
    ticket.collect_events()
    assert ticket.record_sla_breaches(["first_response"], at=cst(5, 15)) == ["first_response"]
    assert ticket.record_sla_breaches(["first_response", "resolution"], at=cst(12, 15)) == [
        "resolution"
    ]
    assert ticket.record_sla_breaches(["first_response", "resolution"], at=cst(13, 15)) == []
    assert [type(e).__name__ for e in ticket.collect_events()] == ["SlaBreached", "SlaBreached"]
    assert ticket.status == "waiting_for_assignment", "a breach changes no status"
