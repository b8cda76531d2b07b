"""Staff presence on a ticket (CONTRACT.md §6.3): who has it open, and who is replying.

A presence is valid for ``PRESENCE_TTL`` after it was last announced. Each announcement is
recorded and NOTIFYed in one transaction, naming the staff who have the ticket open at that
moment, so that the live streams of every API process tell exactly those (``api.streams``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from projections.notifications import PRESENCE_CHANNEL

PRESENCE_TTL = timedelta(seconds=30)
STATES = ("viewing", "replying")
LEFT = "left"
VIEWERS_BYTES = 6_000  # of a NOTIFY's payload for the viewers; ids and names take the rest


@dataclass(frozen=True)
class Presence:
    """One staff member's presence on a ticket."""

    account_id: str
    name: str
    state: str


def announce(
    datastore: PostgresDatastore, ticket_id: UUID, account_id: str, name: str, state: str
) -> list[Presence]:
    """Record (``state`` viewing or replying) or end (``LEFT``) a presence and tell the other
    staff who have the ticket open; returns those others."""
    with datastore.transaction(commit=True) as curs:
        curs.execute("DELETE FROM presence WHERE expires_at < now() - interval '1 minute'")
        if state == LEFT:
            curs.execute(
                "DELETE FROM presence WHERE ticket_id = %s AND account_id = %s",
                (ticket_id, account_id),
            )
        else:
            curs.execute(
                "INSERT INTO presence (ticket_id, account_id, name, state, expires_at) "
                "VALUES (%s, %s, %s, %s, now() + %s) ON CONFLICT (ticket_id, account_id) "
                "DO UPDATE SET name = EXCLUDED.name, state = EXCLUDED.state, "
                "expires_at = EXCLUDED.expires_at",
                (ticket_id, account_id, name, state, PRESENCE_TTL),
            )
        rows = curs.execute(
            "SELECT account_id, name, state FROM presence WHERE ticket_id = %s "
            "AND account_id <> %s AND expires_at > now() ORDER BY account_id",
            (ticket_id, account_id),
        ).fetchall()
        others = [Presence(row["account_id"], row["name"], row["state"]) for row in rows]
        about: dict[str, Any] = {
            "ticket_id": str(ticket_id),
            "account_id": account_id,
            "name": name,
            "state": state,
        }
        for viewers in _in_parts([other.account_id for other in others]):
            payload = json.dumps({**about, "viewers": viewers})
            curs.execute("SELECT pg_notify(%s, %s)", (PRESENCE_CHANNEL, payload))
    return others


def _in_parts(viewers: list[str]) -> list[list[str]]:
    """The viewers in parts that each fit a NOTIFY (PostgreSQL refuses a payload of 8,000
    bytes or more: 70 staff with long ids on one ticket made that a 500); at least one."""
    parts: list[list[str]] = [[]]
    size = 0
    for viewer in viewers:
        cost = len(json.dumps(viewer).encode()) + 2
        if parts[-1] and size + cost > VIEWERS_BYTES:
            parts.append([])
            size = 0
        parts[-1].append(viewer)
        size += cost
    return parts
