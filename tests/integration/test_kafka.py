"""Kafka in: platform events against a real Kafka-protocol broker (Tansu) and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.database import ensure_database
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from domain.platform import Workspace
from domain.status import CloseReason
from tests.integration.conftest import ADMIN, caught_up, submit, user, workspace_with
from tests.integration.kafka_support import (
    platform_event,
    produce,
    read_topic,
    settings_for,
    wait_until,
)
from workers.embedded_postgres import EmbeddedPostgres
from workers.kafka_clients import make_producer
from workers.platform_consumer import PlatformConsumer
from workers.publisher import TicketEventPublisher
from workers.sweeps import record_breaches

WAIT = 30.0


def joined_events(app: TicketingApp, workspace_id: str) -> int:
    return sum(
        type(e).__name__ == "MemberJoined"
        for e in app.store.events.get(Workspace.create_id(workspace_id))
    )


def join_over_kafka(app: TicketingApp, settings: Settings, ws: str, account_id: str) -> None:
    """Produce a MemberJoined and wait until the running consumer applied it."""
    event = platform_event("MemberJoined", workspace_id=ws, account_id=account_id)
    produce(settings, settings.topic_workspaces, event)
    wait_until(lambda: app.is_member(ws, account_id))


def test_each_platform_event_takes_effect(app: TicketingApp, settings: Settings, run: Any) -> None:
    alice, bob = user(), user()
    ws = workspace_with(app, bob)
    bobs = submit(app, bob, ws).ticket.id
    run(PlatformConsumer(app, settings).run)

    join_over_kafka(app, settings, ws, alice.account_id)
    alices = submit(app, alice, ws).ticket.id
    produce(
        settings,
        settings.topic_workspaces,
        platform_event("MemberLeft", workspace_id=ws, account_id=bob.account_id),
    )
    wait_until(lambda: not app.is_member(ws, bob.account_id))
    produce(
        settings,
        settings.topic_accounts,
        platform_event("AccountCancelled", account_id=alice.account_id),
    )
    wait_until(lambda: app.ticket(ADMIN, str(alices)).close_reason == CloseReason.ACCOUNT_CANCELLED)
    produce(
        settings, settings.topic_workspaces, platform_event("WorkspaceDissolved", workspace_id=ws)
    )
    wait_until(lambda: app.ticket(ADMIN, str(bobs)).close_reason == CloseReason.WORKSPACE_DISSOLVED)
    offsets = WorkerPlumbing(app.store).consumer_offsets(settings.kafka_group)
    assert sum(offsets.values()) == 4, "every message's offset was recorded with its effect"


def test_a_redelivered_message_has_no_second_effect(
    app: TicketingApp, settings: Settings, run: Any
) -> None:
    ws, alice = f"ws-{uuid4().hex[:8]}", user()
    same = platform_event(
        "MemberJoined", str(uuid4()), workspace_id=ws, account_id=alice.account_id
    )
    later = platform_event("MemberLeft", workspace_id=ws, account_id=alice.account_id)
    produce(settings, settings.topic_workspaces, same, later, same)
    run(PlatformConsumer(app, settings).run)
    wait_until(
        lambda: sum(WorkerPlumbing(app.store).consumer_offsets(settings.kafka_group).values()) == 3
    )
    assert joined_events(app, ws) == 1
    assert not app.is_member(ws, alice.account_id), "the duplicate did not re-join"


def test_poison_goes_to_the_dead_letter_topic_and_consumption_goes_on(
    app: TicketingApp, settings: Settings, run: Any
) -> None:
    ws, alice = f"ws-{uuid4().hex[:8]}", user()
    produce(
        settings,
        settings.topic_workspaces,
        b"this is not json",
        platform_event("MemberJoined", workspace_id=ws),
        platform_event("WorkspaceRenamed", workspace_id=ws),
        platform_event("MemberJoined", workspace_id=ws, account_id="bo\u0000b"),
        b"[" * 100_000,
        platform_event("MemberJoined", workspace_id=ws, account_id=alice.account_id),
    )
    run(PlatformConsumer(app, settings).run)
    wait_until(lambda: app.is_member(ws, alice.account_id))
    dead = read_topic(settings.kafka_bootstrap, f"{settings.topic_workspaces}.dlq", 4)
    assert dead[0].value == b"this is not json"
    reasons = [dict(record.headers)["reason"].decode() for record in dead]
    assert reasons[0].startswith("not JSON")
    assert "account_id" in reasons[1]
    assert "account_id" in reasons[2]
    assert "NUL" in reasons[2], "a NUL in an id is poison"
    assert reasons[3].startswith("not JSON"), "too deep to parse is poison too"
    assert len(dead) == 4, "the unknown type was skipped, not dead-lettered"
    assert not app.is_member(ws, "bo\u0000b")


def test_a_restarted_consumer_resumes_without_loss_or_double_effect(
    app: TicketingApp, settings: Settings, run: Any
) -> None:
    ws = f"ws-{uuid4().hex[:8]}"
    accounts = [user().account_id for _ in range(10)]
    produce(
        settings,
        settings.topic_workspaces,
        *[platform_event("MemberJoined", workspace_id=ws, account_id=a) for a in accounts[:5]],
    )
    first = run(PlatformConsumer(app, settings).run)
    wait_until(lambda: joined_events(app, ws) == 5)
    first.close()
    produce(
        settings,
        settings.topic_workspaces,
        *[platform_event("MemberJoined", workspace_id=ws, account_id=a) for a in accounts[5:]],
    )
    run(PlatformConsumer(app, settings).run)
    wait_until(lambda: joined_events(app, ws) == 10)
    assert all(app.is_member(ws, account) for account in accounts)
    assert sum(WorkerPlumbing(app.store).consumer_offsets(settings.kafka_group).values()) == 10, (
        "no message read twice"
    )


def test_the_consumer_waits_out_a_database_outage(broker: str, run: Any, tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg")
    try:
        server.start()
        url = server.url("outage")  # a throwaway server: nothing to drop afterwards
        ensure_database(url)
        settings = settings_for(broker, url)
        app = build_app(settings)
        try:
            ws, alice, bob = f"ws-{uuid4().hex[:8]}", user(), user()
            run(PlatformConsumer(app, settings).run)
            join_over_kafka(app, settings, ws, alice.account_id)
            server.stop()
            produce(
                settings,
                settings.topic_workspaces,
                platform_event("MemberJoined", workspace_id=ws, account_id=bob.account_id),
            )
            server.start()
            wait_until(lambda: app.is_member(ws, bob.account_id), timeout=90)
            assert joined_events(app, ws) == 2
            assert (
                sum(WorkerPlumbing(app.store).consumer_offsets(settings.kafka_group).values()) == 2
            )
        finally:
            app.store.close()
    finally:
        server.stop()


def test_an_sla_breach_goes_out_once_on_tickets_events(
    app: TicketingApp, settings: Settings, clock: SettableClock, projecting: None
) -> None:
    publisher = TicketEventPublisher(app, settings)
    WorkerPlumbing(app.store).set_publisher_position(
        publisher.position_name, app.store.recorder.max_notification_id() or 0
    )
    clock.set(datetime(2032, 3, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")))  # a Monday
    alice = user()
    ticket_id = submit(app, alice, workspace_with(app, alice)).ticket.id
    clock.advance(timedelta(hours=5))  # the first response was due after 4 service hours
    for _ in range(2):  # two sweeps, as two workers or two rounds would run them
        record_breaches(app, caught_up(app), clock.now())
    producer = make_producer(settings)
    try:
        batches = 0
        while publisher.publish_batch(producer):
            batches += 1
            assert batches < 1_000, "the publisher reached the end of the store"
    finally:
        producer.close()
    version: int = app.store.repository.get(ticket_id).version  # other tickets' breaches go out too

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        messages = (json.loads(record.value) for record in records)
        return [m for m in messages if m["ticket_id"] == str(ticket_id)]

    records = read_topic(
        settings.kafka_bootstrap,
        settings.topic_ticket_events,
        0,
        until=lambda records: len(mine(records)) >= version,
    )
    assert [m["version"] for m in mine(records)] == list(range(1, version + 1))
    breaches = [m for m in mine(records) if m["type"] == "TicketSlaBreached"]
    assert [m["data"]["target"] for m in breaches] == ["first_response"]
    assert datetime.fromisoformat(breaches[0]["occurred_at"]) == clock.now()
