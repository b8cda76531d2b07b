"""Answering a report (CONTRACT.md §8) from the report's read model (``projections.reports``).

Whole months come from the monthly cells (for all tickets, per assignee or per type), days from
the daily cells (all tickets); what the cells do not hold (a workspace, a type and an assignee
at once, per assignee the days at a range's edges) is added up from the facts by the statement
that fills the cells. The figures themselves are made in ``domain.reports``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import Connection
from psycopg.rows import DictRow

from domain import reports
from domain.reports import Interval
from projections.reports import CONTRIBUTIONS
from projections.view import ReadModelView

Rows = list[tuple[Any, str, int, int]]  # (group, metric, bucket, n)
Row = tuple[str, int, int]  # (metric, bucket, n)


@dataclass(frozen=True)
class ReportQuery:
    """What a report covers: days ``first`` to ``last`` (both included, in the service's time
    zone), cut by ``interval``, optionally for one workspace, some types, some assignees."""

    first: date
    last: date
    interval: Interval
    workspace_id: str | None = None
    types: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()


class Reports:
    """Reads the report's read model."""

    def __init__(self, view: ReadModelView) -> None:
        self.view = view
        self.zone = view.service_level.calendar.zone

    def report(self, query: ReportQuery, *, cells: bool = True) -> dict[str, Any]:
        """``{from, to, interval, time_zone, totals, series, by_assignee}``; assignees by id.
        Read in one repeatable-read transaction, so every part is of the same moment.
        ``cells=False`` adds everything up from the facts (what the cells save: benchmarks and
        tests compare the two)."""
        with self.view.datastore.get_connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return self._report(conn, query, cells)

    def _report(self, conn: Connection[DictRow], query: ReportQuery, cells: bool) -> dict[str, Any]:
        source = _Source(conn, query, self.zone, cells)
        months, edges = reports.month_spans(query.first, query.last)
        periods = reports.periods(query.first, query.last, query.interval)
        totals = source.totals(months, edges)
        series = source.series(periods)
        by_assignee = source.by_assignee(months, edges)
        # the last period ends on the range's last day: its backlog is the totals' too
        backlog = source.backlog([to for _, _, to in periods])
        assignee_backlog = source.backlog_by_assignee(query.last)
        assignees = sorted(
            set(by_assignee) | {a for a, s in assignee_backlog.items() if any(s.values())}
        )
        return {
            "from": query.first,
            "to": query.last,
            "interval": str(query.interval),
            "time_zone": self.zone.key,
            "totals": {**_figures(totals), "backlog": reports.backlog(backlog[query.last])},
            "series": [
                {
                    "period_start": start,
                    **_figures(series.get(start, [])),
                    "backlog": reports.backlog(backlog[to]),
                }
                for start, _, to in periods
            ],
            "by_assignee": [
                {
                    "assignee_id": assignee,
                    **_figures(by_assignee.get(assignee, [])),
                    "backlog": reports.backlog(assignee_backlog.get(assignee, {})),
                }
                for assignee in assignees
            ],
        }


def _figures(rows: Iterable[Row]) -> dict[str, object]:
    return reports.figures(*reports.add_up(rows))


def _grouped(rows: Rows) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = {}
    for group, metric, at, n in rows:
        grouped.setdefault(group, []).append((metric, at, n))
    return grouped


class _Source:
    """Where each part of one report is read from: the cells that hold it, else the facts."""

    def __init__(
        self, conn: Connection[DictRow], query: ReportQuery, zone: ZoneInfo, cells: bool
    ) -> None:
        self.conn = conn
        self.query = query
        self.zone = zone
        types, assignees = list(query.types), list(query.assignees)
        self.dim: str | None
        if not cells or query.workspace_id is not None:
            self.dim = None
        else:
            self.dim = "x" if types and assignees else "t" if types else "a" if assignees else "*"
        self.where = {
            "*": ("", {}),
            "a": (" AND key = ANY(%(assignees)s)", {"assignees": assignees}),
            "t": (" AND key = ANY(%(types)s)", {"types": types}),
            "x": (
                " AND key = ANY(%(types)s) AND sub = ANY(%(assignees)s)",
                {"types": types, "assignees": assignees},
            ),
        }

    # ------------------------------------------------------------ the three parts

    def totals(self, months: list[date], edges: list[tuple[date, date]]) -> list[Row]:
        everything = [(self.query.first, self.query.last)]
        if self.dim is None:
            rows = self._facts(everything, None)
        else:
            rows = self._cells("m", self.dim, *self.where[self.dim], None, periods=months)
            rows += self._days(self.dim, edges, None)
        return [(metric, at, n) for _, metric, at, n in rows]

    def series(self, periods: list[tuple[date, date, date]]) -> dict[date, list[Row]]:
        interval = self.query.interval
        whole = [
            start for start, first, last in periods
            if interval is Interval.MONTH and first == start
            and last == reports.next_period(start, interval) - timedelta(days=1)
        ]  # fmt: skip
        if self.dim is None:
            rows = self._facts([(self.query.first, self.query.last)], "period")
        else:
            rows = self._cells("m", self.dim, *self.where[self.dim], "period", periods=whole)
            rest = [(first, last) for start, first, last in periods if start not in whole]
            rows += self._days(self.dim, rest, "period")
        return _grouped(rows)

    def by_assignee(
        self, months: list[date], edges: list[tuple[date, date]]
    ) -> dict[str, list[Row]]:
        assignees = list(self.query.assignees)
        if self.dim is None:
            rows = self._facts([(self.query.first, self.query.last)], "assignee")
        elif self.dim in ("t", "x"):  # per type and assignee: the 'x' cells, by their assignee
            where, params = " AND key = ANY(%(types)s)", {"types": list(self.query.types)}
            if assignees:
                where += " AND sub = ANY(%(assignees)s)"
                params["assignees"] = assignees
            rows = self._cells("m", "x", where, params, "sub", periods=months)
            rows += self._facts(edges, "assignee")
        else:
            where, params = self.where["a"] if assignees else ("", {})
            rows = self._cells("m", "a", where, params, "key", periods=months)
            rows += self._cells("d", "a", where, params, "key", ranges=edges)
        return {str(group): found for group, found in _grouped(rows).items()}

    # ------------------------------------------------------------ backlog

    def backlog(self, ends: Sequence[date]) -> dict[date, dict[str, int]]:
        """Open tickets by queue state at the end of each of these days."""
        if not ends:
            return {}
        table, where, params = self._backlog_scope()
        before = self._sum_states(
            f"SELECT queue_state, sum(delta) AS n FROM {table} "  # noqa: S608 - fixed names
            f"WHERE day < %(first)s{where} GROUP BY queue_state",
            {**params, "first": self.query.first},
        )
        daily = self.conn.execute(
            f"SELECT day, queue_state, sum(delta) AS n FROM {table} "  # noqa: S608 - fixed names
            f"WHERE day >= %(first)s AND day <= %(last)s{where} GROUP BY day, queue_state "
            "ORDER BY day",
            {**params, "first": self.query.first, "last": max(ends)},
        ).fetchall()
        result: dict[date, dict[str, int]] = {}
        running = dict(before)
        pending = sorted(ends)
        for row in [*daily, None]:
            while pending and (row is None or row["day"] > pending[0]):
                result[pending.pop(0)] = dict(running)
            if row is not None:
                running[row["queue_state"]] = running.get(row["queue_state"], 0) + int(row["n"])
        return result

    def backlog_by_assignee(self, day: date) -> dict[str, dict[str, int]]:
        table, where, params = self._backlog_scope()
        rows = self.conn.execute(
            f"SELECT assignee_id, queue_state, sum(delta) AS n FROM {table} "  # noqa: S608
            f"WHERE day <= %(last)s{where} GROUP BY assignee_id, queue_state",
            {**params, "last": day},
        ).fetchall()
        result: dict[str, dict[str, int]] = {}
        for row in rows:
            result.setdefault(row["assignee_id"], {})[row["queue_state"]] = int(row["n"])
        return result

    def _backlog_scope(self) -> tuple[str, str, dict[str, Any]]:
        where, params = "", dict[str, Any]()
        table = "report_backlog"
        if self.query.workspace_id is not None:
            table = "report_backlog_by_workspace"
            where += " AND workspace_id = %(workspace)s"
            params["workspace"] = self.query.workspace_id
        if self.query.types:
            where += " AND type = ANY(%(types)s)"
            params["types"] = list(self.query.types)
        if self.query.assignees:
            where += " AND assignee_id = ANY(%(assignees)s)"
            params["assignees"] = list(self.query.assignees)
        return table, where, params

    def _sum_states(self, statement: str, params: dict[str, Any]) -> dict[str, int]:
        return {row["queue_state"]: int(row["n"]) for row in self.conn.execute(statement, params)}

    # ------------------------------------------------------------ sources

    def _cells(
        self,
        grain: str,
        dim: str,
        where: str,
        params: dict[str, Any],
        group: str | None,
        *,
        periods: list[date] | None = None,
        ranges: list[tuple[date, date]] | None = None,
    ) -> Rows:
        """Cells of one grain and dim, of these periods or day ranges, grouped by ``group``
        (``period``: the report's period of a day cell; ``key``, ``sub``; None: all)."""
        if not periods and not ranges:
            return []
        values = dict(params)
        if periods is not None:
            when = "period = ANY(%(periods)s)"
            values["periods"] = periods
        else:
            assert ranges is not None
            when = " OR ".join(
                f"period BETWEEN %(first{i})s AND %(last{i})s" for i in range(len(ranges))
            )
            for i, (first, last) in enumerate(ranges):
                values[f"first{i}"], values[f"last{i}"] = first, last
        by = {
            "period": "period" if grain == "m" else self._period_sql("period"),
            "key": "key",
            "sub": "sub",
            None: "NULL::text",
        }[group]
        rows = self.conn.execute(
            f"SELECT {by} AS g, metric, bucket, sum(n) AS n FROM report_cells "  # noqa: S608
            f"WHERE grain = %(grain)s AND dim = %(dim)s{where} AND ({when}) GROUP BY 1, 2, 3",
            {**values, "grain": grain, "dim": dim},
        ).fetchall()
        return [(row["g"], row["metric"], row["bucket"], int(row["n"])) for row in rows]

    def _days(self, dim: str, ranges: list[tuple[date, date]], group: str | None) -> Rows:
        """Day ranges from the daily cells (there are none per type and assignee at once:
        those from the facts)."""
        if dim == "x":
            return self._facts(ranges, group)
        return self._cells("d", dim, *self.where[dim], group, ranges=ranges)

    def _facts(self, ranges: list[tuple[date, date]], group: str | None) -> Rows:
        """What the tickets contribute in these day ranges, added up from the facts."""
        if not ranges:
            return []
        params: dict[str, Any] = {"zone": self.zone.key}
        moments, tickets = [], []
        for i, (first, last) in enumerate(ranges):
            params[f"s{i}"] = reports.day_start(first, self.zone)
            params[f"e{i}"] = reports.day_start(last + timedelta(days=1), self.zone)
            moments.append(f"(x.at >= %(s{i})s AND x.at < %(e{i})s)")
            tickets += [
                f"(f.{column} >= %(s{i})s AND f.{column} < %(e{i})s)"
                for column in ("submitted_at", "responded_at", "closed_at")
            ]
        narrowing = ""
        if self.query.workspace_id is not None:
            narrowing += " AND f.workspace_id = %(workspace)s"
            params["workspace"] = self.query.workspace_id
        if self.query.types:
            narrowing += " AND f.type = ANY(%(types)s)"
            params["types"] = list(self.query.types)
        if self.query.assignees:
            narrowing += " AND c.assignee = ANY(%(assignees)s)"
            params["assignees"] = list(self.query.assignees)
        day = "(x.at AT TIME ZONE %(zone)s)::date"
        by = {
            "period": self._period_sql(day),
            "assignee": "x.assignee",
            None: "NULL::text",
        }[group]
        rows = self.conn.execute(
            f"SELECT {by} AS g, x.metric, x.bucket, count(*) AS n "  # noqa: S608 - fixed text
            f"FROM ({CONTRIBUTIONS} AND ({' OR '.join(tickets)}){narrowing}) x "
            f"WHERE {' OR '.join(moments)} GROUP BY 1, 2, 3",
            params,
        ).fetchall()
        return [(row["g"], row["metric"], row["bucket"], int(row["n"])) for row in rows]

    def _period_sql(self, day: str) -> str:
        """The start of the period a day (an SQL expression) falls in."""
        interval = self.query.interval
        if interval is Interval.DAY:
            return day
        return f"date_trunc('{interval}', {day})::date"
