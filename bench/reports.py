"""Reports over 1,000,000 tickets (CONTRACT.md §8: within 300 ms, p95).

A year of history is bulk-loaded into the report's read model: the facts of every ticket with
SQL (``generate_series``; their minute buckets from ``domain.reports.bucket``), then the cells
with the projection's own statement (``projections.reports.cells_from_facts``) and the backlog
moves the tickets' lives imply. Each report is then asked through the query layer
(``Reports.report``: what ``GET /admin/reports`` runs, before JSON) as it runs, from the cells,
and as the same figures added up from the facts alone, in the same run on the same database.

    .venv/bin/python bench/reports.py [--tickets 1000000] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app, read_models
from application.config import Settings
from application.tickets import TicketingApp
from bench.read_path import rebuild_rate
from bench.support import scratch_database
from domain import reports
from domain.reports import Interval
from projections import summaries
from projections.report_queries import ReportQuery, Reports
from projections.reports import apply_report, cells_from_facts

LAST = date(2026, 11, 30)
FIRST = LAST - timedelta(days=364)
TYPES = ["bug", "usage", "purchase", "documentation", "feature_request", "other",
         "unbind_mfa", "change_owner"]  # fmt: skip
ASSIGNEES = [f"handler-{n:02d}" for n in range(25)]
WORKSPACES = 1_000
MAX_MINUTES = 60_000


def load(url: str, tickets: int) -> tuple[TicketingApp, Reports]:
    app = build_app(Settings(database_url=url, default_assignee="admin"))
    view = read_models(app)
    zone = view.service_level.calendar.zone.key
    started = time.perf_counter()
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("CREATE TEMPORARY TABLE buckets (minutes integer PRIMARY KEY, bucket integer)")
        with curs.copy("COPY buckets (minutes, bucket) FROM STDIN") as copy:
            for minutes in range(MAX_MINUTES + 1):
                copy.write_row((minutes, reports.bucket(minutes)))
        # a ticket every ~31 s over the year; 90% answered (log-normal-ish minutes), 80% closed,
        # half of those rated; assignees, types and workspaces spread evenly
        curs.execute(
            """
            INSERT INTO report_facts
            SELECT gen_random_uuid(), 'ws-' || (g %% %(workspaces)s),
                   (%(types)s::text[])[1 + g %% 8], s.at, 'admin',
                   CASE WHEN g %% 10 <> 0 THEN s.at + fr.minutes * interval '2 minutes' END,
                   CASE WHEN g %% 10 <> 0 THEN (%(assignees)s::text[])[1 + (g * 7) %% 25] END,
                   CASE WHEN g %% 10 <> 0 THEN fr.minutes END,
                   CASE WHEN g %% 10 <> 0 THEN fb.bucket END,
                   CASE WHEN g %% 10 <> 0 THEN fr.minutes <= 240 END,
                   CASE WHEN g %% 5 <> 0 THEN s.at + res.minutes * interval '3 minutes' END,
                   CASE WHEN g %% 5 <> 0 THEN (%(assignees)s::text[])[1 + (g * 7) %% 25] END,
                   CASE WHEN g %% 5 <> 0 THEN (ARRAY['completed','submitter','inactivity',
                       'completed','account_cancelled'])[1 + g %% 5] END,
                   CASE WHEN g %% 5 <> 0 THEN res.minutes END,
                   CASE WHEN g %% 5 <> 0 THEN rb.bucket END,
                   CASE WHEN g %% 5 <> 0 THEN res.minutes <= 2400 END,
                   CASE WHEN g %% 5 <> 0 AND g %% 2 = 0 THEN 1 + (g / 2) %% 5 END,
                   CASE WHEN g %% 5 <> 0 THEN 'completed' WHEN g %% 10 <> 0 THEN 'processing'
                        ELSE 'pending' END,
                   (%(assignees)s::text[])[1 + (g * 7) %% 25]
            FROM generate_series(1, %(tickets)s) g
            CROSS JOIN LATERAL (SELECT %(start)s::timestamptz
                + (g::float8 / %(tickets)s) * interval '365 days' AS at) s
            CROSS JOIN LATERAL (SELECT least(%(cap)s, (exp(random() * 6))::int) AS minutes) fr
            CROSS JOIN LATERAL (SELECT least(%(cap)s, (exp(3 + random() * 6))::int) AS minutes) res
            JOIN buckets fb ON fb.minutes = fr.minutes
            JOIN buckets rb ON rb.minutes = res.minutes
            """,
            {
                "tickets": tickets, "workspaces": WORKSPACES, "types": TYPES,
                "assignees": ASSIGNEES, "cap": MAX_MINUTES,
                "start": reports.day_start(FIRST, view.service_level.calendar.zone),
            },
        )  # fmt: skip
        loaded = time.perf_counter()
        cells_from_facts(curs, zone)
        celled = time.perf_counter()
        # the backlog moves: in the queue when submitted, to its answerer when answered, out
        # when closed
        curs.execute(
            """
            CREATE TEMPORARY TABLE moves AS
            SELECT (submitted_at AT TIME ZONE %(zone)s)::date AS day, workspace_id, type,
                   submitted_assignee AS assignee, 'pending' AS state, 1 AS delta
            FROM report_facts
            UNION ALL SELECT (responded_at AT TIME ZONE %(zone)s)::date, workspace_id, type,
                   submitted_assignee, 'pending', -1 FROM report_facts
                   WHERE responded_at IS NOT NULL
            UNION ALL SELECT (responded_at AT TIME ZONE %(zone)s)::date, workspace_id, type,
                   responded_assignee, 'processing', 1 FROM report_facts
                   WHERE responded_at IS NOT NULL
            UNION ALL SELECT (closed_at AT TIME ZONE %(zone)s)::date, workspace_id, type,
                   coalesce(responded_assignee, submitted_assignee),
                   CASE WHEN responded_at IS NULL THEN 'pending' ELSE 'processing' END, -1
            FROM report_facts WHERE closed_at IS NOT NULL
            """,
            {"zone": zone},
        )
        curs.execute(
            "INSERT INTO report_backlog (day, type, assignee_id, queue_state, delta) "
            "SELECT day, type, assignee, state, sum(delta) FROM moves GROUP BY 1, 2, 3, 4"
        )
        curs.execute(
            "INSERT INTO report_backlog_by_workspace "
            "(workspace_id, day, type, assignee_id, queue_state, delta) "
            "SELECT workspace_id, day, type, assignee, state, sum(delta) FROM moves "
            "GROUP BY 1, 2, 3, 4, 5"
        )
    with view.datastore.get_connection() as conn:
        conn.execute("ANALYZE")
        cells = conn.execute("SELECT count(*) AS n FROM report_cells").fetchone()
        backlog = conn.execute("SELECT count(*) AS n FROM report_backlog").fetchone()
    print(
        f"loaded {tickets:,} tickets' facts in {loaded - started:.1f}s, "
        f"{cells['n'] if cells else 0:,} cells in {celled - loaded:.1f}s, "
        f"{backlog['n'] if backlog else 0:,} backlog rows; ANALYZE done"
    )
    return app, Reports(view)  # the app holds the connection pool


SCENARIOS = {
    "a year by month": ReportQuery(FIRST.replace(day=1) + timedelta(days=31), LAST, Interval.MONTH),
    "a year by week": ReportQuery(FIRST, LAST, Interval.WEEK),
    "30 days by day": ReportQuery(LAST - timedelta(days=29), LAST, Interval.DAY),
    "mid-month to mid-month by month": ReportQuery(
        date(2025, 12, 15), date(2026, 11, 14), Interval.MONTH
    ),
    "a year by month, one assignee": ReportQuery(
        date(2025, 12, 1), LAST, Interval.MONTH, assignees=(ASSIGNEES[3],)
    ),
    "a year by month, two types": ReportQuery(
        date(2025, 12, 1), LAST, Interval.MONTH, types=("bug", "usage")
    ),
    "a year by month, one workspace": ReportQuery(
        date(2025, 12, 1), LAST, Interval.MONTH, workspace_id="ws-7"
    ),
}


def timed(run: object, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def projection_cost(tickets: int) -> None:
    """What keeping the report costs the projection: ``projections rebuild`` of the same store
    (tickets with 5 events each) with the report's read model and without it."""
    rates = {}
    keep: Any = summaries
    for name, report in (("with the report", apply_report), ("without it", _nothing)):
        keep.apply_report = report
        try:
            with scratch_database() as url:
                events, rates[name] = rebuild_rate(url, tickets)
        finally:
            keep.apply_report = apply_report
    print(
        f"rebuild of {events:,} events: {rates['with the report']:,.0f} events/s with the "
        f"report's read model, {rates['without it']:,.0f} without it "
        f"({rates['with the report'] / rates['without it']:.2f} of it)"
    )


def _nothing(*_: object) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rebuild-tickets", type=int, default=5_000)
    arguments = parser.parse_args()
    projection_cost(arguments.rebuild_tickets)
    with scratch_database() as url:
        app, answer = load(url, arguments.tickets)
        heads = ("cells p50", "cells p95", "facts p50", "facts p95")
        print(f"{'report':<36} " + " ".join(f"{head:>10}" for head in heads) + f" {'ratio':>6}")
        for name, query in SCENARIOS.items():
            answer.report(query)  # warm the cache once
            fast = timed(lambda q=query: answer.report(q), arguments.runs)
            slow = timed(lambda q=query: answer.report(q, cells=False), max(3, arguments.runs // 5))
            print(
                f"{name:<36} {fast[0]:>9.0f}ms {fast[1]:>9.0f}ms {slow[0]:>9.0f}ms "
                f"{slow[1]:>9.0f}ms {fast[1] / slow[1]:>6.2f}"
            )
        app.store.close()


if __name__ == "__main__":
    main()
