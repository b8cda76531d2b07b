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

from typing import Any

from psycopg import Cursor
from psycopg.rows import DictRow

from application.service_level import ServiceLevel
from domain import reports
from domain.reports import Metric
from domain.sla import Clock, SlaClocks
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
        sub text NOT NULL,
        period date NOT NULL,
        metric text NOT NULL,
        bucket integer NOT NULL,
        n integer NOT NULL,
        PRIMARY KEY (grain, dim, key, sub, period, metric, bucket)
    )
    """,
    # a batch's changes to the cells, folded into them once at the batch's end (fold_cells):
    # updating a cell once per event would make the same few rows (this month's counts) carry a
    # version per event of the transaction, each update slower than the one before
    "CREATE TABLE IF NOT EXISTS report_cell_changes (LIKE report_cells)",
    """
    CREATE TABLE IF NOT EXISTS report_backlog_changes (
        workspace_id text NOT NULL,
        day date NOT NULL,
        type text NOT NULL,
        assignee_id text NOT NULL,
        queue_state text NOT NULL,
        delta integer NOT NULL
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
REPORT_TABLES = (
    "report_facts", "report_cells", "report_cell_changes", "report_backlog",
    "report_backlog_by_workspace", "report_backlog_changes",
)  # fmt: skip

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

# the cells of contributions ``x``: each one counts, per day and per month, for all tickets
# (dim '*'), for its assignee then ('a'), for its ticket's type ('t'), and per month for the
# type and the assignee together ('x': the type, then the assignee)
_CELLS_OF = """
    SELECT g.grain, g.dim, g.key, g.sub, g.period, x.metric, x.bucket, %(sign)s * count(*) AS n
    FROM ({contributions}) x
    CROSS JOIN LATERAL (SELECT (x.at AT TIME ZONE %(zone)s)::date AS day) d
    CROSS JOIN LATERAL (SELECT date_trunc('month', d.day)::date AS month) m
    CROSS JOIN LATERAL (VALUES
        ('d', '*', '', '', d.day),
        ('d', 'a', x.assignee, '', d.day),
        ('d', 't', x.type, '', d.day),
        ('m', '*', '', '', m.month),
        ('m', 'a', x.assignee, '', m.month),
        ('m', 't', x.type, '', m.month),
        ('m', 'x', x.type, x.assignee, m.month)
    ) AS g (grain, dim, key, sub, period)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
_COLUMNS = "grain, dim, key, sub, period, metric, bucket"
# a ticket's contribution to the cells, times -1 or +1, as a change to fold in
_CELLS = f"INSERT INTO report_cell_changes ({_COLUMNS}, n) " + _CELLS_OF.format(
    contributions=f"{CONTRIBUTIONS} AND f.ticket_id = %(ticket_id)s"
)
_FOLD = (
    f"INSERT INTO report_cells ({_COLUMNS}, n) "  # noqa: S608 - fixed names only
    f"SELECT {_COLUMNS}, sum(n) FROM report_cell_changes GROUP BY {_COLUMNS} "
    f"ON CONFLICT ({_COLUMNS}) DO UPDATE SET n = report_cells.n + excluded.n "
    f"RETURNING {_COLUMNS}, n"
)
_EMPTY_CELL = (
    "DELETE FROM report_cells WHERE grain = %s AND dim = %s AND key = %s AND sub = %s "
    "AND period = %s "
    "AND metric = %s AND bucket = %s AND n = 0"
)
_BACKLOG = (
    "INSERT INTO report_backlog_changes "
    "(workspace_id, day, type, assignee_id, queue_state, delta) "
    "VALUES (%(workspace)s, %(day)s, %(type)s, %(assignee)s, %(state)s, %(delta)s)"
)
_FOLD_BACKLOG = (
    "INSERT INTO report_backlog (day, type, assignee_id, queue_state, delta) "
    "SELECT day, type, assignee_id, queue_state, sum(delta) FROM report_backlog_changes "
    "GROUP BY 1, 2, 3, 4 ON CONFLICT (day, type, assignee_id, queue_state) "
    "DO UPDATE SET delta = report_backlog.delta + excluded.delta",
    "INSERT INTO report_backlog_by_workspace "
    "(workspace_id, day, type, assignee_id, queue_state, delta) "
    "SELECT workspace_id, day, type, assignee_id, queue_state, sum(delta) "
    "FROM report_backlog_changes GROUP BY 1, 2, 3, 4, 5 "
    "ON CONFLICT (workspace_id, day, type, assignee_id, queue_state) "
    "DO UPDATE SET delta = report_backlog_by_workspace.delta + excluded.delta",
    "DELETE FROM report_backlog_changes",
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


# events that change nothing the report counts: a breach is recorded, the user answers (the
# ticket stays pending, or stays processing: its queue state does not move)
_UNCOUNTED = frozenset({"SlaBreached", "UserReplied"})
_SUMMARY = (
    "workspace_id",
    "type",
    "queue_state",
    "assignee_id",
    "sla_clocks",
    "first_responded_at",
)
# the ticket's summary (its clocks, after the summaries took the event) and its facts so far
_READ = (
    "SELECT s.workspace_id, s.type, s.queue_state, s.assignee_id, s.sla_clocks, "
    "s.first_responded_at, f.ticket_id IS NOT NULL AS facts, f.ticket_id, f.submitted_at, "
    "f.submitted_assignee, "
    + ", ".join(f"f.{column}" for column in _NOT_YET)
    + ", f.queue_state AS fact_queue_state, f.assignee_id AS fact_assignee_id "
    "FROM ticket_summaries s LEFT JOIN report_facts f ON f.ticket_id = s.ticket_id "
    "WHERE s.ticket_id = %s"
)


def apply_report(curs: Cursor[DictRow], event: Any, level: ServiceLevel) -> None:
    """Move the report's facts, cells and backlog on by one ticket event, after the ticket
    summaries took it (their SLA clocks are read from there)."""
    kind = type(event).__qualname__.removeprefix("Ticket.")
    if not isinstance(event, Ticket.Event) or kind in _UNCOUNTED:
        return
    said: Any = event  # the fields of its kind
    if kind == "HandlerReplied" and said.automatic:
        return  # no first response, no change of status
    ticket_id = event.originator_id
    if kind == "Submitted":  # nothing to read yet: the event says it all
        before, summary = (
            None,
            {
                "workspace_id": said.workspace_id,
                "type": said.ticket_type,
                "queue_state": str(QueueState.PENDING),
                "assignee_id": said.assignee["account_id"],
                "sla_clocks": None,
                "first_responded_at": None,
            },
        )
    else:
        found = curs.execute(_READ, (ticket_id,)).fetchone()
        if found is None or not found["facts"]:
            return  # projected before the report existed: `projections rebuild` adds it
        summary = {column: found[column] for column in _SUMMARY}
        before = _facts_of(found)
    facts = dict(before) if before is not None else _submitted(event, summary)
    _move_on(facts, kind, event, summary, level)
    zone = level.calendar.zone
    # what follows needs no answer: sent in one round trip
    with curs.connection.pipeline():
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


def cells_from_facts(curs: Cursor[DictRow], zone: str, table: str = "report_cells") -> None:
    """Fill ``table`` (empty, with the cells' columns) with the cells of every ticket's facts
    at once: what adding them up ticket by ticket arrives at (a bulk load, a check)."""
    curs.execute(
        f"INSERT INTO {table} (grain, dim, key, sub, period, metric, bucket, n) "
        + _CELLS_OF.format(contributions=CONTRIBUTIONS),
        {"sign": 1, "zone": zone},
    )


def _facts_of(found: DictRow) -> dict[str, Any]:
    """The facts row as ``_READ`` found it (in the columns' order, as ``_submitted`` makes it)."""
    return {
        **{c: found[c] for c in ("ticket_id", "workspace_id", "type", "submitted_at")},
        "submitted_assignee": found["submitted_assignee"],
        **{column: found[column] for column in _NOT_YET},
        "queue_state": found["fact_queue_state"],
        "assignee_id": found["fact_assignee_id"],
    }


def _submitted(event: Any, summary: dict[str, Any]) -> dict[str, Any]:
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
    facts: dict[str, Any], kind: str, event: Any, summary: dict[str, Any], level: ServiceLevel
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
            _stopped(facts, "first_response", clocks.first_response)
    if kind == "Closed":
        facts["closed_at"] = event.timestamp
        facts["closed_assignee"] = assignee
        facts["close_reason"] = event.reason
        if clocks is not None and CloseReason(event.reason) in reports.RESOLVED:
            _stopped(facts, "resolution", clocks.resolution)
    elif kind == "Rated":
        facts["rating"] = event.score


def _stopped(facts: dict[str, Any], name: str, clock: Clock) -> None:
    """What a stopped SLA clock says: its service minutes, their bucket, and whether it
    stopped within its target."""
    minutes = reports.whole_minutes(clock.used)
    facts[f"{name}_minutes"] = minutes
    facts[f"{name}_bucket"] = reports.bucket(minutes)
    stopped, reached = clock.stopped_at, clock.reached_at
    facts[f"{name}_met"] = reached is None or (stopped is not None and stopped <= reached)


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
    curs.execute(_CELLS, {"sign": sign, "ticket_id": ticket_id, "zone": zone})


def fold_cells(curs: Cursor[DictRow]) -> None:
    """Fold the changes a batch of events made into the cells and the backlog (the projection
    calls it before each commit), and drop the cells that came to nothing."""
    pending = curs.execute("SELECT EXISTS (SELECT 1 FROM report_backlog_changes) AS yes").fetchone()
    if pending and pending["yes"]:
        for statement in _FOLD_BACKLOG:
            curs.execute(statement)
    pending = curs.execute("SELECT EXISTS (SELECT 1 FROM report_cell_changes) AS yes").fetchone()
    if not (pending and pending["yes"]):
        return
    rows = curs.execute(_FOLD).fetchall()
    curs.execute("DELETE FROM report_cell_changes")
    empty = [
        (r["grain"], r["dim"], r["key"], r["sub"], r["period"], r["metric"], r["bucket"])
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
