"""The read-model projection against the real event store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking
from eventsourcing.projection import ProjectionRunner

from application.database import eventsourcing_env
from application.tickets import CommandResult, TicketingApp
from projections.view import ReadModelView, TicketingEventLog, start_runner
from tests.integration.conftest import ADMIN, submit, user, workspace_with

Runner = ProjectionRunner[TicketingEventLog, ReadModelView]


@pytest.fixture
def runner(database_url: str) -> Iterator[Runner]:
    with start_runner(eventsourcing_env(database_url, 2)) as running:
        yield running


def summary_row(runner: Runner, ticket_id: object) -> dict[str, Any]:
    with runner.view.datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT * FROM ticket_summaries WHERE ticket_id = %s", (ticket_id,)
        ).fetchone()
    assert row is not None
    return dict(row)


def members(runner: Runner, workspace_id: str) -> set[str]:
    with runner.view.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT account_id FROM memberships WHERE workspace_id = %s", (workspace_id,)
        ).fetchall()
    return {row["account_id"] for row in rows}


def test_each_ticket_event_changes_the_summary(app: TicketingApp, runner: Runner) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    result = submit(app, alice, ws, title="Slow dashboards")
    ticket_id = str(result.ticket.id)
    runner.wait(result.position, timeout=5)
    row = summary_row(runner, result.ticket.id)
    assert (row["status"], row["queue_state"], row["title"]) == (
        "waiting_for_assignment",
        "pending",
        "Slow dashboards",
    )
    assert (row["submitter_id"], row["assignee_id"], row["version"]) == (
        alice.account_id,
        ADMIN.account_id,
        2,
    )

    steps: list[tuple[Callable[[], CommandResult], str, str]] = [
        (lambda: app.accept(ADMIN, ticket_id), "waiting_for_feedback", "processing"),
        (
            lambda: app.reply(ADMIN, ticket_id, "auto", automatic=True),
            "waiting_for_feedback",
            "processing",
        ),
        (lambda: app.reply(ADMIN, ticket_id, "answer"), "feedback_provided", "processing"),
        (lambda: app.reply(alice, ticket_id, "more"), "waiting_for_feedback", "processing"),
        (lambda: app.complete(ADMIN, ticket_id), "closed", "completed"),
        (lambda: app.rate(alice, ticket_id, 3), "closed", "completed"),
    ]
    for command, status, queue_state in steps:
        done = command()
        runner.wait(done.position, timeout=5)
        row = summary_row(runner, result.ticket.id)
        assert (row["status"], row["queue_state"]) == (status, queue_state)
        assert row["version"] == done.ticket.version
        assert row["updated_at"] == done.ticket.modified_on


def test_revoke_restart_and_forward(app: TicketingApp, runner: Runner) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = str(submit(app, alice, ws).ticket.id)
    app.revoke(alice, ticket_id)
    runner.wait(app.restart(alice, ticket_id).position, timeout=5)
    assert summary_row(runner, ticket_id)["status"] == "waiting_for_assignment"
    handler = f"h-{uuid4().hex[:6]}"
    app.handlers.register_handler(ADMIN, handler, "Helen", [])
    done = app.forward(ADMIN, ticket_id, handler)
    runner.wait(done.position, timeout=5)
    row = summary_row(runner, ticket_id)
    assert (row["assignee_id"], row["assignee_name"]) == (handler, "Helen")


def test_memberships_follow_the_platform(app: TicketingApp, runner: Runner) -> None:
    alice, bob = user(), user()
    ws = workspace_with(app, alice, bob)
    app.platform.member_left(ws, bob.account_id, str(uuid4()))
    app.platform.member_joined(ws, bob.account_id, str(uuid4()))
    app.platform.member_left(ws, alice.account_id, str(uuid4()))
    runner.wait(_head(app), timeout=5)
    assert members(runner, ws) == {bob.account_id}
    app.platform.workspace_dissolved(ws, str(uuid4()))
    app.platform.member_joined(ws, alice.account_id, str(uuid4()))
    runner.wait(_head(app), timeout=5)
    assert members(runner, ws) == set()


def _head(app: TicketingApp) -> int:
    return app.store.recorder.max_notification_id() or 0


def test_reprocessing_an_event_changes_nothing(app: TicketingApp, runner: Runner) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    result = submit(app, alice, ws)
    runner.wait(result.position, timeout=5)
    before = summary_row(runner, result.ticket.id)
    notification = app.store.notification_log.select(start=result.position, limit=1)[0]
    event = app.store.mapper.to_domain_event(notification)
    applied = runner.view.apply(event, Tracking("ticketing", notification.id))
    assert applied is False
    assert summary_row(runner, result.ticket.id) == before
