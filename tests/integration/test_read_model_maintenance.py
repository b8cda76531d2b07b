"""Rebuild, audit and status of the read models, and the projection worker's restarts."""

from __future__ import annotations

import threading
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from application.bootstrap import build_app
from application.config import Settings
from application.database import drop_database, ensure_database, eventsourcing_env
from application.tickets import TicketingApp
from domain.ticket import Ticket
from projections import maintenance
from projections.queries import ListFilter, Scope, TicketLists
from projections.view import ReadModelView, TicketingEventLog
from tests.integration.conftest import ADMIN, caught_up, user, workspace_with
from workers.cli import run
from workers.embedded_postgres import EmbeddedPostgres
from workers.projector import run_projections


def test_a_backlog_is_worked_off_in_batches_by_two_at_once(
    app: TicketingApp, tools: tuple[ReadModelView, TicketingEventLog]
) -> None:
    view, event_log = tools
    alice = user()
    ws = workspace_with(app, alice)
    tickets = [
        app.submit(alice, ws, ticket_type="bug", title=f"backlog {n}", description="d").ticket.id
        for n in range(5)
    ]  # stored while no projection runs
    for ticket_id in tickets:
        app.accept(ADMIN, str(ticket_id))
        app.reply(ADMIN, str(ticket_id), "h")
    stored = app.store.recorder.max_notification_id() or 0
    assert view.position() < stored, "a backlog"
    reached: list[int] = []
    workers = [
        threading.Thread(
            target=lambda: reached.append(maintenance.catch_up(view, event_log, batch=3))
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(reached) == 2, "both finished"
    assert max(reached) >= stored
    with view.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT ticket_id, status, version FROM ticket_summaries WHERE ticket_id = ANY(%s)",
            (tickets,),
        ).fetchall()
    aggregates: list[Ticket] = [app.store.repository.get(ticket_id) for ticket_id in tickets]
    expected = {ticket.id: (ticket.status, ticket.version) for ticket in aggregates}
    assert {r["ticket_id"]: (r["status"], r["version"]) for r in rows} == expected
    assert set(expected.values()) == {("feedback_provided", 4)}
    position, differences = maintenance.audit(view, event_log)
    assert position >= stored
    assert differences == [], "each event applied exactly once"


def test_starting_beside_a_busy_projection_does_not_wait_for_it(
    tools: tuple[ReadModelView, TicketingEventLog], database_url: str
) -> None:
    view, _ = tools
    with psycopg.connect(database_url) as busy:  # a projection mid-transaction
        busy.execute("UPDATE ticket_summaries SET title = title WHERE number = 1")
        busy.execute("UPDATE memberships SET account_id = account_id WHERE false")
        starting = threading.Thread(target=ReadModelView(view.datastore).create_table)
        starting.start()
        starting.join(timeout=10)
        assert not starting.is_alive(), "a start with current tables takes no table locks"
        busy.rollback()
    starting.join(timeout=30)


def test_audit_finds_tampering_and_rebuild_repairs_it(
    app: TicketingApp, projecting: None, tools: tuple[ReadModelView, TicketingEventLog]
) -> None:
    view, event_log = tools
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = app.submit(
        alice, ws, ticket_type="bug", title="Original", description="d"
    ).ticket.id
    caught_up(app)
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(
            "UPDATE ticket_summaries SET title = 'Tampered' WHERE ticket_id = %s", (ticket_id,)
        )
    _, differences = maintenance.audit(view, event_log)
    assert {(d.table, d.side, d.row["title"]) for d in differences} == {
        ("ticket_summaries", "live only", "Tampered"),
        ("ticket_summaries", "replay only", "Original"),
    }
    last = maintenance.rebuild(view, event_log)
    assert last == app.store.recorder.max_notification_id()
    assert view.position() == last
    assert maintenance.audit(view, event_log)[1] == []
    with view.datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT title FROM ticket_summaries WHERE ticket_id = %s", (ticket_id,)
        ).fetchone()
    assert row is not None
    assert row["title"] == "Original"


def test_status_reports_position_and_lag(
    app: TicketingApp, tools: tuple[ReadModelView, TicketingEventLog]
) -> None:
    view, event_log = tools
    alice = user()
    workspace_with(app, alice)  # written while no projection runs
    [entry] = maintenance.status(view, event_log)
    assert entry.head == app.store.recorder.max_notification_id()
    assert entry.lag == entry.head - entry.position
    assert entry.lag >= 1


def test_cli_audit_and_rebuild(
    database_url: str,
    app: TicketingApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TICKETING_DATABASE_URL", database_url)
    alice = user()  # a ticket of its own to tamper with, whatever ran before
    app.submit(alice, workspace_with(app, alice), ticket_type="bug", title="t", description="d")
    assert run(["projections", "rebuild"]) == 0
    assert run(["projections", "status"]) == 0
    assert "read_models" in capsys.readouterr().out
    assert run(["audit", "verify", "--without-checkpoints"]) == 0
    assert "audit passed" in capsys.readouterr().out
    event_log = TicketingEventLog(eventsourcing_env(database_url, 1))
    try:
        with event_log.datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE ticket_summaries SET title = title || '!' "
                "WHERE number = (SELECT max(number) FROM ticket_summaries)"
            )
    finally:
        event_log.close()
    assert run(["audit", "verify", "--without-checkpoints"]) == 1
    assert "audit FAILED" in capsys.readouterr().out
    assert run(["projections", "rebuild"]) == 0
    assert run(["audit", "verify", "--without-checkpoints"]) == 0


def test_the_worker_survives_a_database_restart(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    server.start()
    try:
        url = server.url("restart")  # a throwaway server: nothing to drop afterwards
        ensure_database(url)
        app = build_app(Settings(database_url=url, default_assignee=ADMIN.account_id))
        event_log = TicketingEventLog(eventsourcing_env(url, 1))
        view = ReadModelView(event_log.datastore)
        view.create_table()
        stop = threading.Event()
        thread = threading.Thread(target=run_projections, args=(url, stop))
        thread.start()
        try:
            alice = user()
            ws = workspace_with(app, alice)
            app.submit(alice, ws, ticket_type="bug", title="before", description="d")
            assert view.wait_for(app.store.recorder.max_notification_id() or 0, 30), "caught up"
            server.stop()
            server.start()
            app.submit(alice, ws, ticket_type="bug", title="after", description="d")
            assert view.wait_for(app.store.recorder.max_notification_id() or 0, 90), "caught up"
            with view.datastore.get_connection() as conn:
                titles = {r["title"] for r in conn.execute("SELECT title FROM ticket_summaries")}
            assert titles == {"before", "after"}
        finally:
            stop.set()
            thread.join(timeout=60)
            app.store.close()
            event_log.close()
        assert not thread.is_alive()
    finally:
        server.stop()


def test_readers_keep_the_old_rows_until_a_rebuild_commits(
    app: TicketingApp, projecting: None, tools: tuple[ReadModelView, TicketingEventLog]
) -> None:
    view, event_log = tools
    alice = user()
    ws = workspace_with(app, alice)
    submitted = app.submit(alice, ws, ticket_type="bug", title="kept", description="d")
    ticket_id = str(submitted.ticket.id)
    caught_up(app)
    lists = TicketLists(view, b"k")
    seen_during_rebuild: list[list[str]] = []

    def progress(done: int, total: int) -> None:  # runs inside the rebuild's transaction
        page = lists.page(Scope.workspace(ws), ListFilter(), 20, None)
        seen_during_rebuild.append([item["id"] for item in page.items])

    maintenance.rebuild(view, event_log, progress)
    assert seen_during_rebuild, "the rebuild reported progress"
    assert all(ids == [ticket_id] for ids in seen_during_rebuild)


def test_changed_sla_settings_are_reported_until_a_rebuild(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_conninfo(database_url, dbname=f"sla_settings_{uuid4().hex[:8]}")
    ensure_database(url)
    try:
        app = build_app(Settings(database_url=url, default_assignee=ADMIN.account_id))
        try:
            alice = user()
            ticket_id = app.submit(
                alice, workspace_with(app, alice), ticket_type="bug", title="t", description="d"
            ).ticket.id
        finally:
            app.store.close()
        monkeypatch.setenv("TICKETING_DATABASE_URL", url)
        assert run(["projections", "rebuild"]) == 0
        assert run(["projections", "status"]) == 0
        assert "computed with the current service-hours settings" in capsys.readouterr().out

        monkeypatch.setenv("TICKETING_SLA_FIRST_RESPONSE_HOURS", "2")
        assert run(["projections", "status"]) == 0
        assert "run `ticketing projections rebuild`" in capsys.readouterr().out
        assert run(["audit", "verify", "--without-checkpoints"]) == 1, (
            "the stored clocks differ from a replay now"
        )
        assert run(["projections", "rebuild"]) == 0
        assert run(["projections", "status"]) == 0
        assert "computed with the current service-hours settings" in capsys.readouterr().out
        assert run(["audit", "verify", "--without-checkpoints"]) == 0
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT sla_clocks FROM ticket_summaries WHERE ticket_id = %s", (ticket_id,)
            ).fetchone()
        assert row is not None
        assert row[0]["first_response"]["target_us"] == 2 * 3600 * 1_000_000, "the new target"
    finally:
        drop_database(url)
