"""eventsourcing's repository, its waits bounded by the caller's database deadline."""

from __future__ import annotations

import threading
from typing import cast
from uuid import UUID

from eventsourcing.application import Repository

from application.database import DeadlineExceeded, remaining


class _DeadlineLock:
    """A fast-forward lock whose blocking acquire ends at the caller's database deadline."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    def acquire(self, blocking: bool = True) -> bool:
        """Acquire as ``threading.Lock`` does, but give up (503) when the deadline passes."""
        left = remaining()
        if not blocking or left is None:
            return self._lock.acquire(blocking)
        if self._lock.acquire(timeout=max(left, 0)):
            return True
        raise DeadlineExceeded("another request reading the same record did not finish in time")

    def release(self) -> None:
        """Release the lock."""
        self._lock.release()


class DeadlineRepository(Repository[UUID]):
    """eventsourcing's repository, whose per-aggregate lock honours database deadlines.

    A cached aggregate is brought up to date under a lock held while its new events are read;
    with the database stalled, every other request for the same aggregate would queue behind
    that read without bound (eventsourcing 9.5.6), past its own deadline.
    """

    def _use_fastforward_lock(self, aggregate_id: UUID) -> threading.Lock:
        return cast(threading.Lock, _DeadlineLock(super()._use_fastforward_lock(aggregate_id)))
