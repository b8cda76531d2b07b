"""Consumes platform events (accounts, workspaces) and applies them through the application.

Offsets live in PostgreSQL, committed with each message's effect; on partition assignment
the consumer seeks to them, so a restart resumes exactly after the last applied message.
A transient failure (database or broker down) is retried from the same offset with backoff;
a message that cannot be processed goes to ``<topic>.dlq`` with the reason in a header.

A stored offset can lie beyond a partition's end when the broker lost or recreated its log.
Nothing is skipped then (CONTRACT.md §3.1): a broker that answers such a fetch with nothing
(Tansu) is caught by comparing the offset with the high watermark of the fetch responses, one
that answers "offset out of range" (Kafka) makes the client rewind, which shows as a message
older than the offset; either way consumption restarts at the partition's earliest offset, with
a warning, and the platform ``event_id``s drop whatever was applied already.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from eventsourcing.persistence import InterfaceError, OperationalError
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from psycopg_pool import PoolTimeout

from application.config import Settings
from application.plumbing import WorkerPlumbing
from application.records import ConsumedOffset
from application.tickets import TicketingApp
from workers.backoff import Backoff
from workers.kafka_clients import make_consumer, make_producer
from workers.platform_messages import (
    ACCOUNT_TYPES,
    WORKSPACE_TYPES,
    PlatformEvent,
    Poison,
    Skipped,
    parse,
)

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, InterfaceError, PoolTimeout, KafkaError)
DLQ_SEND_TIMEOUT = 30.0


class OffsetGuard:
    """Where each assigned partition should go on, and the check that its log still reaches
    there (CONTRACT.md §3.1: a stored offset beyond a partition's end skips nothing)."""

    def __init__(self, consumer: KafkaConsumer) -> None:
        self._consumer = consumer
        self._next: dict[TopicPartition, int] = {}

    def resume(self, partition: TopicPartition, offset: int | None) -> None:
        """Continue a partition at ``offset`` (None: from its earliest offset)."""
        if offset is None:
            self._consumer.seek_to_beginning(partition)
        else:
            self._consumer.seek(partition, offset)
        self._next[partition] = offset or 0

    def handled(self, partition: TopicPartition, offset: int) -> None:
        """The message at ``offset`` has had its effect."""
        self._next[partition] = offset + 1

    def check_batch(self, partition: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Warn when the client rewound the partition (an "offset out of range" answer)."""
        expected = self._next.get(partition, 0)
        if records and records[0].offset < expected:
            log.warning(
                "%s[%d]: the offset %d lies beyond the partition's log, which the broker lost "
                "or recreated; reading again from offset %d (event ids drop what was applied)",
                partition.topic, partition.partition, expected, records[0].offset,
            )  # fmt: skip

    def check_ends(self) -> None:
        """Rewind each partition whose offset lies beyond its high watermark."""
        for partition in self._consumer.assignment():
            expected = self._next.get(partition)
            highwater = self._consumer.highwater(partition)
            if expected is not None and highwater is not None and expected > highwater:
                log.warning(
                    "%s[%d]: the stored offset %d lies beyond the partition's end (%d): the "
                    "broker lost or recreated its log; reading again from its earliest offset "
                    "(event ids drop what was applied)",
                    partition.topic, partition.partition, expected, highwater,
                )  # fmt: skip
                self.resume(partition, None)

    def forget(self, partitions: set[TopicPartition]) -> None:
        """Partitions no longer assigned to this consumer."""
        for partition in partitions:
            self._next.pop(partition, None)


class _SeekToRecordedOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue where PostgreSQL says the group is."""

    def __init__(self, guard: OffsetGuard, plumbing: WorkerPlumbing, group: str) -> None:
        self._guard, self._plumbing, self._group = guard, plumbing, group

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to flush: every offset is committed with its effect."""
        self._guard.forget(revoked)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        offsets = self._plumbing.consumer_offsets(self._group)
        for partition in assigned:
            self._guard.resume(partition, offsets.get((partition.topic, partition.partition)))
        log.info("consuming %s", sorted(f"{p.topic}[{p.partition}]" for p in assigned))


class PlatformConsumer:
    """Applies ``platform.accounts`` and ``platform.workspaces`` messages exactly once."""

    def __init__(self, app: TicketingApp, settings: Settings) -> None:
        self.app = app
        self.plumbing = WorkerPlumbing(app.store)
        self.settings = settings
        self._types = {
            settings.topic_accounts: ACCOUNT_TYPES,
            settings.topic_workspaces: WORKSPACE_TYPES,
        }

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set."""
        consumer = make_consumer(self.settings)
        producer = make_producer(self.settings)
        try:
            guard = OffsetGuard(consumer)
            listener = _SeekToRecordedOffsets(guard, self.plumbing, self.settings.kafka_group)
            consumer.subscribe(list(self.settings.consumed_topics), listener=listener)
            backoff = Backoff()
            while not stop.is_set():
                for partition, records in consumer.poll(timeout_ms=500).items():
                    guard.check_batch(partition, records)
                    for record in records:
                        try:
                            self.handle(record, producer)
                            guard.handled(partition, record.offset)
                            backoff.reset()
                        except TRANSIENT as error:
                            delay = backoff.next()
                            log.warning(
                                "could not apply %s[%d]@%d (%s); retrying in %.1fs",
                                record.topic, record.partition, record.offset, error, delay,
                            )  # fmt: skip
                            guard.resume(partition, record.offset)
                            stop.wait(delay)
                            break
                guard.check_ends()
        finally:
            consumer.close()
            producer.close()

    def handle(self, record: ConsumerRecord, producer: KafkaProducer) -> None:
        """Apply, skip or dead-letter one message; its offset moves on in every case."""
        consumed = ConsumedOffset(
            self.settings.kafka_group, record.topic, record.partition, record.offset + 1
        )
        parsed = parse(record.value, self._types.get(record.topic, {}))
        if isinstance(parsed, Skipped):
            log.info("skipping %s message of unknown type %r", record.topic, parsed.type)
            self.plumbing.skip_message(consumed)
        elif isinstance(parsed, Poison):
            self._dead_letter(producer, record, parsed.reason)
            self.plumbing.skip_message(consumed)
        else:
            try:
                applied = self._apply(parsed, consumed)
            except TRANSIENT:
                raise
            except Exception as error:
                log.exception("cannot apply %s event %s", parsed.type, parsed.event_id)
                self._dead_letter(producer, record, f"cannot be applied: {error}")
                self.plumbing.skip_message(consumed)
                return
            log.info(
                "%s %s %s",
                parsed.type,
                parsed.event_id,
                "applied" if applied else "was a duplicate",
            )

    def _apply(self, event: PlatformEvent, consumed: ConsumedOffset) -> bool:
        data = event.data
        commands: dict[str, Callable[[], bool]] = {
            "AccountCancelled": lambda: self.app.platform.account_cancelled(
                data["account_id"], event.event_id, consumed
            ),
            "MemberJoined": lambda: self.app.platform.member_joined(
                data["workspace_id"], data["account_id"], event.event_id, consumed
            ),
            "MemberLeft": lambda: self.app.platform.member_left(
                data["workspace_id"], data["account_id"], event.event_id, consumed
            ),
            "WorkspaceDissolved": lambda: self.app.platform.workspace_dissolved(
                data["workspace_id"], event.event_id, consumed
            ),
        }
        return commands[event.type]()

    @staticmethod
    def _dead_letter(producer: KafkaProducer, record: ConsumerRecord, reason: str) -> None:
        log.warning(
            "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason
        )
        future = producer.send(
            f"{record.topic}.dlq",
            key=record.key,
            value=record.value,
            headers=[
                ("reason", reason.encode()),
                ("source_topic", record.topic.encode()),
                ("source_partition", str(record.partition).encode()),
                ("source_offset", str(record.offset).encode()),
            ],
        )
        future.get(timeout=DLQ_SEND_TIMEOUT)  # not moved on until the DLQ has it
