"""Submission gates, ticket owners and applied platform events (``application.gates``):
the races they settle, their recovery from a crash halfway, and their filling from a store
written before they existed."""

from __future__ import annotations

import select
import threading
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from application.bootstrap import build_app
from application.config import Settings
from application.database import drop_database, ensure_database
from application.gates import ACCOUNT, WORKSPACE
from application.plumbing import WorkerPlumbing
from application.recorder import TicketingRecorder
from application.records import ConsumedOffset, Gate
from application.tickets import TicketingApp
from domain.errors import NotAllowed
from domain.platform import Workspace
from domain.status import CloseReason, Status
from tests.integration.conftest import ADMIN, AppFactory, run_together, submit, user, workspace_with


@pytest.mark.parametrize("round_", range(8))
def test_many_submissions_racing_a_dissolution_are_each_refused_or_closed(
    make_app: AppFactory, round_: int
) -> None:
    apps = [make_app() for _ in range(5)]
    members = [user() for _ in range(4)]
    ws = workspace_with(apps[0], *members)
    results = run_together(
        *[
            lambda app=app, who=who: submit(app, who, ws)
            for app, who in zip(apps[:4], members, strict=True)
        ],
        lambda: apps[4].platform.workspace_dissolved(ws, str(uuid4())),
    )
    for result in results[:4]:
        if isinstance(result, NotAllowed):
            continue
        assert not isinstance(result, Exception), result
        ticket = apps[0].ticket(ADMIN, str(result.ticket.id))  # type: ignore[attr-defined]
        assert (ticket.status, ticket.close_reason) == (
            Status.CLOSED,
            CloseReason.WORKSPACE_DISSOLVED,
        )


def test_a_platform_event_delivered_twice_at_once_has_one_effect(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()
    ws, alice, event_id = f"ws-{uuid4().hex[:8]}", user(), str(uuid4())
    results = run_together(
        lambda: first.platform.member_joined(ws, alice.account_id, event_id),
        lambda: second.platform.member_joined(ws, alice.account_id, event_id),
    )
    assert sorted(results) == [False, True]  # type: ignore[type-var]
    joined = [
        e for e in first.store.events.get(Workspace.create_id(ws)) if "Joined" in type(e).__name__
    ]
    assert len(joined) == 1


@pytest.mark.parametrize("round_", range(6))
def test_one_dissolution_delivered_twice_at_once_closes_everything_once(
    make_app: AppFactory, round_: int
) -> None:
    first, second = make_app(), make_app()
    alice = user()
    ws = workspace_with(first, alice)
    tickets = [str(submit(first, alice, ws).ticket.id) for _ in range(20)]
    event_id = str(uuid4())
    results = run_together(
        lambda: first.platform.workspace_dissolved(ws, event_id),
        lambda: second.platform.workspace_dissolved(ws, event_id),
    )
    assert sorted(results, key=str) == [False, True], "applied once, the other a duplicate"
    assert {first.ticket(ADMIN, t).close_reason for t in tickets} == {
        CloseReason.WORKSPACE_DISSOLVED
    }
    assert {len(first.history(ADMIN, t)) for t in tickets} == {3}, "each closed once"


def test_a_cancellation_that_died_halfway_finishes_when_delivered_again(
    app: TicketingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    tickets = [submit(app, alice, ws).ticket.id for _ in range(5)]
    monkeypatch.setattr("application.platform_facts.CLOSE_BATCH", 2)
    event_id, calls = str(uuid4()), {"n": 0}
    get_ticket = app.store.get_ticket

    def dying(ticket_id: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # in the second batch: the process dies
            raise SystemExit("killed")
        return get_ticket(ticket_id)

    monkeypatch.setattr(app.store, "get_ticket", dying)
    offset = ConsumedOffset("gates-test", "platform.accounts", 0, 41)
    with pytest.raises(SystemExit):
        app.platform.account_cancelled(alice.account_id, event_id, offset)
    with pytest.raises(NotAllowed):
        submit(app, alice, ws)  # the gate closed before anything else
    assert WorkerPlumbing(app.store).consumer_offsets("gates-test") == {}, (
        "not consumed until every ticket closed"
    )

    monkeypatch.setattr(app.store, "get_ticket", get_ticket)
    assert app.platform.account_cancelled(alice.account_id, event_id, offset) is False, (
        "a duplicate"
    )
    assert {app.ticket(ADMIN, str(t)).close_reason for t in tickets} == {
        CloseReason.ACCOUNT_CANCELLED
    }
    assert WorkerPlumbing(app.store).consumer_offsets("gates-test") == {
        ("platform.accounts", 0): 41
    }


def test_the_tables_are_filled_from_a_store_written_before_them(database_url: str) -> None:
    url = make_conninfo(database_url, dbname=f"gates_{uuid4().hex[:12]}")
    ensure_database(url)
    settings = Settings(database_url=url, default_assignee=ADMIN.account_id)
    app = build_app(settings)
    try:
        alice, bob = user(), user()
        ws, gone = workspace_with(app, alice, bob), workspace_with(app, bob)
        ticket = submit(app, alice, ws).ticket.id
        joined = str(uuid4())
        app.platform.member_joined(ws, "carol", joined)
        app.platform.workspace_dissolved(gone, str(uuid4()))
        app.platform.account_cancelled(bob.account_id, str(uuid4()))
        with app.store.datastore.transaction(commit=True) as curs:
            for table in ("ticket_owners", "submission_gates", "applied_platform_events",
                          "ticketing_migrations"):  # fmt: skip
                curs.execute(f"DELETE FROM {table}")  # noqa: S608 - our tables
    finally:
        app.store.close()
    app = build_app(settings)  # a start after the upgrade fills them from the events
    try:
        ledger = app.store.ledger
        assert ledger.tickets_owned(Gate(WORKSPACE, ws)) == [ticket]
        assert ledger.tickets_owned(Gate(ACCOUNT, alice.account_id)) == [ticket]
        assert ledger.was_applied(joined)
        assert app.platform.member_joined(ws, "carol", joined) is False, "its effect is remembered"
        with pytest.raises(NotAllowed):
            submit(app, bob, ws)  # cancelled
        assert submit(app, alice, ws).ticket.number > 0
    finally:
        app.store.close()
        drop_database(url)


def test_a_process_starting_beside_a_submission_in_flight_neither_waits_nor_deadlocks(
    make_app: AppFactory, database_url: str
) -> None:
    """A submission holds ``ticket_owners`` while it waits for the events table; a process
    starting then must not run DDL that locks both (it deadlocked with the projection)."""
    make_app()  # the tables exist
    with psycopg.connect(database_url) as submission:
        submission.execute(
            "INSERT INTO ticket_owners VALUES (%s, 'ws-in-flight', 'someone')", (uuid4(),)
        )  # the submission's transaction stays open: it holds ticket_owners
        started: list[TicketingApp] = []
        starting = threading.Thread(target=lambda: started.append(make_app()), daemon=True)
        starting.start()
        starting.join(timeout=10)
        held_up = starting.is_alive()
        submission.rollback()  # lets a held-up start finish, so the test ends cleanly
    starting.join(timeout=30)
    assert not held_up, "a new process waited for a submission in flight (DDL on its tables)"
    assert started


def test_an_event_id_applied_in_another_spelling_counts_in_the_canonical_one(
    app: TicketingApp,
) -> None:
    """Ids applied before ids were compared as UUIDs keep their effect exactly-once."""
    from application import gates

    spelt = str(uuid4()).upper().replace("-", "")
    with app.store.datastore.transaction(commit=True) as curs:
        curs.execute("INSERT INTO applied_platform_events (event_id) VALUES (%s)", (spelt,))
        curs.execute(
            "INSERT INTO applied_platform_events (event_id) VALUES ('sweep:not-a-uuid') "
            "ON CONFLICT DO NOTHING"
        )
        for statement in gates.DDL:
            curs.execute(statement)
    assert app.store.ledger.was_applied(str(UUID(spelt)))


def test_a_refusal_that_arrives_while_the_insert_still_sends_is_the_refusal_raised(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg reads a pipeline's answers as they arrive, also while the insert is still
    sending its statements. A closed gate's refusal read then used to leave the statements it
    aborted pending, and the transaction's end failed with "pipeline aborted" in its place:
    eventsourcing retried that ten times, 0.2 s apart, and raised an OperationalError (CI:
    tests/integration/test_report_figures.py failed so on a loaded machine). Here the insert
    waits until the refusal has arrived before it sends the rest: it must still be a
    refusal."""
    first, second = make_app(), make_app()
    alice = user()
    ws = workspace_with(first, alice)
    submit(first, alice, ws)  # the workspace is in the first process's cache
    second.platform.workspace_dissolved(ws, str(uuid4()))
    insert = TicketingRecorder._insert_stored_events
    attempts = []

    def after_the_answer(self: TicketingRecorder, curs: Any, *args: Any, **kwargs: Any) -> None:
        attempts.append(1)
        socket = curs.connection.pgconn.socket
        assert select.select([socket], [], [], 5)[0], "the gate's answer did not arrive in 5 s"
        insert(self, curs, *args, **kwargs)

    monkeypatch.setattr(TicketingRecorder, "_insert_stored_events", after_the_answer)
    with pytest.raises(NotAllowed):
        submit(first, alice, ws)
    assert len(attempts) == 1, "the refusal stood at once, not after retries of the insert"
