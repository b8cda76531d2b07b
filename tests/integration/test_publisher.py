"""The ticket-event publisher: every stored event on tickets.events, in order, on its turn."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.config import Settings
from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from tests.integration.conftest import ADMIN, AppFactory, submit, user, workspace_with
from tests.integration.kafka_support import (
    read_topic,
    settings_for,
    wait_until,
)
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.kafka_clients import make_producer
from workers.publisher import TicketEventPublisher

WAIT = 30.0


def ticket_history(app: TicketingApp, how_many: int) -> dict[str, list[int]]:
    """Tickets with a few events each; returns ticket id -> its versions."""
    alice = user()
    ws = workspace_with(app, alice)
    histories = {}
    for _ in range(how_many):
        ticket_id = str(submit(app, alice, ws).ticket.id)
        app.accept(ADMIN, ticket_id)
        app.reply(ADMIN, ticket_id, "answer")
        done = app.reply(alice, ticket_id, "thanks")
        histories[ticket_id] = list(range(1, done.ticket.version + 1))
    return histories


def published(
    settings: Settings,
    expected: int,
    timeout: float = WAIT,
    awaited: dict[str, list[int]] | None = None,
) -> dict[str, list[tuple[int, str]]]:
    """ticket id -> [(version, event_id)] in the order the topic holds them: once ``expected``
    records have arrived, or, given ``awaited`` (ticket id -> versions), once every one of
    those has (a resent batch can reach the count with duplicates before the rest arrive)."""
    until = None
    if awaited is not None:
        wanted = {(ticket_id, v) for ticket_id, versions in awaited.items() for v in versions}

        def until(records: list[Any]) -> bool:
            seen = {
                (m["ticket_id"], m["version"]) for m in map(json.loads, (r.value for r in records))
            }
            return wanted <= seen

    per_ticket: dict[str, list[tuple[int, str]]] = {}
    records = read_topic(
        settings.kafka_bootstrap, settings.topic_ticket_events, expected, timeout, until
    )
    for record in records:
        message = json.loads(record.value)
        assert record.key == message["ticket_id"].encode()
        per_ticket.setdefault(message["ticket_id"], []).append(
            (message["version"], message["event_id"])
        )
    return per_ticket


def in_order_at_least_once(sent: list[tuple[int, str]], versions: list[int]) -> bool:
    """Whether ``sent`` is ``versions`` in order, possibly after restarts from the first of
    them (a batch resent from its start), each version always with the same event id."""
    runs: list[list[int]] = []
    for version, _ in sent:
        if runs and version == runs[-1][-1] + 1:
            runs[-1].append(version)
        else:
            runs.append([version])
    one_id_each = len({v for v, _ in sent}) == len(set(sent))
    return (
        bool(runs)
        and one_id_each
        and runs[-1] == versions
        and all(run == versions[: len(run)] for run in runs)
    )


def test_the_publisher_sends_every_event_in_order_after_a_crash(
    app: TicketingApp, settings: Settings
) -> None:
    publisher = TicketEventPublisher(app, settings)
    WorkerPlumbing(app.store).set_publisher_position(
        publisher.position_name, app.store.recorder.max_notification_id() or 0
    )
    histories = ticket_history(app, 8)
    producer = make_producer(settings)
    try:
        position = WorkerPlumbing(app.store).publisher_position(publisher.position_name)
        last, count = publisher.send_batch(producer, position)  # sent, then "crashed"
        assert count > 0
        assert WorkerPlumbing(app.store).publisher_position(publisher.position_name) < last
        restarted = TicketEventPublisher(app, settings)
        while restarted.publish_batch(producer):
            pass
    finally:
        producer.close()
    total = sum(len(v) for v in histories.values())
    per_ticket = published(settings, 2 * total)
    assert set(per_ticket) == set(histories)
    for ticket_id, versions in histories.items():
        sent = per_ticket[ticket_id]
        assert [v for v, _ in sent] == versions * 2, "resent after the crash, in version order"
        assert len({event_id for _, event_id in sent}) == len(versions), "stable event ids"


def test_a_new_tickets_number_and_workspace_come_with_its_first_event_not_from_a_read(
    app: TicketingApp, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = TicketEventPublisher(app, settings)
    plumbing = WorkerPlumbing(app.store)
    plumbing.set_publisher_position(
        publisher.position_name, app.store.recorder.max_notification_id() or 0
    )
    histories = ticket_history(app, 3)
    tickets: dict[str, Any] = {t: app.store.repository.get(UUID(t)) for t in histories}
    facts = {t: (ticket.number, ticket.workspace_id) for t, ticket in tickets.items()}
    alice = user(next(iter(tickets.values())).submitter["account_id"])
    reads: list[UUID] = []
    get = app.store.events.get

    def counted(originator_id: UUID, *args: Any, **kwargs: Any) -> Any:
        reads.append(originator_id)
        return get(originator_id, *args, **kwargs)

    monkeypatch.setattr(app.store.events, "get", counted)
    producer = make_producer(settings)
    try:
        while publisher.publish_batch(producer):
            pass
        assert reads == [], "each ticket's first event carried its number and workspace"
        # a publisher that starts after the tickets' first events reads each ticket's once
        restarted = TicketEventPublisher(app, settings)
        for _ in range(2):
            for ticket_id in histories:
                app.reply(alice, ticket_id, "one more thing")
            while restarted.publish_batch(producer):
                pass
        assert sorted(map(str, reads)) == sorted(histories), "once per ticket, then kept"
    finally:
        producer.close()
    total = sum(len(v) for v in histories.values()) + 2 * len(histories)
    records = read_topic(settings.kafka_bootstrap, settings.topic_ticket_events, total, WAIT)
    assert len(records) == total
    for message in (json.loads(record.value) for record in records):
        assert (message["ticket_number"], message["workspace_id"]) == facts[message["ticket_id"]]


def test_two_workers_publishers_take_turns_and_send_each_event_once(
    make_app: AppFactory, settings: Settings
) -> None:
    first, second = make_app(), make_app()
    publishers = [TicketEventPublisher(first, settings), TicketEventPublisher(second, settings)]
    name = publishers[0].position_name
    WorkerPlumbing(first.store).set_publisher_position(
        name, first.store.recorder.max_notification_id() or 0
    )
    histories = ticket_history(first, 6)
    producers = [make_producer(settings), make_producer(settings)]
    try:
        with WorkerPlumbing(first.store).publisher_turn(name) as turn:
            assert turn is not None
            assert publishers[1].publish_batch(producers[1]) == 0, "not its turn: it waits"

        def drain(index: int) -> None:
            for _ in range(200):  # bounded: a few batches at most
                publishers[index].publish_batch(producers[index])
                if WorkerPlumbing(first.store).publisher_position(name) >= head:
                    return

        head = first.store.recorder.max_notification_id() or 0
        threads = [threading.Thread(target=drain, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for producer in producers:
            producer.close()
    total = sum(len(v) for v in histories.values())
    per_ticket = published(settings, total + 1, timeout=5)  # any duplicate would arrive by now
    assert {t: [v for v, _ in sent] for t, sent in per_ticket.items()} == histories


def test_published_messages_have_the_contract_shape(app: TicketingApp, settings: Settings) -> None:
    publisher = TicketEventPublisher(app, settings)
    WorkerPlumbing(app.store).set_publisher_position(
        publisher.position_name, app.store.recorder.max_notification_id() or 0
    )
    alice = user()
    ws = workspace_with(app, alice)
    ticket = submit(app, alice, ws).ticket
    app.accept(ADMIN, str(ticket.id))
    app.add_note(ADMIN, str(ticket.id), "ask billing")
    producer = make_producer(settings)
    try:
        publisher.publish_batch(producer)
    finally:
        producer.close()
    submitted, acknowledged, _, noted = (
        json.loads(r.value)
        for r in read_topic(settings.kafka_bootstrap, settings.topic_ticket_events, 4)
    )
    assert set(submitted) == {
        "event_id",
        "type",
        "occurred_at",
        "ticket_id",
        "ticket_number",
        "workspace_id",
        "version",
        "data",
    }
    assert (submitted["type"], submitted["ticket_number"], submitted["workspace_id"]) == (
        "TicketSubmitted",
        ticket.number,
        ws,
    )
    assert submitted["occurred_at"].startswith(ticket.created_on.isoformat()[:19])
    assert (acknowledged["type"], acknowledged["version"], acknowledged["data"]["automatic"]) == (
        "HandlerReplied",
        2,
        True,
    )
    # a staff note goes out like every other event: platform services are staff (§7)
    assert (noted["type"], noted["version"], noted["data"]["body"]) == (
        "StaffNoteAdded",
        4,
        "ask billing",
    )
    assert noted["data"]["actor"]["account_id"] == ADMIN.account_id


def test_the_publisher_survives_a_broker_restart(
    make_app: AppFactory, database_url: str, run: Any, tmp_path: Path
) -> None:
    """A durable broker, as Kafka and the dev broker are: an in-memory one comes back without
    its topics, and Tansu acknowledges writes to a topic it does not have and keeps nothing of
    them, so what the publisher sent before the topics were created again would be lost."""
    app = make_app()
    server = EmbeddedBroker(free_port(), tmp_path / "broker.log", tmp_path / "broker")
    bootstrap = server.start()
    try:
        settings = settings_for(bootstrap, database_url)
        publisher = TicketEventPublisher(app, settings)
        WorkerPlumbing(app.store).set_publisher_position(
            publisher.position_name, app.store.recorder.max_notification_id() or 0
        )
        run(publisher.run)
        before = ticket_history(app, 2)
        wait_until(
            lambda: (
                WorkerPlumbing(app.store).publisher_position(publisher.position_name)
                == app.store.recorder.max_notification_id()
            )
        )
        server.stop()
        after = ticket_history(app, 2)  # written while the broker is down
        server.start()
        every = before | after
        # the publisher notices the outage on a send timeout, then backs off: allow for both
        per_ticket = published(settings, 0, timeout=90, awaited=every)
        for ticket_id, versions in every.items():
            # a batch that failed on one partition is sent again whole: the other tickets'
            # events may come twice, with the same event ids, each time in version order
            assert in_order_at_least_once(per_ticket[ticket_id], versions), ticket_id
    finally:
        server.stop()
