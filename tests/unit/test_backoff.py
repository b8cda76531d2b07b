"""The one back-off of the workers and ``ticketing dev``."""

from __future__ import annotations

from workers.backoff import Backoff
from workers.supervisor import STABLE_AFTER, restart_delay


def test_delays_double_up_to_the_cap_and_a_success_starts_again() -> None:
    backoff = Backoff(first=0.5, cap=3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_a_child_that_ran_long_enough_is_restarted_at_once_again() -> None:
    backoff = Backoff(first=0.5, cap=30.0)
    assert [restart_delay(backoff, 1.0) for _ in range(3)] == [0.5, 1.0, 2.0]
    assert restart_delay(backoff, STABLE_AFTER) == 0.5
