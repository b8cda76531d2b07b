"""Operating the read models: status, rebuild from the event store, and the replay audit.

Both rebuild and audit hold the tracking row for their whole transaction, so live
projection runners wait for them instead of racing them. Readers are never blocked:
until a rebuild commits, the API keeps reading the old rows (PostgreSQL MVCC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import uuid4

from eventsourcing.persistence import Notification
from psycopg import Cursor, sql
from psycopg.rows import DictRow

from projections.health import ProjectionHealth, read_health
from projections.reports import fold_cells
from projections.schema import READ_MODEL_TABLES, create_read_model_tables
from projections.summaries import apply_event
from projections.view import ReadModelView, TicketingEventLog

BATCH = 1_000
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Difference:
    """A row found on one side of the audit comparison only."""

    table: str
    side: str  # "live only" or "replay only"
    row: dict[str, object]


def head(event_log: TicketingEventLog) -> int:
    """The position of the newest stored event."""
    return event_log.recorder.max_notification_id() or 0


def status(view: ReadModelView, event_log: TicketingEventLog) -> list[ProjectionHealth]:
    """Position, lag, progress and last error of each read model."""
    return [read_health(view, head(event_log))]


def replay(
    curs: Cursor[DictRow],
    view: ReadModelView,
    event_log: TicketingEventLog,
    upto: int,
    progress: Progress | None = None,
) -> int:
    """Apply every stored event up to a position through ``curs``; returns the last applied."""
    last, start = 0, 1
    while start <= upto:
        notifications = event_log.recorder.select_notifications(start, BATCH, stop=upto)
        if not notifications:
            break
        last = _apply(curs, view, event_log, notifications)
        start = last + 1
        if progress is not None:
            progress(last, upto)
    return last


def _apply(
    curs: Cursor[DictRow],
    view: ReadModelView,
    event_log: TicketingEventLog,
    notifications: Sequence[Notification],
) -> int:
    """Apply stored events through ``curs``; returns the position of the last."""
    for notification in notifications:
        apply_event(curs, event_log.mapper.to_domain_event(notification), view.service_level)
    fold_cells(curs)
    return notifications[-1].id


def catch_up(
    view: ReadModelView,
    event_log: TicketingEventLog,
    stopping: Callable[[], bool] = lambda: False,
    batch: int = BATCH,
) -> int:
    """Apply the events stored after the read models' position, ``batch`` per transaction.

    The live runner commits once per event, which is right for a steady trickle but slow for
    a backlog (a worker that was down, a long outage). Each batch holds the tracking row, so
    a runner or another catch-up waits and then goes on from the new position; nothing is
    applied twice. Returns the position reached (when nothing is left, or ``stopping()``).
    """
    while True:
        with view.datastore.transaction(commit=True) as curs:
            position = view.locked_position(curs)
            notifications = event_log.recorder.select_notifications(position + 1, batch)
            if notifications:
                position = _apply(curs, view, event_log, notifications)
                view.set_position(curs, position)
        if len(notifications) < batch or stopping():
            return position


def rebuild(
    view: ReadModelView, event_log: TicketingEventLog, progress: Progress | None = None
) -> int:
    """Empty the read models and replay every event into them, in one transaction."""
    with view.datastore.transaction(commit=True) as curs:
        view.locked_position(curs)
        for table in READ_MODEL_TABLES:
            curs.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        last = replay(curs, view, event_log, head(event_log), progress)
        view.set_position(curs, last)
        view.record_sla_settings(curs)
    return last


def audit(
    view: ReadModelView, event_log: TicketingEventLog, progress: Progress | None = None
) -> tuple[int, list[Difference]]:
    """Replay into scratch tables and compare them with the live ones, row by row.

    Runs in a transaction that is always rolled back, so the scratch schema vanishes.
    Returns the position compared at and the differences.
    """
    scratch = f"audit_{uuid4().hex[:12]}"
    differences: list[Difference] = []
    with view.datastore.transaction(commit=False) as curs:
        position = view.locked_position(curs)
        curs.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
        curs.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(sql.Identifier(scratch)))
        create_read_model_tables(curs)
        replay(curs, view, event_log, position, progress)
        for table in READ_MODEL_TABLES:
            live = sql.Identifier("public", table)
            replayed = sql.Identifier(scratch, table)
            for side, first, second in (
                ("live only", live, replayed),
                ("replay only", replayed, live),
            ):
                rows = curs.execute(
                    sql.SQL("SELECT * FROM {} EXCEPT SELECT * FROM {}").format(first, second)
                ).fetchall()
                differences += [Difference(table, side, dict(row)) for row in rows]
    return position, differences
