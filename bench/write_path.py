"""Write path: commands per second through the application vs raw INSERT + COMMIT.

Each ticket takes five commands: submit, three replies from the submitter, and
mark complete (close) by an admin. The baseline is a psycopg loop of single-row
INSERT + COMMIT into a plain table in the same database, in the same run, with as
many round trips as commands. Target: ratio >= 0.4.

    .venv/bin/python bench/write_path.py [--tickets 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from uuid import uuid4

import psycopg
from eventsourcing.persistence import StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from bench.support import scratch_database
from domain.actors import Actor, Role

COMMANDS_PER_TICKET = 5


def application_rate(database_url: str, tickets: int) -> float:
    """Commands per second through TicketingApp."""
    admin = Actor("bench-admin", Role.ADMIN, "Admin")
    alice = Actor("bench-alice", Role.USER, "Alice")
    app = build_app(Settings(database_url=database_url, default_assignee=admin.account_id))
    try:
        workspace_id = f"bench-{uuid4().hex[:8]}"
        app.platform.member_joined(workspace_id, alice.account_id, str(uuid4()))
        started = time.perf_counter()
        for n in range(tickets):
            ticket_id = str(
                app.submit(
                    alice, workspace_id, ticket_type="bug", title=f"Bench {n}", description="d"
                ).ticket.id
            )
            for reply in range(3):
                app.reply(alice, ticket_id, f"reply {reply}")
            app.complete(admin, ticket_id)
        return tickets * COMMANDS_PER_TICKET / (time.perf_counter() - started)
    finally:
        app.store.close()


def recorder_rate(database_url: str, statements: int) -> float:
    """The library's PostgreSQL recorder alone: one stored event per transaction.

    Its insert locks the events table (so notification ids commit in order, which the
    projections and the Kafka publisher rely on) and notifies listeners; this is the
    ceiling of any application built on it.
    """
    app = build_app(Settings(database_url=database_url))
    try:
        started = time.perf_counter()
        for _ in range(statements):
            app.store.recorder.insert_events(
                [
                    StoredEvent(
                        originator_id=uuid4(), originator_version=1, topic="bench", state=b"{}"
                    )
                ]
            )
        return statements / (time.perf_counter() - started)
    finally:
        app.store.close()


def raw_rate(database_url: str, statements: int) -> float:
    """Single-row INSERT + COMMIT per second with plain psycopg."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_raw")
        conn.execute("CREATE TABLE bench_raw (id bigserial PRIMARY KEY, body text NOT NULL)")
        started = time.perf_counter()
        for n in range(statements):
            conn.execute("INSERT INTO bench_raw (body) VALUES (%s)", (f"row {n}",))
        return statements / (time.perf_counter() - started)


def main() -> None:
    """Run both loops on one scratch database and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=300)
    args = parser.parse_args()
    with scratch_database() as url:
        raw_rate(url, 200)  # warm the server up
        app = application_rate(url, args.tickets)
        raw = raw_rate(url, args.tickets * COMMANDS_PER_TICKET)
        recorder = recorder_rate(url, args.tickets * COMMANDS_PER_TICKET)
    print(f"application:   {app:8.1f} commands/s ({args.tickets} tickets x {COMMANDS_PER_TICKET})")
    print(f"raw insert:    {raw:8.1f} commits/s")
    print(f"recorder only: {recorder:8.1f} commits/s (eventsourcing insert_events, 1 event)")
    print(f"ratio:         {app / raw:8.2f} (application / raw; target >= 0.40)")
    print(f"ceiling:       {recorder / raw:8.2f} (recorder only / raw)")


if __name__ == "__main__":
    main()
