"""Kafka clients configured from settings, and topic creation (the dev broker keeps none)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from application.config import Settings

log = logging.getLogger(__name__)


def make_producer(settings: Settings) -> KafkaProducer:
    """A producer that keeps per-key order: all acks, one request in flight.

    Not idempotent: a broker that restarts without its state (the dev broker) no longer knows
    the producer id and the producer would retry forever. Order comes from the single request
    in flight; a resend after a failure is recognised by the message's stable ``event_id``.
    """
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        acks="all",
        enable_idempotence=False,
        max_in_flight_requests_per_connection=1,
        linger_ms=5,
        request_timeout_ms=10_000,
        # send() waits this long for metadata (broker or topic not there yet) before failing,
        # instead of kafka-python's 60 s, so callers back off and retry sooner
        max_block_ms=10_000,
    )


def make_consumer(settings: Settings) -> KafkaConsumer:
    """A consumer in the service's group; offsets live in PostgreSQL, not in the broker."""
    return KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        group_id=settings.kafka_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
    )


def ensure_topics(bootstrap: str, topics: dict[str, int], timeout: float = 30.0) -> None:
    """Create the topics that do not exist yet (name -> partitions), waiting for the broker."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap.split(","), request_timeout_ms=5_000
            )
            break
        except KafkaError:  # not reachable yet
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(name, partitions, 1)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                admin.create_topics(missing)
            log.info("created topics %s", [topic.name for topic in missing])
    except KafkaError as error:
        raise RuntimeError(f"could not create topics on {bootstrap}: {error}") from error
    finally:
        admin.close()


def read_until_quiet(
    consumer: KafkaConsumer, topic: str, quiet: float, limit: float, first_wait: float = 60.0
) -> list[Any]:
    """Every record of ``topic`` from its beginning, read until no new one came for ``quiet``
    seconds (at most ``limit`` seconds in all): this broker's "latest offset" answer cannot
    be trusted, so the end of a topic is known only by its silence. Silence counts only once
    the first record has come, or after ``first_wait`` seconds without any: a broker's first
    fetch from the beginning of a large topic can take longer than ``quiet`` (the dev broker's
    object store took 10 s on a topic of 210,000 records), and reading that as an empty topic
    lost the whole topic to its reader."""
    numbers = consumer.partitions_for_topic(topic) or set()
    partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
    if not partitions:
        return []
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    records: list[Any] = []
    started = time.monotonic()
    last_seen: float | None = None
    while time.monotonic() - started < limit:
        if last_seen is None and time.monotonic() - started >= first_wait:
            break
        if last_seen is not None and time.monotonic() - last_seen >= quiet:
            break
        for batch in consumer.poll(timeout_ms=300).values():
            records.extend(batch)
            last_seen = time.monotonic()
    return records
