"""The notifications people read (CONTRACT.md §6.3): an account's inbox in keyset pages, read
marks, preferences, and what the publisher sends to ``notifications.accounts``.

Every query names the account it serves: an account reads and marks its own notifications
only, whatever a cursor or an id in the request says.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow

from domain.notifications import Kind
from projections.schema import FOLLOWER

COLUMNS = (
    "notification_id, position, account_id, kind, ticket_id, ticket_number, workspace_id, "
    "title, summary, occurred_at, read_at"
)
PUBLISH_WINDOW = 2_000  # store positions a publisher batch looks at


class BadCursor(ValueError):
    """A cursor this inbox did not hand out."""


@dataclass(frozen=True)
class InboxPage:
    """One page of an account's notifications, newest first."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    unread_count: int


def encode_cursor(position: int, notification_id: UUID) -> str:
    """Where the next page starts: after this notification."""
    return base64.urlsafe_b64encode(f"{position}:{notification_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, UUID]:
    """The notification a cursor names; :class:`BadCursor` if it is not one."""
    try:
        position, notification_id = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return int(position), UUID(notification_id)
    except (ValueError, UnicodeDecodeError, binascii.Error) as error:
        raise BadCursor("not a cursor this service gave") from error


def with_url(row: dict[str, Any]) -> dict[str, Any]:
    """A stored notification as people and services receive it: with the console's address
    of its ticket."""
    return {**row, "url": f"/tickets/{row['ticket_id']}"}


class Inbox:
    """Queries and marks on the notifications table."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore

    def page(
        self, account_id: str, *, unread: bool = False, limit: int = 20, cursor: str | None = None
    ) -> InboxPage:
        """A page of the account's notifications, newest first."""
        where = ["account_id = %(account)s"]
        params: dict[str, Any] = {"account": account_id, "limit": limit + 1}
        if unread:
            where.append("read_at IS NULL")
        if cursor is not None:
            params["position"], params["id"] = decode_cursor(cursor)
            where.append("(position, notification_id) < (%(position)s, %(id)s)")
        query = (
            f"SELECT {COLUMNS} FROM notifications WHERE {' AND '.join(where)} "  # noqa: S608 - fixed text
            "ORDER BY position DESC, notification_id DESC LIMIT %(limit)s"
        )
        with self.datastore.transaction(commit=False) as curs:
            rows = [with_url(dict(row)) for row in curs.execute(query, params).fetchall()]
            count = _unread(curs, account_id)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        next_cursor = (
            None if last is None else encode_cursor(last["position"], last["notification_id"])
        )
        return InboxPage(rows, next_cursor, count)

    def mark_read(
        self, account_id: str, *, ids: Sequence[UUID] = (), up_to: UUID | None = None
    ) -> int:
        """Mark the named notifications read, or every one up to (and with) ``up_to``; returns
        the unread count after. Marks of one account take turns (a transaction-scoped lock),
        so each count answered is the count once that mark is in, whatever runs beside it."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", (account_id,))
            if up_to is not None:
                curs.execute(
                    "UPDATE notifications SET read_at = now() WHERE account_id = %(account)s "
                    "AND read_at IS NULL AND (position, notification_id) <= (SELECT position, "
                    "notification_id FROM notifications WHERE notification_id = %(id)s "
                    "AND account_id = %(account)s)",
                    {"account": account_id, "id": up_to},
                )
            if ids:
                curs.execute(
                    "UPDATE notifications SET read_at = now() WHERE account_id = %s "
                    "AND read_at IS NULL AND notification_id = ANY(%s)",
                    (account_id, list(ids)),
                )
            return _unread(curs, account_id)

    def preferences(self, account_id: str) -> dict[str, bool]:
        """Which kinds go out to the platform's notifier for this account (all by default)."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT kind, enabled FROM notification_preferences WHERE account_id = %s",
                (account_id,),
            ).fetchall()
        chosen = {row["kind"]: row["enabled"] for row in rows}
        return {str(kind): bool(chosen.get(str(kind), True)) for kind in Kind}

    def set_preferences(self, account_id: str, kinds: dict[str, bool]) -> dict[str, bool]:
        """Switch kinds on or off (kinds not named keep their setting); returns them all."""
        with self.datastore.transaction(commit=True) as curs:
            for kind, enabled in kinds.items():
                curs.execute(
                    "INSERT INTO notification_preferences (account_id, kind, enabled) "
                    "VALUES (%s, %s, %s) ON CONFLICT (account_id, kind) "
                    "DO UPDATE SET enabled = EXCLUDED.enabled",
                    (account_id, Kind(kind).value, enabled),
                )
        return self.preferences(account_id)

    def derived_up_to(self) -> int:
        """The store position up to which notifications have been derived."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT position FROM follower_positions WHERE name = %s", (FOLLOWER,)
            ).fetchone()
        return 0 if row is None else int(row["position"])

    def outgoing(self, after: int) -> tuple[list[dict[str, Any]], int]:
        """The notifications to publish after store position ``after``, in order, leaving out
        kinds their recipient switched off; and the position they take the publisher to
        (whole positions only: the follower writes each position's notifications together)."""
        upto = min(self.derived_up_to(), after + PUBLISH_WINDOW)
        if upto <= after:
            return [], after
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM notifications n WHERE position > %s AND position <= %s "  # noqa: S608 - fixed text
                "AND NOT EXISTS (SELECT 1 FROM notification_preferences p WHERE "
                "p.account_id = n.account_id AND p.kind = n.kind AND NOT p.enabled) "
                "ORDER BY position, notification_id",
                (after, upto),
            ).fetchall()
        return [with_url(dict(row)) for row in rows], upto


def _unread(curs: Cursor[DictRow], account_id: str) -> int:
    row = curs.execute(
        "SELECT count(*) AS n FROM notifications WHERE account_id = %s AND read_at IS NULL",
        (account_id,),
    ).fetchone()
    return 0 if row is None else int(row["n"])
