"""Reading a topic to its end by its silence (workers.kafka_clients.read_until_quiet), with a
stand-in consumer: the broker's answers are what is under test, not the broker."""

from __future__ import annotations

import time
from typing import Any

from workers.kafka_clients import read_until_quiet


class SlowStart:
    """A consumer whose first fetch takes ``delay`` seconds, then returns ``records``."""

    def __init__(self, delay: float, records: list[str]) -> None:
        self.ready_at = time.monotonic() + delay
        self.records = records

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def assign(self, partitions: list[Any]) -> None:
        pass

    def seek_to_beginning(self, *partitions: Any) -> None:
        pass

    def poll(self, timeout_ms: int) -> dict[str, list[str]]:
        if time.monotonic() < self.ready_at or not self.records:
            time.sleep(timeout_ms / 1000)
            return {}
        records, self.records = self.records, []
        return {"p0": records}


def test_a_slow_first_fetch_is_not_an_empty_topic() -> None:
    # the hour-long chaos run: the first fetch of a 210,000-record topic took longer than the
    # quiet time, and the whole topic was read as empty
    consumer = SlowStart(delay=1.0, records=["a", "b"])
    assert read_until_quiet(consumer, "t", quiet=0.3, limit=10, first_wait=5) == ["a", "b"]


def test_an_empty_topic_ends_after_the_first_wait() -> None:
    started = time.monotonic()
    assert read_until_quiet(SlowStart(0, []), "t", quiet=0.3, limit=10, first_wait=0.6) == []
    assert time.monotonic() - started < 2


def test_silence_after_the_records_ends_the_reading() -> None:
    started = time.monotonic()
    assert read_until_quiet(SlowStart(0, ["a"]), "t", quiet=0.3, limit=10, first_wait=5) == ["a"]
    assert time.monotonic() - started < 2, "the quiet time counts from the last record"
