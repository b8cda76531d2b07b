"""Kafka paths: closing an account's open tickets on AccountCancelled, and publisher throughput.

1. An account with 1,000 open tickets is cancelled by an ``AccountCancelled`` message on the
   real broker; timed from the send until every ticket is closed (the consumer applies it
   through the application). Target: <= 10 s.
2. The publisher relays every stored ticket event to ``tickets.events``; events/s from the
   first read to the last acknowledgement. Target: >= 2,000 events/s.

    .venv/bin/python bench/kafka_paths.py [--tickets 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from bench.support import ROOT, scratch_database
from domain.actors import Actor, Role
from domain.status import Status
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import ensure_topics, make_producer
from workers.platform_consumer import PlatformConsumer
from workers.publisher import TicketEventPublisher

TIMEOUT = 120.0


def message(kind: str, **data: str) -> bytes:
    return json.dumps(
        {"event_id": str(uuid4()), "type": kind, "occurred_at": "", "data": data}
    ).encode()


def wait_for(condition: object, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark's condition was not met in time")
        time.sleep(0.01)


def cancellation_seconds(app: TicketingApp, settings: Settings, tickets: int) -> float:
    """Seconds from sending AccountCancelled until all the account's tickets are closed."""
    alice = Actor(f"bench-{uuid4().hex[:6]}", Role.USER, "Alice")
    workspace = f"ws-{uuid4().hex[:6]}"
    producer = make_producer(settings)
    stop = threading.Event()
    consumer = threading.Thread(target=PlatformConsumer(app, settings).run, args=(stop,))
    consumer.start()
    try:
        joined = message("MemberJoined", workspace_id=workspace, account_id=alice.account_id)
        producer.send(settings.topic_workspaces, key=workspace.encode(), value=joined).get(30)
        wait_for(lambda: app.is_member(workspace, alice.account_id))  # the consumer is running
        ids = [
            str(
                app.submit(
                    alice, workspace, ticket_type="bug", title=f"t{n}", description="d"
                ).ticket.id
            )
            for n in range(tickets)
        ]
        cancelled = message("AccountCancelled", account_id=alice.account_id)
        started = time.perf_counter()
        producer.send(settings.topic_accounts, key=alice.account_id.encode(), value=cancelled).get(
            30
        )
        admin = Actor("admin", Role.ADMIN)
        wait_for(lambda: app.ticket(admin, ids[-1]).status == Status.CLOSED)
        elapsed = time.perf_counter() - started
        assert all(app.ticket(admin, ticket_id).status == Status.CLOSED for ticket_id in ids)
        return elapsed
    finally:
        stop.set()
        consumer.join(30)
        producer.close()


def publisher_rate(app: TicketingApp, settings: Settings) -> tuple[int, float]:
    """Ticket events relayed per second, from position 0 to the head of the store."""
    publisher = TicketEventPublisher(app, settings)
    WorkerPlumbing(app.store).set_publisher_position(publisher.position_name, 0)
    producer = make_producer(settings)
    try:
        started = time.perf_counter()
        while publisher.publish_batch(producer):
            pass
        elapsed = time.perf_counter() - started
    finally:
        producer.close()
    ticket_events = sum(
        1
        for n in app.store.recorder.select_notifications(1, 10_000_000)
        if n.topic.startswith("domain.ticket:")
    )
    return ticket_events, ticket_events / elapsed


def main() -> None:
    """Both benchmarks against an embedded broker and PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()
    broker = EmbeddedBroker(free_port(), ROOT / "var" / "bench-broker.log")
    bootstrap = broker.start()
    try:
        with scratch_database() as url:
            settings = dataclasses.replace(
                Settings(),
                database_url=url,
                default_assignee="admin",
                kafka_bootstrap=bootstrap,
                kafka_session_timeout_ms=2000,
                kafka_heartbeat_interval_ms=500,
                kafka_max_poll_interval_ms=3000,
            )
            ensure_topics(bootstrap, settings.all_topics)
            app = build_app(settings)
            try:
                seconds = cancellation_seconds(app, settings, args.tickets)
                events, rate = publisher_rate(app, settings)
            finally:
                app.store.close()
    finally:
        broker.stop()
    print(f"cancellation of {args.tickets:,} open tickets: {seconds:.2f} s (target <= 10 s)")
    print(f"publisher: {events:,} ticket events at {rate:,.0f} events/s (target >= 2,000)")


if __name__ == "__main__":
    main()
