"""Whether the read models keep up with the event store.

A projection that fails on an event retries for ever, and one whose worker is gone does nothing;
either way every list goes stale while nothing else looks wrong. So the projection worker
keeps a row per read model: a heartbeat with its position, when it last made progress (or was
caught up), and its last error. ``projections status``, ``audit verify``, ``/readyz`` and
``/metrics`` read it. Times are the database's, so hosts with skewed clocks agree.

A read model is *stalled* when events wait for it and it has an unresolved error, or it has
made no progress for ``STALL_AFTER`` seconds (its worker is stuck or not running).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from projections.schema import HEALTH_TABLE
from projections.view import PROJECTION_NAME, ReadModelView

STALL_AFTER = 30.0
HEARTBEAT_INTERVAL = 5.0


@dataclass(frozen=True)
class ProjectionHealth:
    """How one read model stands against the store's newest event."""

    name: str
    position: int
    head: int
    seconds_since_progress: float | None  # None: no worker ever reported
    error: str | None
    error_at: datetime | None
    failures: int

    @property
    def lag(self) -> int:
        """Events stored but not yet applied."""
        return max(self.head - self.position, 0)

    @property
    def stalled(self) -> bool:
        """Events wait, and the projection fails on them or has not moved for a while."""
        if self.lag == 0:
            return False
        idle = self.seconds_since_progress
        return self.error is not None or idle is None or idle > STALL_AFTER

    @property
    def state(self) -> str:
        """One word for people and probes."""
        if self.stalled:
            return "stalled"
        return "behind" if self.lag else "current"


def read_health(view: ReadModelView, head: int) -> ProjectionHealth:
    """The read models' health against a store head."""
    position = view.position()
    with view.datastore.get_connection() as conn:
        row = conn.execute(
            f"SELECT extract(epoch FROM now() - progressed_at) AS idle, error, error_at, "  # noqa: S608
            f"failures FROM {HEALTH_TABLE} WHERE name = %s",
            (PROJECTION_NAME,),
        ).fetchone()
    return ProjectionHealth(
        name=PROJECTION_NAME,
        position=position,
        head=head,
        seconds_since_progress=None if row is None else float(row["idle"]),
        error=None if row is None else row["error"],
        error_at=None if row is None else row["error_at"],
        failures=0 if row is None else int(row["failures"]),
    )


def record_heartbeat(view: ReadModelView, position: int, head: int) -> None:
    """The worker is alive at ``position``; progress (or being caught up) clears an error."""
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(
            f"""
            INSERT INTO {HEALTH_TABLE} AS h (name, position, checked_at, progressed_at)
            VALUES (%(name)s, %(position)s, now(), now())
            ON CONFLICT (name) DO UPDATE SET
                progressed_at = CASE
                    WHEN EXCLUDED.position <> h.position OR %(caught_up)s THEN now()
                    ELSE h.progressed_at END,
                error = CASE
                    WHEN EXCLUDED.position > COALESCE(h.error_position, -1) OR %(caught_up)s
                    THEN NULL ELSE h.error END,
                position = EXCLUDED.position,
                checked_at = now()
            """,  # noqa: S608 - the table name is ours
            {"name": PROJECTION_NAME, "position": position, "caught_up": position >= head},
        )


def record_failure(view: ReadModelView, position: int, error: str) -> None:
    """The projection failed at ``position`` (the next event, or the database)."""
    with view.datastore.transaction(commit=True) as curs:
        curs.execute(
            f"""
            INSERT INTO {HEALTH_TABLE} AS h (name, position, checked_at, progressed_at,
                                             error, error_at, error_position, failures)
            VALUES (%(name)s, %(position)s, now(), now(), %(error)s, now(), %(position)s, 1)
            ON CONFLICT (name) DO UPDATE SET
                error = EXCLUDED.error, error_at = now(), error_position = EXCLUDED.position,
                failures = h.failures + 1, checked_at = now()
            """,  # noqa: S608 - the table name is ours
            {"name": PROJECTION_NAME, "position": position, "error": error[:2000]},
        )
