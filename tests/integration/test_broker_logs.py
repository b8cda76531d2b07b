"""The broker's logs: what ``ticketing dev`` keeps across restarts, and what the consumer does
when a stored offset lies beyond a partition's end (CONTRACT.md §3.1, §4)."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from application.config import Settings
from application.plumbing import WorkerPlumbing
from application.records import ConsumedOffset
from application.tickets import TicketingApp
from tests.integration.conftest import user
from tests.integration.kafka_support import platform_event, produce, read_topic, wait_until
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import ensure_topics, make_producer
from workers.platform_consumer import PlatformConsumer


def test_a_stored_offset_beyond_the_partitions_end_rewinds_to_its_start(
    app: TicketingApp, settings: Settings, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ws, alice = f"ws-{uuid4().hex[:8]}", user()
    # offsets remembered from a broker that has since lost its log (227, as once seen)
    for partition in range(3):
        WorkerPlumbing(app.store).skip_message(
            ConsumedOffset(settings.kafka_group, settings.topic_workspaces, partition, 227)
        )
    produce(
        settings,
        settings.topic_workspaces,
        platform_event("MemberJoined", workspace_id=ws, account_id=alice.account_id),
    )
    with caplog.at_level(logging.WARNING, logger="workers.platform_consumer"):
        run(PlatformConsumer(app, settings).run)
        wait_until(lambda: app.is_member(ws, alice.account_id))
    assert "lies beyond the partition's end" in caplog.text


def test_the_dev_broker_keeps_its_topics_across_a_restart_and_a_crash(tmp_path: Path) -> None:
    storage, port = tmp_path / "broker", free_port()
    broker = EmbeddedBroker(port, tmp_path / "broker.log", storage)
    assert broker.storage_is_empty()
    bootstrap = broker.start()
    settings = Settings(kafka_bootstrap=bootstrap)
    try:
        ensure_topics(bootstrap, {"kept": 3})
        produce(settings, "kept", *[f"before {n}".encode() for n in range(20)])
    finally:
        broker.stop()
    assert not broker.storage_is_empty()

    broker = EmbeddedBroker(port, tmp_path / "broker.log", storage)
    broker.start()
    try:
        assert [r.value for r in read_topic(bootstrap, "kept", 20)] == [
            f"before {n}".encode() for n in range(20)
        ]
        producer = make_producer(settings)
        for n in range(5):
            producer.send("kept", key=b"key", value=f"acked {n}".encode()).get(timeout=30)
        producer.close()
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGKILL)  # a crash: what the broker acknowledged stays
        wait_until(broker.exited)
        broker.start()
        values = [r.value for r in read_topic(bootstrap, "kept", 25)]
        assert values[-5:] == [f"acked {n}".encode() for n in range(5)]
        assert len(values) == 25
    finally:
        broker.stop()


def test_a_memory_broker_keeps_nothing(tmp_path: Path) -> None:
    broker = EmbeddedBroker(free_port(), tmp_path / "broker.log")
    bootstrap = broker.start()
    try:
        ensure_topics(bootstrap, {"gone": 1})
        produce(Settings(kafka_bootstrap=bootstrap), "gone", b"x")
    finally:
        broker.stop()
    assert broker.storage_is_empty()
