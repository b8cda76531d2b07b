"""Following the event store: LISTEN before the first read, and never trust a wake-up alone.

eventsourcing 9.5.6's ``PostgresSubscription`` starts reading before its LISTEN thread has
issued LISTEN, and then waits for a notification without a timeout
(pyeventsourcing/eventsourcing#305): an event committed in between stays unread until some
later write, which on a quiet night can be hours. So the service does not follow the store
with it: its follower (``projections.live``) reads only once :class:`StoreNotifications` has
its LISTEN in place, and reads again at least every ``MAX_WAIT`` seconds whatever it was
told, so a lost notification costs at most that long.
"""

from __future__ import annotations

import threading

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

MAX_WAIT = 1.0  # seconds a follower may wait for a notification before reading anyway
LISTEN_POLL = 0.1


class StoreNotifications:
    """Tells a follower that events were stored: a thread LISTENs on the recorder's channel
    (one pooled connection) until ``stop`` is set or the block ends.

    Entering waits until LISTEN is in place, so that a read made after it misses no
    notification of a later write. :meth:`wait` also returns once ``stop`` is set, and raises
    what made the listener fail (a lost connection): the follower then starts again.
    """

    def __init__(self, recorder: PostgresApplicationRecorder, stop: threading.Event) -> None:
        self._recorder = recorder
        self._stop = stop
        self._ended = threading.Event()
        self._notified = threading.Event()
        self._listening = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._listen, name="store-listener", daemon=True)

    def __enter__(self) -> StoreNotifications:
        self._thread.start()
        while not self._listening.wait(LISTEN_POLL):
            if not self._thread.is_alive():
                self._raise_failure()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._ended.set()
        self._thread.join(10 * LISTEN_POLL)

    def wait(self, timeout: float) -> None:
        """Until a write was notified since the last call, ``stop`` is set, or ``timeout``."""
        self._notified.wait(timeout)
        self._notified.clear()
        if self._error is not None:
            self._raise_failure()

    def _raise_failure(self) -> None:
        error = self._error or RuntimeError("the store's listener ended")
        raise RuntimeError(f"lost the store's notifications: {error}") from error

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                self._listening.set()
                while not (self._ended.is_set() or self._stop.is_set()):
                    for _ in conn.notifies(timeout=LISTEN_POLL, stop_after=1):
                        self._notified.set()
        except BaseException as error:
            self._error = error
        finally:
            self._notified.set()  # whoever waits looks again: at the store, or at the error
