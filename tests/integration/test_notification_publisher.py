"""notifications.accounts (CONTRACT.md §6.2): every derived notification, keyed by account, in
order per account, except the kinds the recipient switched off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from application.config import Settings
from application.database import eventsourcing_env
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from projections.inbox import Inbox
from projections.notifications import NotificationFollower, follow
from projections.view import ReadModelView, TicketingEventLog
from tests.integration.conftest import ADMIN, submit, user, workspace_with
from tests.integration.kafka_support import read_topic, settings_for, wait_until
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import make_producer
from workers.publisher import NotificationPublisher


def test_notifications_go_out_in_order_per_account_without_the_kinds_switched_off(
    app: TicketingApp, settings: Settings
) -> None:
    ReadModelView(app.store.datastore).create_table()
    alice, bob = user(), user()
    Inbox(app.store.datastore).set_preferences(bob.account_id, {"rating_requested": False})
    tickets = []
    for submitter in (alice, bob, alice):
        ticket_id = str(submit(app, submitter, workspace_with(app, submitter)).ticket.id)
        app.accept(ADMIN, ticket_id)
        for n in range(3):
            app.reply(ADMIN, ticket_id, f"answer {n}")
        app.complete(ADMIN, ticket_id)
        tickets.append(ticket_id)
    event_log = TicketingEventLog(eventsourcing_env(settings.database_url, 2))
    try:
        NotificationFollower(event_log, settings.default_assignee).catch_up()
    finally:
        event_log.close()

    publisher = NotificationPublisher(app, settings)
    producer = make_producer(settings)
    try:
        while publisher.publish_batch(producer):
            pass
    finally:
        producer.close()

    records = read_topic(
        settings.kafka_bootstrap,
        settings.topic_notifications,
        0,
        # alice's ten and bob's four (three answers and the close: his rating_requested is
        # switched off); their keys can sit on different partitions, read at different times
        until=lambda records: (
            sum(r.key == alice.account_id.encode() for r in records) >= 10
            and sum(r.key == bob.account_id.encode() for r in records) >= 4
        ),
    )
    mine = [r for r in records if UUID(json.loads(r.value)["ticket_id"]) in map(UUID, tickets)]
    by_account: dict[str, list[dict[str, object]]] = {}
    for record in mine:
        message = json.loads(record.value)
        assert record.key.decode() == message["account_id"]
        by_account.setdefault(message["account_id"], []).append(message)
    alices = by_account[alice.account_id]
    kinds = [m["kind"] for m in alices]
    closing = {"ticket_closed", "rating_requested"}
    assert kinds[:3] == kinds[5:8] == ["handler_replied"] * 3
    assert set(kinds[3:5]) == set(kinds[8:]) == closing  # one fact: one position, both kinds
    assert [m["summary"] for m in alices][:3] == ["answer 0", "answer 1", "answer 2"]
    assert [m["kind"] for m in by_account[bob.account_id]] == ["handler_replied"] * 3 + [
        "ticket_closed"
    ]
    assert set(alices[0]) == {
        "notification_id", "account_id", "kind", "ticket_id", "ticket_number", "workspace_id",
        "title", "summary", "occurred_at", "url",
    }  # fmt: skip
    assert alices[0]["url"] == f"/tickets/{tickets[0]}"
    assert len({m["notification_id"] for m in alices}) == len(alices)


def test_notifications_written_while_the_broker_is_down_go_out_once_it_is_back(
    app: TicketingApp, database_url: str, tmp_path: Path, run: Any
) -> None:
    """A durable broker stopped and started again (as Kafka would be), the follower and the
    publisher running as the worker runs them: what was derived meanwhile arrives."""
    ReadModelView(app.store.datastore).create_table()
    server = EmbeddedBroker(free_port(), tmp_path / "broker.log", tmp_path / "broker")
    bootstrap = server.start()
    event_log = TicketingEventLog(eventsourcing_env(database_url, 2))
    following = None
    try:
        settings = settings_for(bootstrap, database_url)
        follower = NotificationFollower(event_log, settings.default_assignee)
        follower.catch_up()
        publisher = NotificationPublisher(app, settings)
        WorkerPlumbing(app.store).set_publisher_position(
            publisher.position_name, follower.position()
        )
        following = run(lambda stop: follow(follower, stop))
        run(publisher.run)
        alice = user()
        ws = workspace_with(app, alice)

        def answered(count: int) -> list[str]:
            tickets = [str(submit(app, alice, ws).ticket.id) for _ in range(count)]
            for ticket_id in tickets:
                app.accept(ADMIN, ticket_id)
                app.reply(ADMIN, ticket_id, f"answer to {ticket_id}")
            return tickets

        before = answered(2)
        wait_until(
            lambda: (
                WorkerPlumbing(app.store).publisher_position(publisher.position_name)
                >= (app.store.recorder.max_notification_id() or 0)
            )
        )
        server.stop()
        after = answered(2)  # derived while the broker is down
        server.start()
        wanted = {f"answer to {ticket_id}" for ticket_id in before + after}

        def arrived(records: list[Any]) -> bool:
            return wanted <= {json.loads(r.value)["summary"] for r in records}

        records = read_topic(bootstrap, settings.topic_notifications, 0, 90, until=arrived)
        assert arrived(records)
    finally:
        if following is not None:
            following.close()
        event_log.close()
        server.stop()
