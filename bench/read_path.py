"""Read path: list queries on 1,000,000 tickets in 10,000 workspaces, and projection speed.

The read model is bulk-loaded with COPY (the projection's own speed is measured apart: a
rebuild, a worker working off a backlog, and the live runner applying events one by one).
Each list query is timed through the query layer (``TicketLists.page``: SQL building,
execution, row shaping, cursor signing) and as the same SQL run raw with psycopg, on the
same database in the same run. Targets: p95 <= 15 ms through the query layer, <= 2x raw.

    .venv/bin/python bench/read_path.py [--tickets 1000000] [--workspaces 10000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from bench.support import scratch_database
from domain.actors import Actor, Role
from domain.sla import SlaClocks
from domain.status import CloseReason
from domain.ticket import Ticket
from projections import maintenance
from projections.live import LiveProjection
from projections.queries import DUE, NEWEST, ListFilter, Scope, TicketLists
from projections.schema import READ_MODEL_TABLES
from projections.summaries import SLA_COLUMNS, clock_columns
from projections.view import ReadModelView, TicketingEventLog

STATUSES = [
    "waiting_for_assignment",
    "waiting_for_feedback",
    "feedback_provided",
    "closed",
    "revoked",
]
TYPES = ["bug", "usage", "purchase", "documentation", "feature_request", "other"]
WORDS = [
    "dashboard",
    "latency",
    "alert",
    "billing",
    "export",
    "login",
    "agent",
    "query",
    "trace",
    "quota",
]
MEMBERS_PER_WORKSPACE = 5
RUNS = 400
LEVEL = ServiceLevel()


def clocks_for(status: str, at: datetime) -> SlaClocks:
    """SLA clocks of a ticket that reached ``status`` the way most tickets do."""
    calendar = LEVEL.calendar
    clocks = SlaClocks.started(LEVEL.default, at)
    if status == "waiting_for_assignment":
        return clocks
    answered = clocks.entered(calendar, "feedback_provided", at + timedelta(hours=3))
    answered = answered.responded(calendar, at + timedelta(hours=3))
    if status in ("feedback_provided", "revoked"):
        return answered
    resumed = answered.entered(calendar, "waiting_for_feedback", at + timedelta(hours=30))
    if status == "closed":
        return resumed.entered(calendar, "closed", at + timedelta(hours=50))
    return resumed


def bulk_load(conn: psycopg.Connection[Any], tickets: int, workspaces: int) -> None:
    """Fill ticket_summaries and memberships with COPY, then build statistics."""
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY ticket_summaries (ticket_id, number, workspace_id, type, title, status, "
            "submitter_id, submitter_name, assignee_id, assignee_name, submitted_at, updated_at, "
            f"version, {', '.join(SLA_COLUMNS)}) FROM STDIN"
        ) as copy,
    ):
        for n in range(tickets):
            workspace = n % workspaces
            submitter = f"acct-{workspace}-{rng.randrange(MEMBERS_PER_WORKSPACE)}"
            at = start + timedelta(seconds=n * 17)
            title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} problem {n}"
            status = rng.choice(STATUSES)
            sla = clock_columns(clocks_for(status, at), LEVEL)
            copy.write_row((
                uuid4(), n + 1, f"ws-{workspace}", rng.choice(TYPES), title, status,
                submitter, "Someone", f"handler-{rng.randrange(50)}", "Handler", at, at, 4,
                *(sla[column] for column in SLA_COLUMNS),
            ))  # fmt: skip
    with (
        conn.cursor() as cur,
        cur.copy("COPY memberships (workspace_id, account_id) FROM STDIN") as copy,
    ):
        for workspace in range(workspaces):
            for member in range(MEMBERS_PER_WORKSPACE):
                copy.write_row((f"ws-{workspace}", f"acct-{workspace}-{member}"))
                # each account is also a member of two other workspaces (My Tickets spans them)
                for other in (1, 2):
                    copy.write_row(
                        (f"ws-{(workspace + other) % workspaces}", f"acct-{workspace}-{member}")
                    )
    conn.execute("ANALYZE ticket_summaries")
    conn.execute("ANALYZE memberships")


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def timed(run: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


def list_benchmarks(
    url: str, tickets: int, workspaces: int
) -> list[tuple[str, float, float, float, float]]:
    event_log = TicketingEventLog(eventsourcing_env(url, 2))
    try:
        view = ReadModelView(event_log.datastore)
        view.create_table()
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            bulk_load(conn, tickets, workspaces)
            print(
                f"bulk load of {tickets:,} tickets: {time.perf_counter() - started:.0f}s",
                file=sys.stderr,
            )
            lists = TicketLists(view, b"bench")
            rng = random.Random(11)

            def a_workspace() -> Scope:
                return Scope.workspace(f"ws-{rng.randrange(workspaces)}")

            def an_account() -> str:
                return f"acct-{rng.randrange(workspaces)}-{rng.randrange(MEMBERS_PER_WORKSPACE)}"

            open_statuses = ["waiting_for_feedback", "feedback_provided"]

            def rare_title() -> ListFilter:
                return ListFilter(q=f"problem {rng.randrange(tickets)}")

            def a_queue() -> Scope:
                return Scope.assigned_to(f"handler-{rng.randrange(50)}")

            breached = ListFilter(breached=True)
            cases: list[tuple[str, str, Callable[[], tuple[Scope, ListFilter]]]] = [
                (
                    "All Tickets, status filter",
                    NEWEST,
                    lambda: (a_workspace(), ListFilter(statuses=open_statuses)),
                ),
                (
                    "All Tickets, title search",
                    NEWEST,
                    lambda: (a_workspace(), ListFilter(q=rng.choice(WORDS))),
                ),
                ("My Tickets", NEWEST, lambda: (Scope.mine(an_account()), ListFilter())),
                ("Admin, title search", NEWEST, lambda: (Scope.everything(), rare_title())),
                ("Handler queue, sort=due", DUE, lambda: (a_queue(), ListFilter())),
                ("Handler queue, breached=true", NEWEST, lambda: (a_queue(), breached)),
                ("Admin, sort=due, breached=true", DUE, lambda: (Scope.everything(), breached)),
            ]
            results = []
            for name, order, make in cases:

                def layer(
                    make: Callable[[], tuple[Scope, ListFilter]] = make, order: str = order
                ) -> None:
                    lists.page(*make(), 20, None, order)

                def raw(
                    make: Callable[[], tuple[Scope, ListFilter]] = make, order: str = order
                ) -> None:
                    query, params = lists.statement(*make(), 20, None, order)
                    conn.execute(query, params).fetchall()

                results.append((name, *percentiles(timed(layer)), *percentiles(timed(raw))))
        return results
    finally:
        event_log.close()


def rebuild_rate(url: str, tickets: int) -> tuple[int, float]:
    """Events per second of ``projections rebuild`` over a store of tickets with 5 events each."""
    app = build_app(Settings(database_url=url, default_assignee="admin"))
    admin = Actor("admin", Role.ADMIN, "Admin")
    now = datetime.now(UTC)
    try:
        batch: list[Ticket] = []
        for n in range(tickets):
            ticket = Ticket.submit(
                allocate_number=lambda n=n: n + 10_000_000,  # type: ignore[misc]
                workspace_id=f"ws-{n % 100}",
                ticket_type="bug",
                title=f"rebuild {n}",
                description="d",
                submitter=Actor(f"acct-{n % 500}", Role.USER, "Someone"),
                assignee={"account_id": "admin", "name": "Admin"},
                at=now,
            )
            ticket.accept(admin, at=now)
            ticket.reply(admin, "answer", at=now)
            ticket.close_by_platform(CloseReason.COMPLETED, at=now)
            batch.append(ticket)
            if len(batch) == 200:
                app.store.save(*batch)
                batch = []
        app.store.save(*batch)
    finally:
        app.store.close()
    event_log = TicketingEventLog(eventsourcing_env(url, 2))
    try:
        view = ReadModelView(event_log.datastore)
        view.create_table()
        events = maintenance.head(event_log)
        started = time.perf_counter()
        maintenance.rebuild(view, event_log)
        return events, events / (time.perf_counter() - started)
    finally:
        event_log.close()


def forget_read_models(view: ReadModelView) -> None:
    """Empty the read models and set their position to 0, as if nothing had been projected."""
    with view.datastore.transaction(commit=True) as curs:
        view.locked_position(curs)
        for table in READ_MODEL_TABLES:
            curs.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        view.set_position(curs, 0)


def catch_up_rates(url: str, live_events: int) -> tuple[float, float]:
    """Events per second of the worker's batched catch-up (the whole store) and of the live
    runner (its first ``live_events`` events), on the store ``rebuild_rate`` wrote."""
    env = eventsourcing_env(url, 2)
    event_log = TicketingEventLog(env)
    try:
        view = ReadModelView(event_log.datastore)
        forget_read_models(view)
        started = time.perf_counter()
        reached = maintenance.catch_up(view, event_log)
        batched = reached / (time.perf_counter() - started)
        forget_read_models(view)
        started = time.perf_counter()
        with LiveProjection(env) as projection:
            projection.wait(live_events, timeout=600)
        live = live_events / (time.perf_counter() - started)
        return batched, live
    finally:
        event_log.close()


def main() -> None:
    """Run the list benchmarks and the projection benchmarks; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--workspaces", type=int, default=10_000)
    parser.add_argument("--rebuild-tickets", type=int, default=20_000)
    parser.add_argument("--live-events", type=int, default=10_000)
    parser.add_argument("--projection-only", action="store_true", help="skip the list queries")
    args = parser.parse_args()
    results = []
    if not args.projection_only:
        with scratch_database() as url:
            results = list_benchmarks(url, args.tickets, args.workspaces)
    with scratch_database() as url:
        events, rate = rebuild_rate(url, args.rebuild_tickets)
        batched, live = catch_up_rates(url, args.live_events)
    print(
        "| query | p50 layer (ms) | p95 layer (ms) | p50 raw (ms) | p95 raw (ms) | p95 layer/raw |"
    )
    print("|---|---|---|---|---|---|")
    for name, p50, p95, raw50, raw95 in results:
        print(f"| {name} | {p50:.2f} | {p95:.2f} | {raw50:.2f} | {raw95:.2f} | {p95 / raw95:.2f} |")
    print(f"\nrebuild: {events:,} events at {rate:,.0f} events/s")
    print(f"backlog catch-up (batched): {events:,} events at {batched:,.0f} events/s")
    print(f"live runner: first {args.live_events:,} events at {live:,.0f} events/s")


if __name__ == "__main__":
    main()
