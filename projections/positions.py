"""Read-your-writes for a whole process: one watcher looks at how far the read models have got,
for every request that waits on a position (CONTRACT.md §2.2's ``X-Ticketing-Position``).

A request used to poll the database itself, on a request thread, for up to five seconds: a
hundred requests naming a position that will never come took every thread and as many
connections. Here one thread reads two numbers, the read models' position and the store's last
event, while anyone waits, and answers every waiter from them:

- ``REACHED``: the read models have the write; serve.
- ``BEYOND``: the store itself has no such position, in a read made after the request
  arrived (a command's answer comes after its commit, so a position from a command is never
  beyond): refuse at once, nothing will ever reach it.
- ``STALE``: the timeout came first; serve anyway, marked stale.

A waiter is a callback, so a thread can block on one (:meth:`PositionWatch.wait`) and an event
loop can await one without a thread (``api.gates``).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

LOOK_EVERY = 0.02  # seconds between two looks while anyone waits
LATE = 0.1  # seconds past its deadline a wait is answered stale without the watcher
POSITION_OUTCOME = "ticketing.position_outcome"  # the environ key of a wait done before
POSITION_DIGITS = 18  # a store position fits a signed 64-bit integer


def request_position(raw: str) -> int:
    """The position of an ``X-Ticketing-Position`` header; ValueError if it is none."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > POSITION_DIGITS:
        raise ValueError("X-Ticketing-Position must be a store position from a command response")
    return int(text)


class Outcome(enum.Enum):
    """How a wait for a position ended."""

    REACHED = "reached"
    BEYOND = "beyond"
    STALE = "stale"


@dataclass(eq=False)
class _Waiter:
    position: int
    arrived: float
    deadline: float
    done: Callable[[Outcome], None]


class PositionWatch:
    """The process's one watcher of the read models' position (``reached``) and the store's
    last position (``head``); both callables read the database."""

    def __init__(
        self,
        reached: Callable[[], int],
        head: Callable[[], int],
        *,
        look_every: float = LOOK_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reached = reached
        self._head = head
        self._look_every = look_every
        self._clock = clock
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._waiters: list[_Waiter] = []
        self._known = 0  # the read models' position at the last look
        self._thread: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        """How many waits are open (for tests and metrics)."""
        with self._lock:
            return len(self._waiters)

    def notify(self, position: int, timeout: float, done: Callable[[Outcome], None]) -> None:
        """Call ``done`` once, from the watcher's thread or this one, with the outcome of
        waiting up to ``timeout`` seconds for ``position``."""
        now = self._clock()
        with self._lock:
            if position <= self._known:
                answer: Outcome | None = Outcome.REACHED
            elif timeout <= 0:
                answer = Outcome.STALE
            else:
                answer = None
                self._waiters.append(_Waiter(position, now, now + timeout, done))
                self._start()
                self._wake.notify()
        if answer is not None:
            done(answer)

    def wait(self, position: int, timeout: float) -> Outcome:
        """Block this thread until the outcome of waiting for ``position`` is known."""
        outcome: list[Outcome] = []
        answered = threading.Event()

        def done(result: Outcome) -> None:
            outcome.append(result)
            answered.set()

        self.notify(position, timeout, done)
        # the watcher answers by the deadline, unless its look hangs on a stalled database
        answered.wait(timeout + LATE)
        return outcome[0] if outcome else Outcome.STALE

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="position-watch", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiters:
                    self._wake.wait()
            looked = self._clock()
            try:
                reached, head = self._reached(), self._head()
            except Exception as error:  # the database is away: waiters time out as stale
                log.warning("position watch: cannot read positions (%s)", error)
                reached, head = None, None
            answers = self._answer(looked, reached, head)
            for waiter, outcome in answers:
                waiter.done(outcome)
            time.sleep(self._look_every)

    def _answer(
        self, looked: float, reached: int | None, head: int | None
    ) -> list[tuple[_Waiter, Outcome]]:
        now = self._clock()
        answers: list[tuple[_Waiter, Outcome]] = []
        with self._lock:
            if reached is not None:
                self._known = reached
            kept: list[_Waiter] = []
            for waiter in self._waiters:
                if waiter.position <= self._known:
                    answers.append((waiter, Outcome.REACHED))
                elif head is not None and waiter.arrived <= looked and waiter.position > head:
                    answers.append((waiter, Outcome.BEYOND))
                elif now >= waiter.deadline:
                    answers.append((waiter, Outcome.STALE))
                else:
                    kept.append(waiter)
            self._waiters = kept
        return answers
