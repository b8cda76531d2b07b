"""SLA clocks from a ticket's timeline: service hours, pauses, breaches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.actors import Actor, Role
from domain.service_hours import ServiceCalendar
from domain.sla import SlaClocks, SlaStatus, SlaTargets, clocks_from_timeline, sla_status
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
    return sla_status(CALENDAR, TARGETS, ticket.timeline, ticket.first_responded_at, now)


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


def test_a_stopped_clock_keeps_the_due_time_it_had_when_it_stopped() -> None:
    ticket = submitted(cst(5, 10))
    ticket.accept(ASSIGNEE, at=cst(5, 10))
    ticket.reply(ASSIGNEE, "answer", at=cst(5, 11))  # first response after 1 of 4 hours
    for now in (cst(5, 12), cst(9, 12), cst(30, 12)):
        sla = status_of(ticket, now)
        assert sla.first_response_due_at == cst(5, 14), "the deadline it met, whenever asked"
        assert "first_response" not in sla.breached


def test_a_paused_clock_past_its_target_stays_breached_and_keeps_its_due_time() -> None:
    ticket = submitted(cst(5, 9))
    ticket.accept(ASSIGNEE, at=cst(5, 9))
    ticket.reply(ASSIGNEE, "late", at=cst(5, 15))  # 6 h: first response 2 h late
    sla = status_of(ticket, cst(7, 9))
    assert (sla.first_response_due_at, sla.breached) == (cst(5, 13), ["first_response"])


def test_clock_state_survives_a_round_trip() -> None:
    ticket = submitted(cst(5, 10))
    ticket.accept(ASSIGNEE, at=cst(5, 10))
    ticket.reply(ASSIGNEE, "answer", at=cst(5, 16))
    clocks = clocks_from_timeline(CALENDAR, TARGETS, ticket.timeline, ticket.first_responded_at)
    assert SlaClocks.from_state(json.loads(json.dumps(clocks.to_state()))) == clocks


def test_sort_key_is_the_nearest_due_time_of_a_running_clock() -> None:
    clocks = SlaClocks.started(TARGETS, cst(5, 10))
    assert clocks.settled(CALENDAR).nearest_running_due_at == cst(5, 14)
    responded = clocks.entered(CALENDAR, "feedback_provided", cst(5, 11)).responded(
        CALENDAR, cst(5, 11)
    )
    assert responded.settled(CALENDAR).nearest_running_due_at is None, "nothing runs while waiting"
    resumed = responded.entered(CALENDAR, "waiting_for_feedback", cst(6, 9))
    assert resumed.settled(CALENDAR).nearest_running_due_at == CALENDAR.add(cst(6, 9), 39 * H)
    closed = resumed.entered(CALENDAR, "closed", cst(6, 10))
    assert closed.settled(CALENDAR).nearest_running_due_at is None


# ---------------------------------------------------------------- against a reference

RUNNING = ["waiting_for_assignment", "waiting_for_feedback"]
steps = st.lists(
    st.tuples(
        st.sampled_from([*RUNNING, "feedback_provided", "revoked", "respond", "closed"]),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30)),
    ),
    max_size=12,
)


def reference(
    timeline: list[dict[str, Any]],
    target: timedelta,
    stop: datetime | None,
    now: datetime,
) -> tuple[datetime, bool]:
    """Due time and breach of one clock, straight from the definition (service time summed
    over the intervals the clock ran in; a stopped clock is judged as of its stop)."""
    intervals = []
    for entry, following in zip(timeline, [*timeline[1:], None], strict=False):
        start, end = entry["at"], None if following is None else following["at"]
        if stop is not None:
            if start >= stop:
                break
            end = stop if end is None or end > stop else end
        if entry["status"] in RUNNING:
            intervals.append((start, end))
    used = timedelta(0)
    for start, end in intervals:
        spent = CALENDAR.elapsed(start, end or now)
        if used + spent >= target:
            due = CALENDAR.add(start, target - used)
            return due, (stop or now) > due
        used += spent
    return CALENDAR.add(stop or now, target - used), False


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)
    ),
    history=steps,
    wait=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=80)),
)
def test_incremental_clocks_agree_with_the_definition(
    start: datetime, history: list[tuple[str, timedelta]], wait: timedelta
) -> None:
    timeline: list[dict[str, Any]] = [{"at": start, "status": "waiting_for_assignment"}]
    clocks = SlaClocks.started(TARGETS, start)
    at, responded, closed = start, None, None
    for step, gap in history:
        if closed is not None:
            break
        at += gap
        if step == "respond":
            if responded is None:
                responded = at
                clocks = clocks.responded(CALENDAR, at)
            continue
        timeline.append({"at": at, "status": step})
        clocks = clocks.entered(CALENDAR, step, at)
        closed = at if step == "closed" else None
    now = at + wait
    first_due, first_late = reference(timeline, TARGETS.first_response, responded or closed, now)
    final_due, final_late = reference(timeline, TARGETS.resolution, closed, now)
    expected = SlaStatus(
        first_due,
        responded,
        final_due,
        [
            name
            for name, late in (("first_response", first_late), ("resolution", final_late))
            if late
        ],
    )
    assert clocks.status(CALENDAR, now) == expected
    assert sla_status(CALENDAR, TARGETS, timeline, responded, now) == expected
    for clock in (clocks.first_response, clocks.resolution):
        _, after = clock.settled(CALENDAR)
        assert clock.judged(CALENDAR, now)[1] == (after is not None and now > after)
