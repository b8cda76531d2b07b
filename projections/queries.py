"""The list queries of CONTRACT.md §2.3 and §2.5 on the ticket summaries, with keyset
pagination.

Newest first by ``submitted_at`` (ties broken by ticket id), or with ``sort=due`` nearest
due first: tickets with a running SLA clock by the nearest due time of their running clocks
(overdue ones first), then the tickets none of whose clocks runs (waiting on the user,
revoked, closed), oldest first. A cursor is the last row's sort key, the order and the list
it belongs to, signed with HMAC so that a tampered or foreign cursor is refused rather than
trusted.

A title search in a workspace of at most ``SMALL_WORKSPACE`` tickets walks the workspace's rows
newest first and stops at the page's end: its cost is bounded by the workspace, whatever the
rest of the platform holds. The trigram index serves larger workspaces and wider lists; in a
small workspace PostgreSQL intersected the workspace with every title on the platform sharing
the search's trigrams, 30 ms for a common phrase where the walk takes 2 (bench/http_path.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from domain.service_hours import ServiceCalendar
from domain.sla import FIRST_RESPONSE, RESOLUTION, SlaClocks
from projections.positions import Outcome, PositionWatch
from projections.view import ReadModelView

READ_YOUR_WRITES_TIMEOUT = 5.0
SUMMARY_COLUMNS = (
    "ticket_id, number, workspace_id, type, title, status, queue_state, submitter_id, "
    "submitter_name, assignee_id, assignee_name, submitted_at, updated_at, sla_due_at, "
    "first_responded_at, first_response_due_at, resolution_due_at, "
    "first_response_breached_after, resolution_breached_after, "
    # the clocks' whole state only where a due time depends on now (a paused clock)
    "CASE WHEN first_response_due_at IS NULL OR resolution_due_at IS NULL THEN sla_clocks "
    "END AS sla_clocks"
)
NEWEST = "newest"
DUE = "due"
SMALL_WORKSPACE = 20_000  # tickets; a title search walks a workspace up to this size
SIZE_KEPT_SECONDS = 60.0  # how long a workspace's size class is trusted (it only picks a plan)
SIZES_KEPT = 10_000  # workspaces whose size class a process keeps
COUNT_CAP = 10_000  # a list's total is counted up to here; past it, "10,000 or more"
Probe = tuple[sql.Composable, tuple[Any, ...]]  # an SQL expression a page selects, its params


@dataclass(frozen=True)
class _Order:
    """One list order: its SQL, and the sort key a cursor carries to resume after a row."""

    sort: str
    after: str  # rows after the cursor's key, in this order
    key: Callable[[dict[str, Any]], list[Any]]  # a row's sort key, JSON-ready
    parse: Callable[[Any, Any], tuple[Any, ...]]  # the key back from JSON
    start: list[Any]  # a key before every row: a cursor for "from the beginning"


_ORDERS = {
    NEWEST: _Order(
        sort="t.submitted_at DESC, t.ticket_id DESC",
        after="(t.submitted_at, t.ticket_id) < (%s, %s)",
        key=lambda row: [row["submitted_at"].isoformat(), str(row["ticket_id"])],
        parse=lambda at, ticket_id: (datetime.fromisoformat(at), UUID(ticket_id)),
        start=["9999-12-31T00:00:00+00:00", "ffffffff-ffff-ffff-ffff-ffffffffffff"],
    ),
    DUE: _Order(
        sort="t.sla_due_at, t.number",
        after="(t.sla_due_at, t.number) > (%s, %s)",
        key=lambda row: [row["sla_due_at"].isoformat(), row["number"]],
        parse=lambda due, number: (datetime.fromisoformat(due), int(number)),
        start=["0001-01-01T00:00:00+00:00", 0],
    ),
}


class InvalidCursor(ValueError):
    """A cursor that this service did not issue for this list."""


@dataclass(frozen=True)
class ListFilter:
    """What a list request narrows the tickets to."""

    types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    queue_states: Sequence[str] = ()
    assignee: str | None = None
    q: str | None = None
    ids: Sequence[UUID] = ()
    breached: bool | None = None  # SLA: only breached tickets (True) or only others (False)


@dataclass(frozen=True)
class Page:
    """One page of summaries and the cursor of the next one (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    probed: Any = None  # what the page's probe was worth (None: no probe, or no rows)


@dataclass(frozen=True)
class Count:
    """How many tickets match: exact up to ``COUNT_CAP``, else ``COUNT_CAP`` and not exact."""

    count: int
    exact: bool


@dataclass(frozen=True)
class Totals:
    """A list's total, and per queue state (the tabs of a queue) the same list's count."""

    matching: Count
    queue_states: dict[str, Count] | None = None


@dataclass(frozen=True)
class Scope:
    """Which tickets a list starts from, before filters (also what a cursor is bound to)."""

    name: str
    condition: sql.Composable = field(default_factory=lambda: sql.SQL("TRUE"))
    params: tuple[Any, ...] = ()
    workspace_id: str | None = None  # the one workspace the list stays in, if it does

    @classmethod
    def workspace(cls, workspace_id: str) -> Scope:
        """All Tickets of a workspace."""
        return cls(
            f"workspace:{workspace_id}",
            sql.SQL("t.workspace_id = %s"),
            (workspace_id,),
            workspace_id,
        )

    @classmethod
    def mine(cls, account_id: str) -> Scope:
        """The caller's tickets in the workspaces the caller is a current member of."""
        return cls(
            f"mine:{account_id}",
            sql.SQL(
                "t.submitter_id = %s AND EXISTS (SELECT 1 FROM memberships m "
                "WHERE m.workspace_id = t.workspace_id AND m.account_id = %s)"
            ),
            (account_id, account_id),
        )

    @classmethod
    def assigned_to(cls, account_id: str) -> Scope:
        """A handler's queue."""
        return cls(f"handler:{account_id}", sql.SQL("t.assignee_id = %s"), (account_id,))

    @classmethod
    def everything(cls) -> Scope:
        """Every ticket on the platform."""
        return cls("admin")


class TicketLists:
    """Runs list queries on the read models and waits for positions (read-your-writes)."""

    def __init__(
        self,
        view: ReadModelView,
        cursor_key: bytes,
        wait_timeout: float = READ_YOUR_WRITES_TIMEOUT,
        now: Callable[[], datetime] | None = None,
        head: Callable[[], int] | None = None,
    ) -> None:
        self._view = view
        self._datastore: PostgresDatastore = view.datastore
        self._key = cursor_key
        self.wait_timeout = wait_timeout
        # without the store's head (tests of the lists alone) no position is known beyond it
        self.positions = PositionWatch(view.position, head or (lambda: sys.maxsize))
        self._now = now or _utc_now
        self._small: dict[str, tuple[bool, float]] = {}  # workspace -> (small, until)

    def statement(
        self,
        scope: Scope,
        filters: ListFilter,
        limit: int,
        cursor: str | None,
        order: str = NEWEST,
        now: datetime | None = None,
        excluded: int | None = None,
        probe: Probe | None = None,
    ) -> tuple[sql.Composed, tuple[Any, ...]]:
        """The SQL of one page (one row more than asked, to know whether another follows),
        without the ticket numbered ``excluded`` if given, each row with the value of
        ``probe`` (an expression and its parameters) as ``probed``."""
        walk = bool(filters.q) and order == NEWEST and self._is_small(scope.workspace_id)
        where, params = self._where(scope, filters, now or self._now(), walk=walk)
        if excluded is not None:
            where = sql.SQL("{} AND t.number <> %s").format(where)
            params += (excluded,)
        if cursor is not None:
            params += self._decode(cursor, scope, order)
            where = sql.SQL("{} AND {}").format(where, sql.SQL(_ORDERS[order].after))
        columns: sql.Composable = sql.SQL(SUMMARY_COLUMNS)
        if probe is not None:
            columns = sql.SQL("{}, {} AS probed").format(columns, probe[0])
            params = (*probe[1], *params)
        query = sql.SQL(
            "SELECT {columns} FROM ticket_summaries t WHERE {where} ORDER BY {sort} LIMIT %s"
        ).format(columns=columns, where=where, sort=sql.SQL(_ORDERS[order].sort))
        return query, (*params, limit + 1)

    def page(
        self,
        scope: Scope,
        filters: ListFilter,
        limit: int,
        cursor: str | None,
        order: str = NEWEST,
        probe: Probe | None = None,
    ) -> Page:
        """One page, newest first or (``order="due"``) nearest due first. A search for a
        number (``123``) puts the ticket of that number first (CONTRACT.md §2.3), then the
        titles holding it; ``#123`` finds that ticket alone. With a ``probe`` (an SQL
        expression and its parameters), the page's ``probed`` is its value as of the page's
        own statement (None if the page is empty)."""
        now = self._now()
        number, only = ticket_number(filters.q or "")
        ahead: list[dict[str, Any]] = []  # the numbered ticket, on the first page only
        excluded = number if number is not None and not only else None
        if excluded is not None and cursor is None:
            exact = replace(filters, q=f"#{excluded}")
            ahead = self._rows(*self.statement(scope, exact, 1, None, order, now))[:1]
        query, params = self.statement(
            scope, filters, limit - len(ahead), cursor, order, now, excluded, probe
        )
        rows = self._rows(query, params)
        probed = [row.pop("probed") for row in rows][-1:] if probe is not None else []
        calendar = self._view.service_level.calendar
        rest = limit - len(ahead)
        items = [summary(row, calendar, now) for row in [*ahead, *rows[:rest]]]
        next_cursor = None
        if len(rows) > rest:
            key = _ORDERS[order].key(rows[rest - 1]) if rest else _ORDERS[order].start
            next_cursor = self._encode(scope, order, key)
        return Page(items, next_cursor, probed[0] if probed else None)

    def totals(self, scope: Scope, filters: ListFilter, queue_states: Sequence[str] = ()) -> Totals:
        """How many tickets the list holds (``COUNT_CAP`` at most: a count stops there, so
        its cost is bounded whatever the platform holds), and for each of ``queue_states``
        how many it would hold with that queue state alone: one statement."""
        now = self._now()
        walk = bool(filters.q) and self._is_small(scope.workspace_id)
        counted = [filters, *(replace(filters, queue_states=[state]) for state in queue_states)]
        parts: list[sql.Composable] = []
        params: list[Any] = []
        for each in counted:
            where, where_params = self._where(scope, each, now, walk=walk)
            parts.append(
                sql.SQL(
                    "(SELECT count(*) FROM (SELECT 1 FROM ticket_summaries t WHERE {} LIMIT %s) c)"
                ).format(where)
            )
            params += [*where_params, COUNT_CAP + 1]
        query = sql.SQL("SELECT ARRAY[{}] AS counts").format(sql.SQL(", ").join(parts))
        with self._datastore.get_connection() as conn:
            row = conn.execute(query, tuple(params), prepare=False).fetchone()
        counts = [
            Count(min(int(n), COUNT_CAP), int(n) <= COUNT_CAP)
            for n in (row["counts"] if row is not None else [0] * len(counted))
        ]
        by_state = dict(zip(queue_states, counts[1:], strict=True)) if queue_states else None
        return Totals(counts[0], by_state)

    def _rows(self, query: sql.Composed, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        with self._datastore.get_connection() as conn:
            # planned for these values every time: a prepared statement's generic plan cannot
            # tell a 100,000-ticket workspace from a small one, nor a rare title from a common
            # one, and walked the wrong index (60 ms instead of 3, bench/http_path.py)
            rows: list[dict[str, Any]] = conn.execute(query, params, prepare=False).fetchall()
        return rows

    def all_matching(
        self, scope: Scope, filters: ListFilter, batch: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every matching summary, newest first, fetched in keyset batches, each with its
        ``rating`` (1-5, or None) as the reports keep it (exports)."""
        cursor = None
        while True:
            page = self.page(scope, filters, batch, cursor)
            ratings = self._ratings([item["id"] for item in page.items])
            for item in page.items:
                yield {**item, "rating": ratings.get(item["id"])}
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _ratings(self, ticket_ids: list[str]) -> dict[str, int]:
        if not ticket_ids:
            return {}
        with self._datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT ticket_id, rating FROM report_facts "
                "WHERE ticket_id = ANY(%s::uuid[]) AND rating IS NOT NULL",
                (ticket_ids,),
            ).fetchall()
        return {str(row["ticket_id"]): int(row["rating"]) for row in rows}

    def workspaces_of(self, account_id: str) -> list[str]:
        """The workspaces an account is a current member of, by id."""
        with self._datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT workspace_id FROM memberships WHERE account_id = %s ORDER BY workspace_id",
                (account_id,),
            ).fetchall()
        return [str(row["workspace_id"]) for row in rows]

    def _is_small(self, workspace_id: str | None) -> bool:
        """Whether a workspace holds at most ``SMALL_WORKSPACE`` tickets (counted up to one
        more, at most once a minute per process)."""
        if workspace_id is None:
            return False
        known = self._small.get(workspace_id)
        if known is not None and known[1] > time.monotonic():
            return known[0]
        with self._datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM (SELECT 1 FROM ticket_summaries "
                "WHERE workspace_id = %s LIMIT %s) s",
                (workspace_id, SMALL_WORKSPACE + 1),
            ).fetchone()
        small = row is not None and int(row["n"]) <= SMALL_WORKSPACE
        if len(self._small) >= SIZES_KEPT:
            self._small.clear()
        self._small[workspace_id] = (small, time.monotonic() + SIZE_KEPT_SECONDS)
        return small

    def wait_for(self, position: int, timeout: float | None = None) -> bool:
        """Block until the read models reach a store position; False if the timeout came first
        or the store has no such position."""
        wait = self.wait_timeout if timeout is None else timeout
        return self.positions.wait(position, wait) is Outcome.REACHED

    @staticmethod
    def _where(
        scope: Scope, filters: ListFilter, now: datetime, *, walk: bool = False
    ) -> tuple[sql.Composable, tuple[Any, ...]]:
        clauses: list[sql.Composable] = [scope.condition]
        params: list[Any] = list(scope.params)
        for column, values in (
            ("type", filters.types),
            ("status", filters.statuses),
            ("queue_state", filters.queue_states),
        ):
            if values:
                clauses.append(sql.SQL("t.{} = ANY(%s)").format(sql.Identifier(column)))
                params.append(list(values))
        if filters.assignee is not None:
            clauses.append(sql.SQL("t.assignee_id = %s"))
            params.append(filters.assignee)
        if filters.ids:
            clauses.append(sql.SQL("t.ticket_id = ANY(%s)"))
            params.append(list(filters.ids))
        if filters.q:
            # the same test both ways; strpos() is one the trigram index cannot serve
            title = sql.SQL("strpos(lower(t.title), %s) > 0" if walk else "lower(t.title) LIKE %s")
            text = filters.q.lower() if walk else "%" + _escape_like(filters.q.lower()) + "%"
            number, only = ticket_number(filters.q)
            if only:
                clauses.append(sql.SQL("t.number = %s"))
                params.append(number)
            elif number is not None:
                clauses.append(sql.SQL("(t.number = %s OR {})").format(title))
                params += [number, text]
            else:
                clauses.append(title)
                params.append(text)
        if filters.breached is not None:
            breached = (
                "COALESCE(t.first_response_breached_after < %s "
                "OR t.resolution_breached_after < %s, false)"
            )
            clauses.append(sql.SQL(breached if filters.breached else f"NOT {breached}"))
            params += [now, now]
        return sql.SQL(" AND ").join(clauses), tuple(params)

    def _encode(self, scope: Scope, order: str, key: list[Any]) -> str:
        payload = json.dumps([scope.name, order, *key]).encode()
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")

    def _decode(self, cursor: str, scope: Scope, order: str) -> tuple[Any, ...]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            signature, payload = raw[:16], raw[16:]
            expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(signature, expected):
                raise InvalidCursor("the cursor was not issued by this service")
            name, cursor_order, first, second = json.loads(payload)
            if name != scope.name:
                raise InvalidCursor("the cursor belongs to another list")
            if cursor_order != order:
                raise InvalidCursor(f"the cursor belongs to the list sorted by {cursor_order}")
            return _ORDERS[order].parse(first, second)
        except (ValueError, TypeError) as error:
            raise InvalidCursor(str(error) or "malformed cursor") from None


def ticket_number(q: str) -> tuple[int | None, bool]:
    """The ticket number a search names (``123`` or ``#123``), and whether it names that
    ticket alone (``#123``: the number as it is written everywhere)."""
    text = q.strip()
    only = text.startswith("#")
    digits = text[1:].strip() if only else text
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        return int(digits), only
    return None, False


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def summary(row: dict[str, Any], calendar: ServiceCalendar, now: datetime) -> dict[str, Any]:
    """A summary row in the shape of CONTRACT.md §2.3, with its SLA clocks as of ``now``."""
    assignee = None
    if row["assignee_id"] is not None:
        assignee = {"account_id": row["assignee_id"], "name": row["assignee_name"] or ""}
    return {
        "id": str(row["ticket_id"]),
        "number": row["number"],
        "workspace_id": row["workspace_id"],
        "type": row["type"],
        "title": row["title"],
        "status": row["status"],
        "queue_state": row["queue_state"],
        "submitter": {"account_id": row["submitter_id"], "name": row["submitter_name"]},
        "assignee": assignee,
        "submitted_at": _utc(row["submitted_at"]),
        "updated_at": _utc(row["updated_at"]),
        "sla": _sla(row, calendar, now),
    }


def _sla(row: dict[str, Any], calendar: ServiceCalendar, now: datetime) -> dict[str, Any] | None:
    """The ``sla`` of a summary row as of ``now``: stored due times where they are fixed,
    computed from the stored clocks where one is paused; None for rows projected before
    SLA clocks existed."""
    first_due, resolution_due = row["first_response_due_at"], row["resolution_due_at"]
    if first_due is None or resolution_due is None:
        if row["sla_clocks"] is None:
            return None
        clocks = SlaClocks.from_state(row["sla_clocks"])
        first_due = first_due or clocks.first_response.judged(calendar, now)[0]
        resolution_due = resolution_due or clocks.resolution.judged(calendar, now)[0]
    late_after = (
        (FIRST_RESPONSE, row["first_response_breached_after"]),
        (RESOLUTION, row["resolution_breached_after"]),
    )
    responded = row["first_responded_at"]
    return {
        "first_response_due_at": _utc(first_due),
        "first_responded_at": None if responded is None else _utc(responded),
        "resolution_due_at": _utc(resolution_due),
        "breached": [name for name, after in late_after if after is not None and now > after],
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    """Times in lists are UTC, whatever time zone the database session uses."""
    return moment.astimezone(UTC)
