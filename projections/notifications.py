"""The notifications follower: who is told what, derived from the store (CONTRACT.md §6).

It follows the store like the read-model projection, with a position of its own: each batch of
stored events is turned into notifications (``domain.notifications`` decides the recipients),
and into the ticket feed the live streams read (``{ticket_id, version, status}`` with what
visibility needs), and the position moves on, all in one transaction. A notification's id is
derived from its fact and recipient, so a batch applied again (a worker killed before its
commit, two workers) adds nothing: each is derived once per recipient. The commit notifies
``LIVE_CHANNEL`` with the position reached, which wakes the streams.

Notifications are a log, not a read model: read marks are kept in them, so a rebuild of the
read models leaves them alone.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

from application.history import STAFF_ONLY_TYPES, history_entry
from application.subscription import MAX_WAIT, StoreNotifications
from domain import notifications as rules
from domain.due_warnings import DueWarnings
from domain.handlers import ROSTER_ID, HandlerRoster
from domain.notifications import Kind, Notice
from domain.platform import Workspace
from domain.ticket import Ticket
from projections.schema import FOLLOWER
from projections.storable import write_storable_text
from projections.view import TicketingEventLog

log = logging.getLogger(__name__)

LIVE_CHANNEL = "ticketing_live"
PRESENCE_CHANNEL = "ticketing_presence"
BATCH = 500
TICKETS_KEPT = 2_000  # tickets whose latest state the follower keeps in memory (a miss: a read)
FEED_KEPT = "1 day"  # how long the ticket feed keeps a change for streams that resume

_INSERT_NOTIFICATION = (
    "INSERT INTO notifications (notification_id, position, account_id, kind, ticket_id, "
    "ticket_number, workspace_id, title, summary, occurred_at) VALUES (%(notification_id)s, "
    "%(position)s, %(account_id)s, %(kind)s, %(ticket_id)s, %(ticket_number)s, "
    "%(workspace_id)s, %(title)s, %(summary)s, %(occurred_at)s) ON CONFLICT DO NOTHING"
)
_INSERT_FEED = (
    "INSERT INTO ticket_feed (position, ticket_id, version, user_version, status, "
    "workspace_id, submitter_id, assignee_id, staff_only) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


class NotificationFollower:
    """Derives notifications and the ticket feed from the store, batch by batch."""

    def __init__(self, event_log: TicketingEventLog, default_assignee: str = "") -> None:
        self.event_log = event_log
        self.datastore = event_log.datastore
        self.default_assignee = default_assignee
        self._tickets: OrderedDict[UUID, Ticket] = OrderedDict()

    def position(self) -> int:
        """How far notifications have been derived."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT position FROM follower_positions WHERE name = %s", (FOLLOWER,)
            ).fetchone()
        return 0 if row is None else int(row["position"])

    def catch_up(self, stopping: Callable[[], bool] = lambda: False, batch: int = BATCH) -> int:
        """Derive from everything stored after the position, ``batch`` events a transaction;
        returns the position reached."""
        while True:
            with self.datastore.transaction(commit=True) as curs:
                row = curs.execute(
                    "SELECT position FROM follower_positions WHERE name = %s FOR UPDATE",
                    (FOLLOWER,),
                ).fetchone()
                position = 0 if row is None else int(row["position"])
                stored = self.event_log.recorder.select_notifications(position + 1, batch)
                if stored:
                    write_storable_text(curs)
                    self._derive(curs, stored)
                    position = stored[-1].id
                    curs.execute(
                        "UPDATE follower_positions SET position = %s WHERE name = %s",
                        (position, FOLLOWER),
                    )
                    curs.execute("SELECT pg_notify(%s, %s)", (LIVE_CHANNEL, str(position)))
            if len(stored) < batch or stopping():
                return position

    def forget_old_feed(self) -> None:
        """Drop ticket changes older than a day (a stream resuming from further back starts
        afresh)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "DELETE FROM ticket_feed WHERE recorded_at < now() - %s::interval", (FEED_KEPT,)
            )

    def _derive(self, curs: Cursor[DictRow], stored: Sequence[Notification]) -> None:
        for record in stored:
            event: Any = self.event_log.mapper.to_domain_event(record)
            if isinstance(event, Ticket.Event):
                self._ticket_event(curs, record.id, event)
            elif isinstance(event, DueWarnings.Event) and type(event).__name__ == "Warned":
                self._warning(curs, record.id, event)

    def _ticket_event(self, curs: Cursor[DictRow], position: int, event: Any) -> None:
        ticket = self._ticket_after(event)
        entry = history_entry(event)
        curs.execute(
            _INSERT_FEED,
            (
                position,
                ticket.id,
                ticket.version,
                ticket.user_version,
                ticket.status,
                ticket.workspace_id,
                ticket.submitter["account_id"],
                ticket.assignee_id,
                entry.type in STAFF_ONLY_TYPES,
            ),
        )
        admins = self._admins() if entry.type == "TicketSlaBreached" else frozenset()
        actor = str(entry.actor.get("account_id", ""))
        notices = rules.of_ticket_event(entry.type, actor, entry.data, ticket, admins)
        self._insert(curs, position, event, ticket, self._visible(notices, ticket))

    def _warning(self, curs: Cursor[DictRow], position: int, event: Any) -> None:
        ticket = self._latest(event.ticket_id)
        if ticket is None:
            return
        if event.kind == Kind.CLOSING_SOON:
            notice = rules.closing_soon(event.recipient, event.due_at)
        else:
            notice = rules.sla_due_soon(event.recipient, event.target, event.due_at)
        self._insert(curs, position, event, ticket, self._visible([notice], ticket))

    def _visible(self, notices: list[Notice], ticket: Ticket) -> list[Notice]:
        """The notices whose recipient may still hear of this ticket (``domain.notifications``)."""
        if not any(notice.kind in rules.TO_SUBMITTER for notice in notices):
            return notices
        member = self._is_member(ticket.workspace_id, str(ticket.submitter["account_id"]))
        return [
            notice
            for notice in notices
            if rules.for_member_or_told_anyway(notice, ticket.close_reason, member)
        ]

    def _is_member(self, workspace_id: str, account_id: str) -> bool:
        try:
            workspace: Any = self.event_log.repository.get(Workspace.create_id(workspace_id))
        except AggregateNotFoundError:
            return False
        return isinstance(workspace, Workspace) and workspace.is_member(account_id)

    @staticmethod
    def _insert(
        curs: Cursor[DictRow], position: int, event: Any, ticket: Ticket, notices: list[Notice]
    ) -> None:
        for notice in notices:
            curs.execute(
                _INSERT_NOTIFICATION,
                {
                    "notification_id": rules.notification_id(
                        event.originator_id, event.originator_version, notice.kind, notice.recipient
                    ),
                    "position": position,
                    "account_id": notice.recipient,
                    "kind": str(notice.kind),
                    "ticket_id": ticket.id,
                    "ticket_number": ticket.number,
                    "workspace_id": ticket.workspace_id,
                    "title": ticket.title,
                    "summary": notice.summary,
                    "occurred_at": event.timestamp,
                },
            )

    def _ticket_after(self, event: Any) -> Ticket:
        """The ticket as this event left it: the kept copy moved on by the event, or read from
        the store at the event's version."""
        cached = self._tickets.pop(event.originator_id, None)
        if cached is not None and cached.version == event.originator_version - 1:
            ticket = cast(Ticket, event.mutate(cached))
        elif event.originator_version == 1:
            ticket = cast(Ticket, event.mutate(None))
        else:
            ticket = cast(
                Ticket,
                self.event_log.repository.get(
                    event.originator_id, version=event.originator_version
                ),
            )
        self._tickets[event.originator_id] = ticket
        if len(self._tickets) > TICKETS_KEPT:
            self._tickets.popitem(last=False)
        return ticket

    def _latest(self, ticket_id: UUID) -> Ticket | None:
        """A ticket's number, title and workspace (they never change) for a warning."""
        cached = self._tickets.get(ticket_id)
        if cached is not None:
            return cached
        try:
            return cast(Ticket, self.event_log.repository.get(ticket_id))
        except AggregateNotFoundError:  # nothing to tell of a ticket that is not stored
            log.warning("a due-time warning names ticket %s, which has no events", ticket_id)
            return None

    def _admins(self) -> frozenset[str]:
        """Every admin: the roster's active admins and the default assignee."""
        admins = {self.default_assignee} if self.default_assignee else set()
        try:
            roster = cast(HandlerRoster, self.event_log.repository.get(ROSTER_ID))
        except AggregateNotFoundError:
            return frozenset(admins)
        for account_id, handler in roster.handlers.items():
            if handler["active"] and "admin" in handler["roles"]:
                admins.add(account_id)
        return frozenset(admins)


def follow(
    follower: NotificationFollower,
    stop: threading.Event,
    reached: Callable[[int], None] = lambda position: None,
) -> None:
    """Derive notifications as events are stored, until ``stop`` is set (LISTEN in place
    before the first read, and a read at least every ``MAX_WAIT`` seconds)."""
    recorder = cast(PostgresApplicationRecorder, follower.event_log.recorder)
    with StoreNotifications(recorder, stop) as notified:
        while not stop.is_set():
            reached(follower.catch_up(stop.is_set))
            notified.wait(MAX_WAIT)
