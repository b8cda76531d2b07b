"""The process's one watcher of read-model positions (``projections.positions``): every waiter
is answered from the same looks, a position the store does not have is known at once, and the
number of database reads does not grow with the number of waiters."""

from __future__ import annotations

import threading
import time

from projections.positions import Outcome, PositionWatch, request_position


class Positions:
    """Counts the reads the watcher makes."""

    def __init__(self, reached: int, head: int) -> None:
        self.reached = reached
        self.head = head
        self.reads = 0

    def read_reached(self) -> int:
        self.reads += 1
        return self.reached

    def read_head(self) -> int:
        return self.head


def test_a_hundred_waiters_on_a_position_that_never_comes_cost_one_read_per_look() -> None:
    store = Positions(reached=10, head=12)
    watch = PositionWatch(store.read_reached, store.read_head, look_every=0.02)
    outcomes: list[Outcome] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: outcomes.append(watch.wait(999_999_999, 5.0)))
        for _ in range(100)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes == [Outcome.BEYOND] * 100
    assert time.monotonic() - started < 1.0  # not the five seconds of the timeout
    assert store.reads <= 10  # a few looks for all of them, not a poll each
    assert watch.waiting == 0


def test_a_position_the_read_models_reach_is_answered_when_they_do() -> None:
    store = Positions(reached=10, head=20)
    watch = PositionWatch(store.read_reached, store.read_head, look_every=0.01)
    outcome: list[Outcome] = []
    waiter = threading.Thread(target=lambda: outcome.append(watch.wait(15, 5.0)))
    waiter.start()
    time.sleep(0.1)
    assert not outcome  # the store has 15; the read models do not yet
    store.reached = 15
    waiter.join(5)
    assert outcome == [Outcome.REACHED]
    assert watch.wait(12, 5.0) is Outcome.REACHED  # known from the last look: no wait


def test_a_wait_that_outlasts_its_timeout_is_stale_and_a_failing_database_too() -> None:
    store = Positions(reached=10, head=20)
    watch = PositionWatch(store.read_reached, store.read_head, look_every=0.01)
    assert watch.wait(15, 0.1) is Outcome.STALE
    assert watch.wait(15, 0) is Outcome.STALE

    def fails() -> int:
        raise OSError("connection refused")

    away = PositionWatch(fails, fails, look_every=0.01)
    assert away.wait(1, 0.1) is Outcome.STALE


def test_only_a_store_position_is_a_position() -> None:
    assert request_position(" 42 ") == 42
    for raw in ("", "-1", "1.0", "٣", "9" * 19, "0x10"):
        try:
            request_position(raw)
        except ValueError:
            continue
        raise AssertionError(raw)
