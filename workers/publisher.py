"""Relays what the service publishes to Kafka, at least once and in order.

- Ticket events: the notification log is the outbox. Events are read in notification order
  from the position recorded in PostgreSQL, sent keyed by ticket id (so each ticket's events
  stay in version order on one partition), and the position moves on only after the broker
  has acknowledged them all. A crash or an outage in between means the batch is sent again,
  with the same stable ``event_id``s.
- Outbox messages (e-mail verification codes for ``notifications.email``): sent in the
  order written, deleted once acknowledged.

Every worker runs both publishers, and they take turns (``application.ledger``): the position
row, or the outbox rows, stay locked while one sends, so another worker's publisher waits
instead of sending the same messages again, and carries on if the first dies.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

from kafka import KafkaProducer

from application.config import Settings
from application.messages import encode, is_ticket_event, ticket_event_message
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from application.verifications import EMAIL_CHANNEL
from projections.inbox import Inbox
from projections.view import ReadModelView
from workers.backoff import Backoff
from workers.kafka_clients import make_producer

log = logging.getLogger(__name__)
BATCH = 500
SEND_TIMEOUT = 10.0
IDLE_WAIT = 0.2
FACTS_KEPT = 100_000  # tickets whose number and workspace the ticket-event publisher keeps
NOTIFICATION_FIELDS = (
    "notification_id", "account_id", "kind", "ticket_id", "ticket_number", "workspace_id",
    "title", "summary", "occurred_at", "url",
)  # fmt: skip


def relay(
    publish_batch: Callable[[KafkaProducer], int], settings: Settings, stop: threading.Event
) -> None:
    """Call ``publish_batch`` until ``stop``: briefly idle when it sent nothing, and with a new
    producer after a backoff when it failed (broker or database unreachable)."""
    backoff = Backoff()
    producer: KafkaProducer | None = None
    while not stop.is_set():
        try:
            producer = producer or make_producer(settings)
            sent = publish_batch(producer)
            backoff.reset()
            if sent == 0:
                stop.wait(IDLE_WAIT)
        except Exception as error:
            delay = backoff.next()
            log.warning("publishing paused (%s); retrying in %.1fs", error, delay)
            if producer is not None:
                producer.close(timeout=5)
                producer = None
            stop.wait(delay)
    if producer is not None:
        producer.close(timeout=5)


class TicketEventPublisher:
    """Publishes every stored ticket event once its turn comes, in store order."""

    def __init__(self, app: TicketingApp, settings: Settings) -> None:
        self.app = app
        self.plumbing = WorkerPlumbing(app.store)
        self.topic = settings.topic_ticket_events
        self.position_name = f"tickets->{self.topic}"  # a position per destination topic
        self.settings = settings
        self._facts: OrderedDict[UUID, tuple[int, str]] = OrderedDict()  # newest last

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set."""
        relay(self.publish_batch, self.settings, stop)

    def publish_batch(self, producer: KafkaProducer) -> int:
        """On this worker's turn, send the next batch and move the position on; returns how
        many events it read (0 while another worker's publisher has the turn)."""
        with self.plumbing.publisher_turn(self.position_name) as turn:
            if turn is None:
                return 0
            last, count = self.send_batch(producer, turn.position)
            if count:
                turn.advance(last)
            return count

    def send_batch(self, producer: KafkaProducer, position: int) -> tuple[int, int]:
        """Send what follows ``position`` and wait for the broker's acknowledgements.

        Returns the last notification id read and how many were read.
        """
        notifications = self.app.store.recorder.select_notifications(position + 1, BATCH)
        futures = []
        for notification in notifications:
            domain_event = self.app.store.mapper.to_domain_event(notification)
            if not is_ticket_event(domain_event):
                continue
            number, workspace_id = self._ticket_facts(domain_event)
            message = ticket_event_message(domain_event, number, workspace_id)
            futures.append(
                producer.send(self.topic, key=message["ticket_id"].encode(), value=encode(message))
            )
        producer.flush(timeout=SEND_TIMEOUT)
        for future in futures:
            future.get(timeout=SEND_TIMEOUT)
        if not notifications:
            return position, 0
        log.debug("sent %d ticket events up to position %d", len(futures), notifications[-1].id)
        return notifications[-1].id, len(notifications)

    def _ticket_facts(self, event: Any) -> tuple[int, str]:
        """Number and workspace of the event's ticket (they never change): from the event if
        it is the ticket's first, else as kept for the ``FACTS_KEPT`` tickets last published,
        else from the ticket's first event in the store. A new ticket's facts cost no read: one
        read per create was a tenth of the worker's time under the HTTP benchmark."""
        ticket_id = event.originator_id
        facts = self._facts.pop(ticket_id, None)
        if facts is None:
            first = event if event.originator_version == 1 else self._first_event(ticket_id)
            facts = int(first.number), str(first.workspace_id)
        self._facts[ticket_id] = facts
        if len(self._facts) > FACTS_KEPT:
            self._facts.popitem(last=False)
        return facts

    def _first_event(self, ticket_id: UUID) -> Any:
        [submitted] = list(self.app.store.events.get(ticket_id, lte=1))
        return submitted


class NotificationPublisher:
    """Publishes notifications to ``notifications.accounts`` (CONTRACT.md §6.2), keyed by
    account, in store order, once they are derived; kinds the recipient switched off stay in
    the inbox only. Its position is a store position, like the ticket event publisher's."""

    def __init__(self, app: TicketingApp, settings: Settings) -> None:
        self.app = app
        self.plumbing = WorkerPlumbing(app.store)
        self.inbox = Inbox(app.store.datastore)
        self.topic = settings.topic_notifications
        self.position_name = f"notifications->{self.topic}"
        self.settings = settings

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set (making the notifications' tables first, if this
        worker starts before anything else has)."""
        store = self.app.store
        ReadModelView(store.datastore, service_level=store.service_level).create_table()
        relay(self.publish_batch, self.settings, stop)

    def publish_batch(self, producer: KafkaProducer) -> int:
        """On this worker's turn, send what was derived after the position and move it on;
        returns how many store positions it moved over (0: nothing new, or not its turn)."""
        with self.plumbing.publisher_turn(self.position_name) as turn:
            if turn is None:
                return 0
            start = turn.position
            notifications, reached = self.inbox.outgoing(start)
            futures = [
                producer.send(
                    self.topic,
                    key=str(row["account_id"]).encode(),
                    value=encode({field: row[field] for field in NOTIFICATION_FIELDS}),
                )
                for row in notifications
            ]
            producer.flush(timeout=SEND_TIMEOUT)
            for future in futures:
                future.get(timeout=SEND_TIMEOUT)
            if reached > start:
                turn.advance(reached)
            return reached - start


class OutboxPublisher:
    """Publishes outbox messages (e-mail verification codes) and then forgets them."""

    def __init__(self, app: TicketingApp, settings: Settings) -> None:
        self.app = app
        self.plumbing = WorkerPlumbing(app.store)
        self.settings = settings
        self.topics = {EMAIL_CHANNEL: settings.topic_email}

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set."""
        relay(self.publish_batch, self.settings, stop)

    def publish_batch(self, producer: KafkaProducer) -> int:
        """Send the oldest messages no other worker holds, wait for the broker, forget them;
        returns how many."""
        with self.plumbing.claimed_outbox(BATCH) as messages:
            futures = [
                producer.send(
                    self.topics[message.channel],
                    key=message.key.encode(),
                    value=encode(message.payload),
                )
                for message in messages
            ]
            producer.flush(timeout=SEND_TIMEOUT)
            for future in futures:
                future.get(timeout=SEND_TIMEOUT)
            return len(messages)
