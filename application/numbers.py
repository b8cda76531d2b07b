"""Ticket numbers: positive, unique on the platform, increasing, never reused.

A PostgreSQL sequence hands them out: ``nextval`` is atomic across processes and never
returns a value twice, even when the transaction that asked for it rolls back. The sequence
is created with the event store's tables (``TicketingRecorder``), under the schema lock.
"""

from __future__ import annotations

from typing import Any


class PostgresTicketNumbers:
    """Allocates ticket numbers from a sequence in the event store's database."""

    def __init__(self, datastore: Any) -> None:
        self._datastore = datastore

    def allocate(self) -> int:
        """The next number."""
        with self._datastore.get_connection() as conn:
            row = conn.execute("SELECT nextval('ticket_number_seq') AS n").fetchone()
        return int(row["n"])
