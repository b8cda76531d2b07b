"""Waiting longer after each failure: the one back-off every worker loop and ``ticketing dev``
use (0.5 s, doubling, at most 30 s, from the start again after a success)."""

from __future__ import annotations

FIRST = 0.5
CAP = 30.0


class Backoff:
    """Delays between retries of one thing: doubling, capped, reset by a success."""

    def __init__(self, first: float = FIRST, cap: float = CAP) -> None:
        self.first, self.cap = first, cap
        self.delay = first

    def next(self) -> float:
        """The delay before the next retry (the one after it will be longer)."""
        delay = self.delay
        self.delay = min(self.delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        """It worked: the next failure waits the shortest delay again."""
        self.delay = self.first
