"""Random ticket histories projected exactly: every read-model column against the aggregate."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.database import eventsourcing_env
from application.errors import TicketNotFound
from application.tickets import TicketingApp
from domain.actors import Actor, Role
from domain.errors import DomainError
from domain.sla import SlaClocks
from domain.ticket import Ticket
from projections import maintenance
from projections.queries import summary
from projections.summaries import NOT_DUE
from projections.view import ReadModelView, TicketingEventLog
from tests.integration.conftest import ADMIN, user, workspace_with

OPERATIONS = st.lists(
    st.tuples(
        # weighted towards the steps that move a ticket through its life, so that histories
        # reach every status and leave each one by every way out
        st.sampled_from(
            ["submit", "submit", "user reply", "user reply", "user reply", "handler reply",
             "handler reply", "handler reply", "automatic reply", "accept", "accept", "accept",
             "revoke", "restart", "close", "close", "complete", "rate", "forward", "leave",
             "join", "stranger reply", "note", "note"]
        ),
        st.integers(0, 2),
        st.integers(0, 3),
        st.integers(0, 60 * 60),  # minutes that pass before the step
    ),
    min_size=10,
    max_size=40,
)  # fmt: skip


def perform(
    app: TicketingApp, operation: str, actor: Actor, ticket: str, ws: str, handler: str
) -> None:
    """One step of a random history; refusals are expected and record nothing."""
    match operation:
        case "user reply":
            app.reply(actor, ticket, "u")
        case "stranger reply":
            app.reply(user(), ticket, "s")
        case "handler reply":
            app.reply(ADMIN, ticket, "h")
        case "automatic reply":
            app.reply(ADMIN, ticket, "a", automatic=True)
        case "accept":
            app.accept(ADMIN, ticket)
        case "revoke":
            app.revoke(actor, ticket)
        case "restart":
            app.restart(actor, ticket)
        case "close":
            app.close(actor, ticket)
        case "complete":
            app.complete(ADMIN, ticket)
        case "rate":
            app.rate(actor, ticket, 4)
        case "forward":
            app.forward(ADMIN, ticket, handler)
        case "leave":
            app.platform.member_left(ws, actor.account_id, str(uuid4()))
        case "join":
            app.platform.member_joined(ws, actor.account_id, str(uuid4()))
        case "note":
            app.add_note(ADMIN, ticket, "n")


READER = Actor("reader", Role.USER)

# every column of a summary, as the ticket itself has it; the SLA columns are compared through
# what they are for (the details' sla, the due time lists sort by)
SLA_COLUMNS = {
    "sla_clocks", "sla_due_at", "first_response_breached_after", "resolution_breached_after",
    "first_response_due_at", "resolution_due_at",
}  # fmt: skip


def expected_row(ticket: Ticket, events: list[Any]) -> dict[str, Any]:
    """What the read model must hold for this ticket, column by column (``events``: its
    stored events)."""
    assignee = ticket.assignee or {}
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "workspace_id": ticket.workspace_id,
        "type": ticket.ticket_type,
        "title": ticket.title,
        "status": ticket.status,
        "queue_state": ticket.queue_state,
        "submitter_id": ticket.submitter["account_id"],
        "submitter_name": ticket.submitter.get("name", ""),
        "assignee_id": assignee.get("account_id"),
        "assignee_name": assignee.get("name"),
        "submitted_at": ticket.created_on,
        # lists are the same for everyone: they show the ticket as users know it, notes aside
        # (the version column, never served, is the store's at the last event users see)
        "updated_at": ticket.updated_for(READER),
        "version": max(
            e.originator_version for e in events if type(e).__name__ != "StaffNoteAdded"
        ),
        "feedback_provided_since": ticket.feedback_provided_since,
        "first_responded_at": ticket.first_responded_at,
        "first_response_breach_recorded": "first_response" in ticket.sla_breaches,
        "resolution_breach_recorded": "resolution" in ticket.sla_breaches,
    }


@pytest.fixture
def own(
    own_database: str, clock: SettableClock
) -> Iterator[tuple[TicketingApp, ReadModelView, TicketingEventLog]]:
    """The application and the read models on a database of this test's own: the audit after
    each history replays this test's events, not the whole session's."""
    app = build_app(
        Settings(database_url=own_database, default_assignee=ADMIN.account_id), clock=clock
    )
    view = ReadModelView(app.store.datastore, service_level=app.store.service_level)
    view.create_table()
    event_log = TicketingEventLog(eventsourcing_env(own_database, 2))
    try:
        yield app, view, event_log
    finally:
        event_log.close()
        app.store.close()


@settings(
    max_examples=int(os.environ.get("READ_MODEL_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
def test_random_histories_project_exactly(
    own: tuple[TicketingApp, ReadModelView, TicketingEventLog],
    clock: SettableClock,
    operations: list[tuple[str, int, int, int]],
) -> None:
    app, view, event_log = own
    users = [user() for _ in range(3)]
    ws = workspace_with(app, *users)
    handler = f"h-{uuid4().hex[:6]}"
    app.handlers.register_handler(ADMIN, handler, "Hal", [])
    tickets: list[UUID] = []
    submitters: list[Actor] = []
    for operation, who, which, minutes in operations:
        clock.advance(timedelta(minutes=minutes))
        with contextlib.suppress(DomainError, TicketNotFound):
            if operation == "submit":
                result = app.submit(users[who], ws, ticket_type="bug", title="t", description="d")
                tickets.append(result.ticket.id)
                submitters.append(users[who])
            elif tickets:
                # the user's steps are the submitter's: they are the ones that move a ticket
                n = which % len(tickets)
                perform(app, operation, submitters[n], str(tickets[n]), ws, handler)
    maintenance.catch_up(view, event_log)  # as the worker does, in batches

    with view.datastore.get_connection() as conn:
        for ticket_id in tickets:
            row = conn.execute(
                "SELECT * FROM ticket_summaries WHERE ticket_id = %s", (ticket_id,)
            ).fetchone()
            aggregate: Aggregate = app.store.repository.get(ticket_id)
            assert isinstance(aggregate, Ticket)
            assert row is not None
            expected = expected_row(aggregate, list(app.store.events.get(ticket_id)))
            assert set(row) == set(expected) | SLA_COLUMNS, "a new column: compare it here"
            assert {column: row[column] for column in expected} == expected
            # the SLA clocks, as the ticket details show them, now and later
            calendar = app.store.service_level.calendar
            for later in (timedelta(0), timedelta(hours=5), timedelta(days=9)):
                now = clock.now() + later
                assert summary(row, calendar, now)["sla"] == vars(app.sla(aggregate, at=now))
            clocks = SlaClocks.from_state(row["sla_clocks"])
            assert row["sla_due_at"] == (clocks.settled(calendar).nearest_running_due_at or NOT_DUE)
        members = {
            r["account_id"]
            for r in conn.execute(
                "SELECT account_id FROM memberships WHERE workspace_id = %s", (ws,)
            )
        }
    assert members == {u.account_id for u in users if app.is_member(ws, u.account_id)}
    position, differences = maintenance.audit(view, event_log)
    assert position == app.store.recorder.max_notification_id()
    assert differences == []
