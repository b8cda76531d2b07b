"""The list queries of CONTRACT.md §2.3 on the ticket summaries, with keyset pagination.

Newest first by ``submitted_at`` (ties broken by ticket id). A cursor is the last row's
``(submitted_at, ticket_id)`` and the list it belongs to, signed with HMAC so that a
tampered or foreign cursor is refused rather than trusted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import sql

from projections.view import ReadModelView

READ_YOUR_WRITES_TIMEOUT = 5.0
SUMMARY_COLUMNS = (
    "ticket_id, number, workspace_id, type, title, status, queue_state, submitter_id, "
    "submitter_name, assignee_id, assignee_name, submitted_at, updated_at"
)


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


@dataclass(frozen=True)
class Page:
    """One page of summaries and the cursor of the next one (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Scope:
    """Which tickets a list starts from, before filters (also what a cursor is bound to)."""

    name: str
    condition: sql.Composable = field(default_factory=lambda: sql.SQL("TRUE"))
    params: tuple[Any, ...] = ()

    @classmethod
    def workspace(cls, workspace_id: str) -> Scope:
        """All Tickets of a workspace."""
        return cls(f"workspace:{workspace_id}", sql.SQL("t.workspace_id = %s"), (workspace_id,))

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
    ) -> None:
        self._view = view
        self._datastore: PostgresDatastore = view.datastore
        self._key = cursor_key
        self._wait_timeout = wait_timeout

    def statement(
        self, scope: Scope, filters: ListFilter, limit: int, cursor: str | None
    ) -> tuple[sql.Composed, tuple[Any, ...]]:
        """The SQL of one page (one row more than asked, to know whether another follows)."""
        where, params = self._where(scope, filters)
        if cursor is not None:
            submitted_at, ticket_id = self._decode(cursor, scope)
            where = sql.SQL("{} AND (t.submitted_at, t.ticket_id) < (%s, %s)").format(where)
            params += (submitted_at, ticket_id)
        query = sql.SQL(
            "SELECT {columns} FROM ticket_summaries t WHERE {where} "
            "ORDER BY t.submitted_at DESC, t.ticket_id DESC LIMIT %s"
        ).format(columns=sql.SQL(SUMMARY_COLUMNS), where=where)
        return query, (*params, limit + 1)

    def page(self, scope: Scope, filters: ListFilter, limit: int, cursor: str | None) -> Page:
        """One page, newest first."""
        query, params = self.statement(scope, filters, limit, cursor)
        with self._datastore.get_connection() as conn:
            rows = conn.execute(query, params).fetchall()
        items = [summary(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = self._encode(scope, last["submitted_at"], last["ticket_id"])
        return Page(items, next_cursor)

    def all_matching(
        self, scope: Scope, filters: ListFilter, batch: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every matching summary, newest first, fetched in keyset batches (exports)."""
        cursor = None
        while True:
            page = self.page(scope, filters, batch, cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def wait_for(self, position: int, timeout: float | None = None) -> bool:
        """Block until the read models reach a store position; False if the timeout came first."""
        return self._view.wait_for(position, self._wait_timeout if timeout is None else timeout)

    @staticmethod
    def _where(scope: Scope, filters: ListFilter) -> tuple[sql.Composable, tuple[Any, ...]]:
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
            pattern = "%" + _escape_like(filters.q.lower()) + "%"
            if filters.q.isdigit() and len(filters.q) <= 18:
                clauses.append(sql.SQL("(t.number = %s OR lower(t.title) LIKE %s)"))
                params += [int(filters.q), pattern]
            else:
                clauses.append(sql.SQL("lower(t.title) LIKE %s"))
                params.append(pattern)
        return sql.SQL(" AND ").join(clauses), tuple(params)

    def _encode(self, scope: Scope, submitted_at: datetime, ticket_id: UUID) -> str:
        payload = json.dumps([scope.name, submitted_at.isoformat(), str(ticket_id)]).encode()
        signature = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")

    def _decode(self, cursor: str, scope: Scope) -> tuple[datetime, UUID]:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            signature, payload = raw[:16], raw[16:]
            expected = hmac.new(self._key, payload, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(signature, expected):
                raise InvalidCursor("the cursor was not issued by this service")
            name, submitted_at, ticket_id = json.loads(payload)
            if name != scope.name:
                raise InvalidCursor("the cursor belongs to another list")
            return datetime.fromisoformat(submitted_at), UUID(ticket_id)
        except (ValueError, TypeError) as error:
            raise InvalidCursor(str(error) or "malformed cursor") from None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """A summary row in the shape of CONTRACT.md §2.3."""
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
        "submitted_at": row["submitted_at"],
        "updated_at": row["updated_at"],
    }


def waiting_on_user_since_before(view: ReadModelView, moment: datetime) -> list[UUID]:
    """Tickets in feedback_provided since before ``moment`` (candidates for the sweep)."""
    with view.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT ticket_id FROM ticket_summaries WHERE status = 'feedback_provided' "
            "AND feedback_provided_since < %s ORDER BY feedback_provided_since",
            (moment,),
        ).fetchall()
    return [row["ticket_id"] for row in rows]


def open_or_changed_since(view: ReadModelView, moment: datetime) -> list[UUID]:
    """Tickets not closed, or changed since ``moment`` (candidates for SLA breach checks)."""
    with view.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT ticket_id FROM ticket_summaries WHERE status <> 'closed' OR updated_at > %s",
            (moment,),
        ).fetchall()
    return [row["ticket_id"] for row in rows]
