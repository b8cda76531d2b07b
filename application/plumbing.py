"""The workers' plumbing: outbox, publisher positions and consumer offsets, database health.

None of it is a use case: the Kafka publisher relays the store and the outbox, the platform
consumer keeps its offsets with its effects, ``ticketing dev`` forgets broker positions when
its in-memory broker restarts. Each worker builds one of these from the store it was given.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from application.ports import PublisherTurn
from application.records import ConsumedOffset, OutboxMessage
from application.store import TicketingStore


class WorkerPlumbing:
    """The store's bookkeeping that workers need and use cases do not."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store

    def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """The oldest messages waiting in the outbox."""
        return self.store.ledger.outbox_batch(limit)

    def claimed_outbox(self, limit: int) -> AbstractContextManager[list[OutboxMessage]]:
        """Outbox messages this worker alone sends now; forgotten once the block succeeds."""
        return self.store.ledger.claimed_outbox(limit)

    def publisher_turn(self, publisher: str) -> AbstractContextManager[PublisherTurn | None]:
        """The publisher's position while it is this worker's turn; None while another's."""
        return self.store.ledger.publisher_turn(publisher)

    def publisher_position(self, publisher: str) -> int:
        """The last store position a publisher has relayed."""
        return self.store.ledger.publisher_position(publisher)

    def set_publisher_position(self, publisher: str, position: int) -> None:
        """Record that a publisher has relayed everything up to ``position``."""
        self.store.ledger.set_publisher_position(publisher, position)

    def forget_broker_positions(self) -> None:
        """The broker lost its logs: consume from the start, publish everything again."""
        self.store.ledger.forget_broker_positions()

    def consumer_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """Where a consumer group is, per (topic, partition), as recorded with the effects."""
        return self.store.ledger.consumer_offsets(group)

    def skip_message(self, consumed: ConsumedOffset) -> None:
        """Move past a message that has no effect (unknown type, dead-lettered)."""
        self.store.ledger.record_offset(consumed)
