"""Reports by brute force (CONTRACT.md §8): random histories (every transition, forwards, pauses
while waiting on the user, every way to close, ratings, a holiday), then every figure of random
reports (periods that cut tickets in half, every interval, random filters) computed again from
the aggregates alone and compared with what the read model answers."""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.database import eventsourcing_env
from application.errors import TicketNotFound
from application.history import history_entry
from application.tickets import TicketingApp
from domain import reports
from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.reports import Interval
from domain.sla import clocks_from_timeline
from domain.status import QUEUE_STATE, CloseReason, Status
from domain.ticket import Ticket
from projections import maintenance
from projections.report_queries import ReportQuery, Reports
from projections.reports import cells_from_facts
from projections.view import ReadModelView, TicketingEventLog
from tests.conftest import START
from tests.integration.conftest import ADMIN, user

HOLIDAYS = "2026-01-07,2026-01-13,2026-01-21"
TYPES = ["bug", "usage", "purchase"]
# step: weight; a history is drawn from a seed with these weights (Hypothesis' own choice of
# list elements leans to the first, and histories of submissions only test little)
WEIGHTS = {
    "submit": 5, "accept": 3, "answer": 6, "automatic": 1, "user reply": 3, "revoke": 2,
    "restart": 1, "close": 3, "complete": 2, "rate": 3, "forward": 2, "note": 1,
    "cancel account": 0.6, "dissolve": 0.3, "a week passes": 1,
}  # fmt: skip


def history(seed: int) -> list[tuple[str, int, int]]:
    """(step, which ticket, user, handler or score, minutes before it): 15 to 40 steps."""
    chance = random.Random(seed)
    steps = chance.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=chance.randint(15, 40))
    return [(step, chance.randint(0, 9), int(chance.expovariate(1 / 240))) for step in steps]


@dataclass
class Desk:
    """The application on a database of its own (so that a report covers only these tickets),
    and what the histories made so far."""

    app: TicketingApp
    clock: SettableClock
    view: ReadModelView
    event_log: TicketingEventLog
    handlers: list[Actor]
    tickets: list[UUID] = field(default_factory=list)


@pytest.fixture
def desk(own_database: str) -> Iterator[Desk]:
    url = own_database
    clock = SettableClock(START)
    config = Settings(
        database_url=url, default_assignee=ADMIN.account_id, service_holidays=HOLIDAYS
    )
    app = build_app(config, clock=clock)
    view = ReadModelView(app.store.datastore, service_level=app.store.service_level)
    view.create_table()
    handlers = [Actor(f"h{n}-{uuid4().hex[:4]}", Role.HANDLER, f"Handler {n}") for n in (1, 2)]
    for handler in handlers:
        app.handlers.register_handler(ADMIN, handler.account_id, handler.name, [])
    event_log = TicketingEventLog(eventsourcing_env(url, 2))
    try:
        yield Desk(app, clock, view, event_log, handlers)
    finally:
        event_log.close()
        app.store.close()


def play(desk: Desk, steps: list[tuple[str, int, int]]) -> None:
    """One history in a new workspace; refused steps record nothing."""
    app = desk.app
    users = [user() for _ in range(3)]
    workspace = f"ws-{uuid4().hex[:6]}"
    for member in users:
        app.platform.member_joined(workspace, member.account_id, str(uuid4()))
    mine: list[tuple[UUID, Actor]] = []
    for step, which, minutes in steps:
        desk.clock.advance(timedelta(minutes=minutes))
        with contextlib.suppress(DomainError, TicketNotFound):
            if step == "submit":
                submitter = users[which % 3]
                ticket_type = TYPES[which % len(TYPES)]
                result = app.submit(
                    submitter, workspace, ticket_type=ticket_type, title="t", description="d"
                )
                mine.append((result.ticket.id, submitter))
                desk.tickets.append(result.ticket.id)
            elif step == "dissolve":
                app.platform.workspace_dissolved(workspace, str(uuid4()))
                return
            elif step == "cancel account":
                app.platform.account_cancelled(users[which % 3].account_id, str(uuid4()))
            elif step == "a week passes":  # the sweeps: breaches recorded, inactive closed
                if mine:  # one ticket at least waits on its user meanwhile
                    with contextlib.suppress(DomainError):
                        _ticket_step(desk, "answer", str(mine[which % len(mine)][0]), users[0], 0)
                desk.clock.advance(timedelta(days=7, hours=1))
                for ticket_id, _ in mine:
                    app.housekeeping.record_sla_breaches(ticket_id)
                    with contextlib.suppress(DomainError):
                        app.housekeeping.close_if_inactive(ticket_id, now=desk.clock.now())
            elif mine:
                ticket_id, submitter = mine[which % len(mine)]
                _ticket_step(desk, step, str(ticket_id), submitter, which)


def _ticket_step(desk: Desk, step: str, ticket_id: str, submitter: Actor, which: int) -> None:
    app = desk.app
    match step:
        case "accept":
            app.accept(ADMIN, ticket_id)
        case "answer":  # picked up first if nobody had
            with contextlib.suppress(DomainError):
                app.accept(ADMIN, ticket_id)
            app.reply(ADMIN, ticket_id, "answer")
        case "automatic":
            app.reply(ADMIN, ticket_id, "auto", automatic=True)
        case "user reply":
            app.reply(submitter, ticket_id, "more")
        case "revoke":
            app.revoke(submitter, ticket_id)
        case "restart":
            app.restart(submitter, ticket_id)
        case "close":
            app.close(submitter, ticket_id)
        case "complete":
            app.complete(ADMIN, ticket_id)
        case "rate":  # support completes it first if it can
            with contextlib.suppress(DomainError):
                app.complete(ADMIN, ticket_id)
            app.rate(submitter, ticket_id, which % 5 + 1)
        case "forward":
            app.forward(ADMIN, ticket_id, desk.handlers[which % 2].account_id)
        case "note":
            app.add_note(ADMIN, ticket_id, "n")


# ------------------------------------------------------------------ brute force


@dataclass
class Story:
    """One ticket as its aggregate and events tell it."""

    ticket: Ticket
    moves: list[tuple[datetime, str, str]]  # (when, queue state, assignee) after each change
    assignee_at: list[tuple[datetime, str]]


def story(desk: Desk, ticket_id: UUID) -> Story:
    aggregate: Aggregate = desk.app.store.repository.get(ticket_id)
    assert isinstance(aggregate, Ticket)
    assignee_at: list[tuple[datetime, str]] = []
    moves: list[tuple[datetime, str, str]] = []
    status = Status.WAITING_FOR_ASSIGNMENT.value
    assignee = ""
    for event in desk.app.store.events.get(ticket_id):
        entry = history_entry(event)
        data = entry.data
        if "assignee" in data:
            assignee = data["assignee"]["account_id"]
        status = _status_after(entry.type, data, status)
        assignee_at.append((entry.occurred_at, assignee))
        state = str(QUEUE_STATE[Status(status)])
        if not moves or moves[-1][1:] != (state, assignee):
            moves.append((entry.occurred_at, state, assignee))
    return Story(aggregate, moves, assignee_at)


def _status_after(kind: str, data: dict[str, Any], status: str) -> str:
    """The status an event leaves (CONTRACT.md §1), from the history alone."""
    if kind in ("TicketSubmitted", "TicketRestarted"):
        return Status.WAITING_FOR_ASSIGNMENT.value
    if kind == "TicketAccepted":
        return Status.WAITING_FOR_FEEDBACK.value
    if kind == "TicketRevoked":
        return Status.REVOKED.value
    if kind == "TicketClosed":
        return Status.CLOSED.value
    if kind == "HandlerReplied" and not data["automatic"]:
        return Status.FEEDBACK_PROVIDED.value
    if kind == "UserReplied" and status == Status.FEEDBACK_PROVIDED:
        return Status.WAITING_FOR_FEEDBACK.value
    return status


def _assignee(story: Story, at: datetime) -> str:
    return [who for when, who in story.assignee_at if when <= at][-1]


@dataclass
class Tally:
    """One row of figures, added up ticket by ticket."""

    submitted: int = 0
    closed: dict[str, int] = field(default_factory=dict)
    first: list[int] = field(default_factory=list)
    first_met: int = 0
    final: list[int] = field(default_factory=list)
    final_met: int = 0
    ratings: list[int] = field(default_factory=list)

    def responded(self, minutes: int, met: bool) -> None:
        self.first.append(minutes)
        self.first_met += met

    def figures(self) -> dict[str, Any]:
        closed_total = sum(self.closed.values())
        return {
            "submitted": self.submitted,
            "closed": {
                "total": closed_total,
                **{str(r): self.closed.get(str(r), 0) for r in CloseReason},
            },
            "first_response_business_minutes": _spread(self.first),
            "resolution_business_minutes": _spread(self.final),
            "sla_first_response_met_pct": _pct(self.first_met, len(self.first)),
            "sla_resolution_met_pct": _pct(self.final_met, len(self.final)),
            "csat": {
                "average": round(sum(self.ratings) / len(self.ratings), 2)
                if self.ratings
                else None,
                "counts": {str(s): self.ratings.count(s) for s in range(1, 6)},
                "rated_pct": _pct(len(self.ratings), closed_total),
            },
        }


def _spread(values: list[int]) -> dict[str, int | None]:
    ordered = sorted(values)
    spread: dict[str, int | None] = {}
    for name, percent in (("p50", 50), ("p90", 90)):
        if not ordered:
            spread[name] = None
            continue
        exact = ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]
        # counted in buckets: the bucket of the exact value, at most 2% below it
        counted = reports.bucket(exact)
        assert exact - counted <= exact * 0.02
        spread[name] = counted
    spread["count"] = len(ordered)
    return spread


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def expected(desk: Desk, stories: list[Story], query: ReportQuery) -> dict[str, Any]:
    zone = desk.app.store.service_level.calendar.zone
    calendar = desk.app.store.service_level.calendar
    cuts = reports.periods(query.first, query.last, query.interval)

    def period_of(moment: datetime) -> date | None:
        day = moment.astimezone(zone).date()
        if not query.first <= day <= query.last:
            return None
        return reports.period_start(day, query.interval)

    totals, series = Tally(), {start: Tally() for start, _, _ in cuts}
    by_assignee: dict[str, Tally] = {}

    def count(moment: datetime, assignee: str, add: Any) -> None:
        start = period_of(moment)
        if start is None or (query.assignees and assignee not in query.assignees):
            return
        for tally in (totals, series[start], by_assignee.setdefault(assignee, Tally())):
            add(tally)

    for one in (one for one in stories if _in_scope(one.ticket, query)):
        ticket = one.ticket
        targets = desk.app.store.service_level.targets_for(ticket.ticket_type)
        clocks = clocks_from_timeline(calendar, targets, ticket.timeline, ticket.first_responded_at)
        count(ticket.created_on, _assignee(one, ticket.created_on), _add_submitted)
        if ticket.first_responded_at is not None:
            clock = clocks.first_response
            minutes = reports.whole_minutes(clock.used)
            met = clock.reached_at is None or clock.stopped_at <= clock.reached_at  # type: ignore[operator]
            count(
                ticket.first_responded_at,
                _assignee(one, ticket.first_responded_at),
                lambda t, m=minutes, k=met: t.responded(m, k),
            )
        if ticket.closed_at is not None:
            reason = str(ticket.close_reason)
            score = ticket.rating["score"] if ticket.rating else None
            clock = clocks.resolution
            resolved = CloseReason(reason) in reports.RESOLVED
            minutes = reports.whole_minutes(clock.used)
            met = clock.reached_at is None or clock.stopped_at <= clock.reached_at  # type: ignore[operator]

            def closed(
                t: Tally,
                r: str = reason,
                s: Any = score,
                v: bool = resolved,
                m: int = minutes,
                k: bool = met,
            ) -> None:
                t.closed[r] = t.closed.get(r, 0) + 1
                if s is not None:
                    t.ratings.append(s)
                if v:
                    t.final.append(m)
                    t.final_met += k

            count(ticket.closed_at, _assignee(one, ticket.closed_at), closed)

    def backlog(end_day: date, assignee: str | None = None) -> dict[str, int]:
        end = reports.day_start(end_day + timedelta(days=1), zone)
        states = {"pending": 0, "processing": 0, "cancelled": 0}
        for one in (one for one in stories if _in_scope(one.ticket, query)):
            before = [move for move in one.moves if move[0] < end]
            if not before:
                continue
            _, state, who = before[-1]
            if state == "completed" or (query.assignees and who not in query.assignees):
                continue
            if assignee is None or who == assignee:
                states[state] += 1
        return states

    assignees = set(by_assignee) | {
        who
        for one in stories
        for who in {move[2] for move in one.moves}
        if any(backlog(query.last, who).values())
    }
    return {
        "totals": {**totals.figures(), "backlog": backlog(query.last)},
        "series": [
            {"period_start": start, **series[start].figures(), "backlog": backlog(last)}
            for start, _, last in cuts
        ],
        "by_assignee": [
            {
                "assignee_id": who,
                **by_assignee.get(who, Tally()).figures(),
                "backlog": backlog(query.last, who),
            }
            for who in sorted(assignees)
        ],
    }


def _in_scope(ticket: Ticket, query: ReportQuery) -> bool:
    """Whether the report's workspace and type filters keep the ticket."""
    if query.workspace_id is not None and ticket.workspace_id != query.workspace_id:
        return False
    return not query.types or ticket.ticket_type in query.types


def _add_submitted(tally: Tally) -> None:
    tally.submitted += 1


QUERIES = st.lists(
    st.tuples(
        st.floats(0, 1),  # where in the history's days the report starts
        st.floats(0, 1),  # how much of the rest it covers
        st.sampled_from(list(Interval)),
        st.booleans(),  # the last history's workspace only
        st.sets(st.sampled_from(TYPES), max_size=2),
        st.sets(st.integers(0, 2), max_size=2),  # assignees: the admin, a handler
    ),
    min_size=2,
    max_size=5,
)


@settings(
    max_examples=int(os.environ.get("REPORT_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a seed does not shrink usefully
)
@given(seed=st.integers(0, 2**32), queries=QUERIES)
def test_every_figure_equals_the_brute_force_count_from_the_aggregates(
    desk: Desk, seed: int, queries: list[tuple[Any, ...]]
) -> None:
    began = desk.clock.now().astimezone(desk.app.store.service_level.calendar.zone).date()
    play(desk, history(seed))
    maintenance.catch_up(desk.view, desk.event_log)
    stories = [story(desk, ticket_id) for ticket_id in desk.tickets]
    workspaces = [one.ticket.workspace_id for one in stories]
    people = [ADMIN.account_id, *(h.account_id for h in desk.handlers)]
    answer = Reports(desk.view)
    calendar_zone = desk.app.store.service_level.calendar.zone
    days = (desk.clock.now().astimezone(calendar_zone).date() - began).days + 4
    for start, share, interval, narrow, types, who in queries:
        first_day = began - timedelta(days=2) + timedelta(days=int(start * days))
        query = ReportQuery(
            first=first_day,
            last=first_day + timedelta(days=int(share * (days - int(start * days)))),
            interval=interval,
            workspace_id=workspaces[-1] if narrow and workspaces else None,
            types=tuple(sorted(types)),
            assignees=tuple(sorted(people[n] for n in who)),
        )
        want = expected(desk, stories, query)
        for cells in (True, False):  # the cells, and the facts alone
            got = answer.report(query, cells=cells)
            assert got["totals"] == want["totals"], (query, cells)
            assert got["series"] == want["series"], (query, cells)
            assert got["by_assignee"] == want["by_assignee"], (query, cells)
    _, differences = maintenance.audit(desk.view, desk.event_log)
    assert differences == []
    # the cells added up ticket by ticket are those of all the facts at once
    zone = desk.app.store.service_level.calendar.zone.key
    with desk.view.datastore.transaction(commit=False) as curs:
        curs.execute("CREATE TEMPORARY TABLE bulk_cells (LIKE report_cells) ON COMMIT DROP")
        cells_from_facts(curs, zone, "bulk_cells")
        for first, second in (("report_cells", "bulk_cells"), ("bulk_cells", "report_cells")):
            extra = curs.execute(
                f"SELECT * FROM {first} EXCEPT SELECT * FROM {second}"  # noqa: S608 - fixed
            ).fetchall()
            assert extra == [], (first, extra[:5])
