"""The support report's read model (CONTRACT.md §8), kept by the projection from the events.

Three tables, all rebuilt and audited with the other read models:

- ``report_facts``: one row per ticket, what the report counts of it (``domain.reports``): when
  it was submitted, first answered and closed, by whom it was assigned then, the service minutes
  of its SLA clocks (``domain.sla``, computed by the projection in Python: the rule has one home),
  whether each clock kept its target, the rating, and its queue state and assignee now.
- ``report_cells``: the facts added up, so that a report over a million tickets reads thousands
  of rows, not millions: per day for all tickets, and per month for all tickets, per assignee and
  per type; each row is a count (``bucket`` -1) or one bucket of a minutes histogram. They change
  with each fact: the ticket's old contribution is taken out and its new one added, by the one
  SQL statement that says what a ticket contributes (``CONTRIBUTIONS``), which also answers the
  queries the cells cannot (a workspace, a type and an assignee at once, days at a range's edges).
- ``report_backlog`` and ``report_backlog_by_workspace``: each change of a ticket's queue state
  or assignee as -1 for the old and +1 for the new, per day: the open tickets at any day's end
  are the sum up to it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow

from application.service_level import ServiceLevel
from domain import reports
from domain.reports import Metric
from domain.sla import SlaClocks
from domain.status import CloseReason, QueueState
from domain.ticket import Ticket

COUNT = -1  # the bucket of a count

REPORT_DDL = (
    """
    CREATE TABLE IF NOT EXISTS report_facts (
        ticket_id uuid PRIMARY KEY,
        workspace_id text NOT NULL,
        type text NOT NULL,
        submitted_at timestamptz NOT NULL,
        submitted_assignee text NOT NULL,
        responded_at timestamptz,
        responded_assignee text,
        first_response_minutes integer,
        first_response_bucket integer,
        first_response_met boolean,
        closed_at timestamptz,
        closed_assignee text,
        close_reason text,
        resolution_minutes integer,
        resolution_bucket integer,
        resolution_met boolean,
        rating smallint,
        queue_state text NOT NULL,
        assignee_id text NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS report_facts_by_submitted ON report_facts (submitted_at)",
    "CREATE INDEX IF NOT EXISTS report_facts_by_responded ON report_facts (responded_at) "
    "WHERE responded_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS report_facts_by_closed ON report_facts (closed_at) "
    "WHERE closed_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS report_facts_by_workspace ON report_facts (workspace_id)",
    """
    CREATE TABLE IF NOT EXISTS report_cells (
        grain char(1) NOT NULL,
        dim char(1) NOT NULL,
        key text NOT NULL,
        period date NOT NULL,
        metric text NOT NULL,
        bucket integer NOT NULL,
        n integer NOT NULL,
        PRIMARY KEY (grain, dim, key, period, metric, bucket)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS report_backlog (
        day date NOT NULL,
        type text NOT NULL,
        assignee_id text NOT NULL,
        queue_state text NOT NULL,
        delta integer NOT NULL,
        PRIMARY KEY (day, type, assignee_id, queue_state)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS report_backlog_by_workspace (
        workspace_id text NOT NULL,
        day date NOT NULL,
        type text NOT NULL,
        assignee_id text NOT NULL,
        queue_state text NOT NULL,
        delta integer NOT NULL,
        PRIMARY KEY (workspace_id, day, type, assignee_id, queue_state)
    )
    """,
)
REPORT_TABLES = ("report_facts", "report_cells", "report_backlog", "report_backlog_by_workspace")

# What one ticket contributes, as (metric, bucket, the moment, the assignee then): the one
# statement of it, for the cells and for the queries that read the facts directly.
_RESOLVED = ", ".join(f"'{reason}'" for reason in sorted(reports.RESOLVED))
CONTRIBUTIONS = f"""
    SELECT f.ticket_id, f.workspace_id, f.type, c.assignee, c.metric, c.bucket, c.at
    FROM report_facts f CROSS JOIN LATERAL (VALUES
        (f.submitted_assignee, '{Metric.SUBMITTED}', {COUNT}, f.submitted_at),
        (f.closed_assignee, 'closed:' || f.close_reason, {COUNT}, f.closed_at),
        (f.closed_assignee, 'rated:' || f.rating, {COUNT}, f.closed_at),
        (f.responded_assignee, '{Metric.FIRST_RESPONSES}', {COUNT}, f.responded_at),
        (f.responded_assignee, CASE WHEN f.first_response_met
            THEN '{Metric.FIRST_RESPONSES_MET}' END, {COUNT}, f.responded_at),
        (f.responded_assignee, '{Metric.FIRST_RESPONSE_MINUTES}', f.first_response_bucket,
            f.responded_at),
        (f.closed_assignee, CASE WHEN f.close_reason IN ({_RESOLVED})
            THEN '{Metric.RESOLVED}' END, {COUNT}, f.closed_at),
        (f.closed_assignee, CASE WHEN f.close_reason IN ({_RESOLVED}) AND f.resolution_met
            THEN '{Metric.RESOLVED_MET}' END, {COUNT}, f.closed_at),
        (f.closed_assignee, CASE WHEN f.close_reason IN ({_RESOLVED})
            THEN '{Metric.RESOLUTION_MINUTES}' END, f.resolution_bucket, f.closed_at)
    ) AS c (assignee, metric, bucket, at)
    WHERE c.metric IS NOT NULL AND c.bucket IS NOT NULL AND c.at IS NOT NULL
"""  # noqa: S608 - fixed names only

# a ticket's contribution into the cells, times -1 or +1
_CELLS = f"""
    INSERT INTO report_cells (grain, dim, key, period, metric, bucket, n)
    SELECT g.grain, g.dim, g.key, g.period, x.metric, x.bucket, %(sign)s * count(*)
    FROM ({CONTRIBUTIONS} AND f.ticket_id = %(ticket_id)s) x
    CROSS JOIN LATERAL (SELECT (x.at AT TIME ZONE %(zone)s)::date AS day) d
    CROSS JOIN LATERAL (VALUES
        ('d', '*', '', d.day),
        ('m', '*', '', date_trunc('month', d.day)::date),
        ('m', 'a', x.assignee, date_trunc('month', d.day)::date),
        ('m', 't', x.type, date_trunc('month', d.day)::date)
    ) AS g (grain, dim, key, period)
    GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grain, dim, key, period, metric, bucket)
    DO UPDATE SET n = report_cells.n + excluded.n
    RETURNING grain, dim, key, period, metric, bucket, n
"""  # noqa: S608 - fixed names only
_EMPTY_CELL = (
    "DELETE FROM report_cells WHERE grain = %s AND dim = %s AND key = %s AND period = %s "
    "AND metric = %s AND bucket = %s AND n = 0"
)
_BACKLOG = (
    "INSERT INTO report_backlog (day, type, assignee_id, queue_state, delta) "
    "VALUES (%(day)s, %(type)s, %(assignee)s, %(state)s, %(delta)s) "
    "ON CONFLICT (day, type, assignee_id, queue_state) "
    "DO UPDATE SET delta = report_backlog.delta + excluded.delta"
)
_BACKLOG_BY_WORKSPACE = (
    "INSERT INTO report_backlog_by_workspace "
    "(workspace_id, day, type, assignee_id, queue_state, delta) "
    "VALUES (%(workspace)s, %(day)s, %(type)s, %(assignee)s, %(state)s, %(delta)s) "
    "ON CONFLICT (workspace_id, day, type, assignee_id, queue_state) "
    "DO UPDATE SET delta = report_backlog_by_workspace.delta + excluded.delta"
)
# the columns a cell depends on: only a change of these moves the cells
_NOT_YET = (
    "responded_at", "responded_assignee", "first_response_minutes", "first_response_bucket",
    "first_response_met", "closed_at", "closed_assignee", "close_reason", "resolution_minutes",
    "resolution_bucket", "resolution_met", "rating",
)  # fmt: skip
_COUNTED = (
    "submitted_at", "submitted_assignee", "responded_at", "responded_assignee",
    "first_response_bucket", "first_response_met", "closed_at", "closed_assignee",
    "close_reason", "resolution_bucket", "resolution_met", "rating",
)  # fmt: skip


def apply_report(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    """Move the report's facts, cells and backlog on by one ticket event, after the ticket
    summaries took it (their SLA clocks are read from there)."""
    if not isinstance(event, Ticket.Event):
        return
    kind = type(event).__qualname__.removeprefix("Ticket.")
    ticket_id = event.originator_id
    summary = curs.execute(
        "SELECT workspace_id, type, queue_state, assignee_id, sla_clocks, first_responded_at "
        "FROM ticket_summaries WHERE ticket_id = %s",
        (ticket_id,),
    ).fetchone()
    if summary is None:
        return
    before = curs.execute(
        "SELECT * FROM report_facts WHERE ticket_id = %s", (ticket_id,)
    ).fetchone()
    if before is None and kind != "Submitted":
        return  # a ticket projected before the report existed: `projections rebuild` adds it
    facts = dict(before) if before is not None else _submitted(event, summary)
    _move_on(facts, kind, event, summary, level)
    zone = level.calendar.zone
    if before is None or any(before[column] != facts[column] for column in _COUNTED):
        if before is not None:
            _cells(curs, ticket_id, -1, zone.key)
        _store(curs, facts, insert=before is None)
        _cells(curs, ticket_id, +1, zone.key)
    elif before != facts:
        _store(curs, facts, insert=False)
    moved_from = None if before is None else (before["queue_state"], before["assignee_id"])
    moved_to = (facts["queue_state"], facts["assignee_id"])
    if moved_from != moved_to:
        day = reports.local_day(event.timestamp, zone)
        if moved_from is not None:
            _backlog(curs, facts, day, *moved_from, -1)
        _backlog(curs, facts, day, *moved_to, +1)


def _submitted(event: Any, summary: DictRow) -> dict[str, Any]:
    return {
        "ticket_id": event.originator_id,
        "workspace_id": summary["workspace_id"],
        "type": summary["type"],
        "submitted_at": event.timestamp,
        "submitted_assignee": summary["assignee_id"] or "",
        **dict.fromkeys(_NOT_YET),
        "queue_state": "",
        "assignee_id": "",
    }


def _move_on(
    facts: dict[str, Any], kind: str, event: Any, summary: DictRow, level: ServiceLevel
) -> None:
    """The facts after this event: state and assignee now, and what became final with it."""
    assignee = summary["assignee_id"] or ""
    facts["queue_state"] = summary["queue_state"]
    facts["assignee_id"] = assignee
    clocks = None if summary["sla_clocks"] is None else SlaClocks.from_state(summary["sla_clocks"])
    if facts["responded_at"] is None and summary["first_responded_at"] is not None:
        facts["responded_at"] = summary["first_responded_at"]
        facts["responded_assignee"] = assignee
        if clocks is not None:
            clock = clocks.first_response
            facts["first_response_minutes"] = reports.whole_minutes(clock.used)
            facts["first_response_bucket"] = reports.bucket(facts["first_response_minutes"])
            facts["first_response_met"] = _kept(clock.reached_at, clock.stopped_at)
    if kind == "Closed":
        facts["closed_at"] = event.timestamp
        facts["closed_assignee"] = assignee
        facts["close_reason"] = event.reason
        if clocks is not None and CloseReason(event.reason) in reports.RESOLVED:
            clock = clocks.resolution
            facts["resolution_minutes"] = reports.whole_minutes(clock.used)
            facts["resolution_bucket"] = reports.bucket(facts["resolution_minutes"])
            facts["resolution_met"] = _kept(clock.reached_at, clock.stopped_at)
    elif kind == "Rated":
        facts["rating"] = event.score


def _kept(reached_at: datetime | None, stopped_at: datetime | None) -> bool:
    """Whether a stopped clock stopped within its target."""
    return reached_at is None or (stopped_at is not None and stopped_at <= reached_at)


def _store(curs: Cursor[DictRow], facts: dict[str, Any], *, insert: bool) -> None:
    columns = list(facts)
    if insert:
        curs.execute(
            f"INSERT INTO report_facts ({', '.join(columns)}) "  # noqa: S608 - fixed names
            f"VALUES ({', '.join(f'%({c})s' for c in columns)})",
            facts,
        )
    else:
        assignments = ", ".join(f"{c} = %({c})s" for c in columns if c != "ticket_id")
        curs.execute(
            f"UPDATE report_facts SET {assignments} WHERE ticket_id = %(ticket_id)s",  # noqa: S608
            facts,
        )


def _cells(curs: Cursor[DictRow], ticket_id: Any, sign: int, zone: str) -> None:
    rows = curs.execute(_CELLS, {"sign": sign, "ticket_id": ticket_id, "zone": zone}).fetchall()
    empty = [
        (r["grain"], r["dim"], r["key"], r["period"], r["metric"], r["bucket"])
        for r in rows
        if r["n"] == 0
    ]
    if empty:
        curs.executemany(_EMPTY_CELL, empty)


def _backlog(
    curs: Cursor[DictRow], facts: dict[str, Any], day: Any, state: str, assignee: str, delta: int
) -> None:
    if state == QueueState.COMPLETED:
        return  # closed tickets are no backlog
    values = {
        "day": day,
        "type": facts["type"],
        "assignee": assignee,
        "state": state,
        "delta": delta,
        "workspace": facts["workspace_id"],
    }
    curs.execute(_BACKLOG, values)
    curs.execute(_BACKLOG_BY_WORKSPACE, values)
