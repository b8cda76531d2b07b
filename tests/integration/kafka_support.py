"""Helpers for tests against the real broker: settings of their own, produce, read back."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from kafka import KafkaConsumer, TopicPartition

from application.config import Settings
from tests.integration.conftest import ADMIN
from workers.kafka_clients import ensure_topics, make_producer

WAIT = 30.0


def settings_for(bootstrap: str, database_url: str) -> Settings:
    """Settings with topics and a consumer group of this test's own."""
    suffix = uuid4().hex[:8]
    settings = dataclasses.replace(
        Settings(),
        database_url=database_url,
        default_assignee=ADMIN.account_id,
        kafka_bootstrap=bootstrap,
        kafka_group=f"ticketing-{suffix}",
        kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=500,
        kafka_max_poll_interval_ms=3000,
        topic_accounts=f"accounts-{suffix}",
        topic_workspaces=f"workspaces-{suffix}",
        topic_ticket_events=f"tickets-{suffix}",
        topic_email=f"email-{suffix}",
        topic_notifications=f"notifications-{suffix}",
    )
    ensure_topics(bootstrap, settings.all_topics)
    return settings


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def platform_event(kind: str, event_id: str | None = None, **data: str) -> bytes:
    return json.dumps(
        {
            "event_id": event_id or str(uuid4()),
            "type": kind,
            "occurred_at": "2026-01-05T09:00:00Z",
            "data": data,
        }
    ).encode()


def produce(settings: Settings, topic: str, *values: bytes) -> None:
    producer = make_producer(settings)
    try:
        for value in values:
            producer.send(topic, key=b"key", value=value).get(timeout=WAIT)
    finally:
        producer.close()


def read_topic(
    bootstrap: str,
    topic: str,
    count: int,
    timeout: float = WAIT,
    until: Callable[[list[Any]], bool] | None = None,
) -> list[Any]:
    """Every record of a topic from the beginning, once ``count`` have arrived, or once
    ``until(records)`` holds if given (bounded by ``timeout`` either way)."""
    done = until or (lambda records: len(records) >= count)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while not done(records) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()
