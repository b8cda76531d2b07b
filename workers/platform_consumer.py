"""Consumes platform events (accounts, workspaces) and applies them through the application.

Offsets live in PostgreSQL, committed with each message's effect; on partition assignment
the consumer seeks to them, so a restart resumes exactly after the last applied message.
A transient failure (database or broker down) is retried from the same offset with backoff;
a message that cannot be processed goes to ``<topic>.dlq`` with the reason in a header.
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
from application.recorder import ConsumedOffset
from application.tickets import TicketingApp
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
MAX_BACKOFF = 30.0
DLQ_SEND_TIMEOUT = 30.0


class _SeekToRecordedOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue where PostgreSQL says the group is."""

    def __init__(self, consumer: KafkaConsumer, app: TicketingApp, group: str) -> None:
        self._consumer, self._app, self._group = consumer, app, group

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to flush: every offset is committed with its effect."""

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        offsets = self._app.consumer_offsets(self._group)
        for partition in assigned:
            next_offset = offsets.get((partition.topic, partition.partition))
            if next_offset is None:
                self._consumer.seek_to_beginning(partition)
            else:
                self._consumer.seek(partition, next_offset)
        log.info("consuming %s", sorted(f"{p.topic}[{p.partition}]" for p in assigned))


class PlatformConsumer:
    """Applies ``platform.accounts`` and ``platform.workspaces`` messages exactly once."""

    def __init__(self, app: TicketingApp, settings: Settings) -> None:
        self.app = app
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
            listener = _SeekToRecordedOffsets(consumer, self.app, self.settings.kafka_group)
            consumer.subscribe(list(self.settings.consumed_topics), listener=listener)
            backoff = 0.5
            while not stop.is_set():
                for partition, records in consumer.poll(timeout_ms=500).items():
                    for record in records:
                        try:
                            self.handle(record, producer)
                            backoff = 0.5
                        except TRANSIENT as error:
                            log.warning(
                                "could not apply %s[%d]@%d (%s); retrying in %.1fs",
                                record.topic, record.partition, record.offset, error, backoff,
                            )  # fmt: skip
                            consumer.seek(partition, record.offset)
                            stop.wait(backoff)
                            backoff = min(backoff * 2, MAX_BACKOFF)
                            break
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
            self.app.skip_message(consumed)
        elif isinstance(parsed, Poison):
            self._dead_letter(producer, record, parsed.reason)
            self.app.skip_message(consumed)
        else:
            try:
                applied = self._apply(parsed, consumed)
            except TRANSIENT:
                raise
            except Exception as error:
                log.exception("cannot apply %s event %s", parsed.type, parsed.event_id)
                self._dead_letter(producer, record, f"cannot be applied: {error}")
                self.app.skip_message(consumed)
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
            "AccountCancelled": lambda: self.app.account_cancelled(
                data["account_id"], event.event_id, consumed
            ),
            "MemberJoined": lambda: self.app.member_joined(
                data["workspace_id"], data["account_id"], event.event_id, consumed
            ),
            "MemberLeft": lambda: self.app.member_left(
                data["workspace_id"], data["account_id"], event.event_id, consumed
            ),
            "WorkspaceDissolved": lambda: self.app.workspace_dissolved(
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
