"""The read-model projection against the real event store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest

from application.database import eventsourcing_env
from application.subscription import MAX_WAIT
from application.tickets import CommandResult, TicketingApp
from projections import maintenance, summaries
from projections.live import LiveProjection
from tests.integration.conftest import ADMIN, submit, user, workspace_with

Runner = LiveProjection

DELIVERY = 5.0  # well above the one-second fallback read


@pytest.fixture
def runner(database_url: str) -> Iterator[Runner]:
    with LiveProjection(eventsourcing_env(database_url, 2)) as running:
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


def test_a_second_projection_applies_nothing_twice(
    app: TicketingApp, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    result = submit(app, alice, ws)
    runner.wait(result.position, timeout=5)
    before = summary_row(runner, result.ticket.id)
    applied: list[object] = []
    monkeypatch.setattr(
        maintenance, "apply_event", lambda curs, event, level: applied.append(event)
    )
    # another worker's projection, as every worker runs one: it reads from the position
    # recorded by the first, under the tracking row's lock
    reached = maintenance.catch_up(runner.view, runner.event_log)
    assert reached == runner.view.position() >= result.position
    assert applied == []
    assert summary_row(runner, result.ticket.id) == before


def test_a_burst_of_writes_is_applied_in_a_few_transactions(
    app: TicketingApp, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions: list[int] = []
    set_position = runner.view.set_position

    def counting(curs: Any, notification_id: int) -> None:
        transactions.append(notification_id)
        set_position(curs, notification_id)

    monkeypatch.setattr(runner.view, "set_position", counting)
    alice = user()
    ws = workspace_with(app, alice)
    runner.wait(_head(app), timeout=5)
    transactions.clear()
    # the tracking row held (as a rebuild holds it) while 50 tickets are submitted, so that
    # all their events are waiting when the projection looks
    with runner.view.datastore.transaction(commit=True) as curs:
        runner.view.locked_position(curs)
        results = [submit(app, alice, ws) for _ in range(50)]
    runner.wait(results[-1].position, timeout=10)
    events = results[-1].position - results[0].position + 1
    assert events >= 50
    assert len(transactions) <= 2, f"{events} events in {len(transactions)} transactions"
    assert all(summary_row(runner, result.ticket.id) for result in results)


def test_a_failing_event_stops_the_projection_right_before_it(
    app: TicketingApp, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    before, _poison, after = (
        submit(app, alice, ws, title=title) for title in ("Before", "Poison", "After")
    )
    apply_event = summaries.apply_event

    def failing(curs: Any, event: Any, service_level: Any) -> None:
        if getattr(event, "title", None) == "Poison":
            raise RuntimeError("cannot apply this one")
        apply_event(curs, event, service_level)

    monkeypatch.setattr(maintenance, "apply_event", failing)
    with LiveProjection(eventsourcing_env(database_url, 2)) as projection:
        with pytest.raises(RuntimeError, match="cannot apply this one"):
            projection.wait(after.position, timeout=10)
        assert projection.view.position() == before.position  # the poison's first event follows


def test_an_event_whose_notification_never_comes_is_applied_within_a_second_or_so(
    app: TicketingApp, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    runner.wait(_head(app), timeout=5)
    monkeypatch.setattr(app.store.recorder, "_notify_channel", lambda curs: None)
    result = submit(app, alice, ws)  # stored without NOTIFY
    started = time.monotonic()
    runner.wait(result.position, timeout=DELIVERY)
    assert time.monotonic() - started < 2 * MAX_WAIT + 0.5, "the fallback read found it"
