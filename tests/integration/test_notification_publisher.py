"""notifications.accounts (CONTRACT.md §6.2): every derived notification, keyed by account, in
order per account, except the kinds the recipient switched off."""

from __future__ import annotations

import json
from uuid import UUID

from application.config import Settings
from application.database import eventsourcing_env
from application.tickets import TicketingApp
from projections.inbox import Inbox
from projections.notifications import NotificationFollower
from projections.view import ReadModelView, TicketingEventLog
from tests.integration.conftest import ADMIN, submit, user, workspace_with
from tests.integration.kafka_support import read_topic
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
        until=lambda records: sum(r.key == alice.account_id.encode() for r in records) >= 10,
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
    assert {m["kind"] for m in by_account[bob.account_id]} == {"handler_replied", "ticket_closed"}
    assert set(alices[0]) == {
        "notification_id", "account_id", "kind", "ticket_id", "ticket_number", "workspace_id",
        "title", "summary", "occurred_at", "url",
    }  # fmt: skip
    assert alices[0]["url"] == f"/tickets/{tickets[0]}"
    assert len({m["notification_id"] for m in alices}) == len(alices)
