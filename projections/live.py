"""The live projection: what is new in the store, applied in batches as it is written.

Each time PostgreSQL notifies a write (and at least every second, whatever the notifications
say), the events after the read models' position are applied, a thousand per transaction at
most, with the position moved in the same transaction (``maintenance.catch_up``). Under load
many commands' events share one transaction, so the read models keep up with far more than one
commit per event would allow; when quiet, an event is applied as soon as it is notified.

The store is read only once LISTEN is in place, so an event committed in between cannot wait
for a later write (``application.subscription``). An event that fails to apply stops the
projection right before it: the events ahead of it in its batch are applied one by one first.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import cast

from eventsourcing.postgres import PostgresApplicationRecorder

from application.service_level import ServiceLevel
from application.subscription import MAX_WAIT, StoreNotifications
from projections import maintenance
from projections.view import ReadModelView, TicketingEventLog


def project_live(
    view: ReadModelView,
    event_log: TicketingEventLog,
    stop: threading.Event,
    reached: Callable[[int], None] = lambda position: None,
) -> None:
    """Apply new events until ``stop`` is set, calling ``reached(position)`` after each look
    at the store; raises what made an event fail to apply, or the listener fail."""
    recorder = cast(PostgresApplicationRecorder, event_log.recorder)
    with StoreNotifications(recorder, stop) as notified:
        while not stop.is_set():
            reached(_apply_new(view, event_log, stop))
            notified.wait(MAX_WAIT)


def _apply_new(view: ReadModelView, event_log: TicketingEventLog, stop: threading.Event) -> int:
    """Everything after the position, in batches; the position reached."""
    try:
        return maintenance.catch_up(view, event_log, stop.is_set)
    except Exception:
        # the events ahead of the failing one in its batch: one transaction each
        with contextlib.suppress(Exception):
            maintenance.catch_up(view, event_log, stop.is_set, batch=1)
        raise


class LiveProjection:
    """The live projection in a thread of its own, for as long as the ``with`` block lasts
    (tests and benchmarks; the worker runs :func:`project_live` in its projection thread)."""

    def __init__(self, env: dict[str, str], service_level: ServiceLevel | None = None) -> None:
        self.event_log = TicketingEventLog(env)
        self.view = ReadModelView(self.event_log.datastore, service_level=service_level)
        self.view.create_table()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-projection", daemon=True)

    def _run(self) -> None:
        try:
            project_live(self.view, self.event_log, self._stop)
        except BaseException as error:
            self._error = error

    def __enter__(self) -> LiveProjection:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(30)
        self.event_log.close()

    def wait(self, position: int, timeout: float) -> None:
        """Until the read models reach ``position``; raises if the projection failed or the
        timeout passed first."""
        if not self.view.wait_for(position, timeout):
            if self._error is not None:
                raise RuntimeError(f"the projection stopped: {self._error}") from self._error
            raise TimeoutError(f"the read models did not reach {position} in {timeout}s")
