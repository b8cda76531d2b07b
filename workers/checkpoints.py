"""Checkpoints of the event store's hash chain, published where the database cannot reach.

At least every ``audit_checkpoint_seconds`` (60 by default) and whenever 10,000 events were
stored since the last one, the worker publishes the chain's head ``{position, digest, at}`` to
``audit.checkpoints`` (key ``store``) and keeps a copy in ``audit_checkpoints`` for the API.
Someone who edits an event and recomputes every digest after it cannot change what the broker
already holds: ``ticketing audit verify`` holds the store to the broker's checkpoints.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

from application.chain import Checkpoint
from application.config import Settings
from application.database import deadline
from application.signatures import checkpoint_mac
from application.tickets import TicketingApp
from workers.kafka_clients import make_producer

log = logging.getLogger(__name__)
EVERY_EVENTS = 10_000
LOOK_EVERY = 1.0  # seconds between two looks at the chain's head
KEY = b"store"


class CheckpointPublisher:
    """Publishes the chain's head to Kafka, then keeps it in the database."""

    def __init__(
        self, app: TicketingApp, settings: Settings, every_events: int = EVERY_EVENTS
    ) -> None:
        self.app = app
        self.settings = settings
        self.every_events = every_events

    def head(self) -> Checkpoint | None:
        """The chain's head now (None before the first event)."""
        with deadline(5.0), self.app.store.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT notification_id, chain_digest FROM ticketing_events "
                "ORDER BY notification_id DESC LIMIT 1"
            ).fetchone()
        if row is None or row["chain_digest"] is None:
            return None
        return Checkpoint(
            int(row["notification_id"]), bytes(row["chain_digest"]), datetime.now(UTC)
        )

    def last_kept(self) -> int:
        """The position of the newest checkpoint kept (0 if none)."""
        with deadline(5.0), self.app.store.datastore.get_connection() as conn:
            row = conn.execute("SELECT max(position) AS last FROM audit_checkpoints").fetchone()
        return int(row["last"]) if row and row["last"] is not None else 0

    def keep(self, checkpoint: Checkpoint) -> None:
        """Keep a published checkpoint (the first one of a position stays), signed when the
        service signs (``application.signatures``)."""
        key = self.app.store.signing_key
        mac = (
            checkpoint_mac(key, checkpoint.position, checkpoint.digest, checkpoint.at)
            if key
            else None
        )
        with deadline(5.0), self.app.store.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO audit_checkpoints (position, digest, at, mac) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (position) DO NOTHING",
                (checkpoint.position, checkpoint.digest, checkpoint.at, mac),
            )

    def run(self, stop: threading.Event) -> None:
        """Publish checkpoints until ``stop``; raises on a lost broker or database (the
        worker's supervisor starts it again)."""
        producer = make_producer(self.settings)
        try:
            published = self.last_kept()
            due = 0.0  # one at start: a restarted worker proves the head it finds
            while not stop.is_set():
                head = self.head()
                if head is not None and (
                    time.monotonic() >= due or head.position - published >= self.every_events
                ):
                    value = json.dumps(head.as_message()).encode()
                    producer.send(self.settings.topic_audit_checkpoints, key=KEY, value=value).get(
                        timeout=15
                    )
                    self.keep(head)
                    log.info("audit checkpoint at position %d published", head.position)
                    published = head.position
                    due = time.monotonic() + self.settings.audit_checkpoint_seconds
                stop.wait(LOOK_EVERY)
        finally:
            producer.close(timeout=5)
