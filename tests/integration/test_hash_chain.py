"""The event store's hash chain (issue 27): every edit an auditor fears, made with SQL on a real
PostgreSQL, and ``audit verify`` naming the first bad position; the untouched store passes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from application.bootstrap import build_app
from application.chain import GENESIS, ChainReport, Checkpoint, digest
from application.config import Settings
from application.tickets import TicketingApp
from projections.view import TicketingEventLog
from tests.integration.conftest import ADMIN
from tests.integration.kafka_support import read_topic
from tests.people import user, workspace_with
from workers.chain_audit import read_checkpoints, verify_chain
from workers.checkpoints import CheckpointPublisher
from workers.cli import run
from workers.kafka_clients import ensure_topics


@pytest.fixture
def store(own_database: str) -> Iterator[TicketingApp]:
    """An application on a database of its own, with a few tickets and messages."""
    app = build_app(Settings(database_url=own_database, default_assignee=ADMIN.account_id))
    alice = user()
    ws = workspace_with(app, alice)
    for n in range(4):
        ticket = app.submit(alice, ws, ticket_type="bug", title=f"t{n}", description="d")
        app.reply(alice, str(ticket.ticket.id), f"more about {n}")
    yield app
    app.store.close()


def sql(app: TicketingApp, statement: str, params: tuple[Any, ...] = ()) -> list[Any]:
    with app.store.datastore.transaction(commit=True) as curs:
        curs.execute(statement, params)
        return curs.fetchall() if curs.description else []


def verify(
    app: TicketingApp,
    checkpoints: Sequence[Checkpoint] = (),
    from_position: int | None = None,
) -> ChainReport:
    event_log = TicketingEventLog(app.store.env)
    try:
        return verify_chain(event_log, list(checkpoints), from_position)
    finally:
        event_log.close()


def positions(app: TicketingApp) -> list[int]:
    return [
        row["notification_id"]
        for row in sql(app, "SELECT notification_id FROM ticketing_events ORDER BY 1")
    ]


def head(app: TicketingApp) -> Checkpoint:
    row = sql(
        app,
        "SELECT notification_id, chain_digest FROM ticketing_events "
        "ORDER BY notification_id DESC LIMIT 1",
    )[0]
    return Checkpoint(row["notification_id"], bytes(row["chain_digest"]), datetime.now(UTC))


def rechain(app: TicketingApp, after: int = 0) -> None:
    """What an editor who knows the scheme does next: recompute every digest after a position."""
    rows = sql(
        app,
        "SELECT notification_id, originator_id, originator_version, topic, state, chain_digest "
        "FROM ticketing_events ORDER BY notification_id",
    )
    previous = GENESIS
    for row in rows:
        if row["notification_id"] > after:
            previous = digest(
                previous, row["notification_id"], row["originator_id"],
                row["originator_version"], row["topic"], bytes(row["state"]),
            )  # fmt: skip
            sql(
                app,
                "UPDATE ticketing_events SET chain_digest = %s WHERE notification_id = %s",
                (previous, row["notification_id"]),
            )
        else:
            previous = bytes(row["chain_digest"])


def test_the_untouched_store_passes_and_python_agrees_with_the_trigger(store: TicketingApp) -> None:
    report = verify(store)
    assert report.passed, report.breaks
    assert report.checked == len(positions(store))
    assert report.head == head(store).position
    assert report.migrated_up_to is None


def test_an_edited_event_is_named(store: TicketingApp) -> None:
    reply = sql(
        store,
        "SELECT notification_id FROM ticketing_events WHERE topic LIKE '%%UserReplied' "
        "ORDER BY 1 LIMIT 1",
    )
    position = reply[0]["notification_id"]
    sql(
        store,
        "UPDATE ticketing_events SET state = convert_to(replace(convert_from(state, 'UTF8'), "
        "'more about', 'LESS about'), 'UTF8') WHERE notification_id = %s",
        (position,),
    )
    report = verify(store)
    assert [b.position for b in report.breaks] == [position]
    assert "edited" in report.breaks[0].reason


def test_a_deleted_event_is_named_by_the_one_after_it(store: TicketingApp) -> None:
    all_positions = positions(store)
    sql(store, "DELETE FROM ticketing_events WHERE notification_id = %s", (all_positions[3],))
    assert [b.position for b in verify(store).breaks] == [all_positions[4]]


def test_an_inserted_event_is_named(store: TicketingApp) -> None:
    all_positions = positions(store)
    into = all_positions[5]
    # make room, then insert a made-up event there, its digest computed from the one before
    sql(store, "ALTER TABLE ticketing_events DISABLE TRIGGER USER")
    sql(
        store,
        "UPDATE ticketing_events SET notification_id = notification_id + 1000 "
        "WHERE notification_id >= %s",
        (into,),
    )
    sql(
        store,
        "UPDATE ticketing_events SET notification_id = notification_id - 999 "
        "WHERE notification_id >= %s",
        (into + 1000,),
    )
    before = bytes(
        sql(
            store,
            "SELECT chain_digest FROM ticketing_events WHERE notification_id = %s",
            (all_positions[4],),
        )[0]["chain_digest"]
    )
    made_up = (uuid4(), 1, "domain.ticket:Ticket.UserReplied", b'{"body":"forged"}')
    sql(
        store,
        "INSERT INTO ticketing_events (originator_id, originator_version, topic, state, "
        "notification_id, chain_digest) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (*made_up, into, digest(before, into, *made_up)),
    )
    sql(store, "ALTER TABLE ticketing_events ENABLE TRIGGER USER")
    assert [b.position for b in verify(store).breaks] == [into + 1]


def test_two_swapped_events_are_named(store: TicketingApp) -> None:
    first, second = positions(store)[2:4]
    sql(
        store,
        "UPDATE ticketing_events SET notification_id = -1 WHERE notification_id = %s",
        (first,),
    )
    sql(
        store,
        "UPDATE ticketing_events SET notification_id = %s WHERE notification_id = %s",
        (first, second),
    )
    sql(
        store,
        "UPDATE ticketing_events SET notification_id = %s WHERE notification_id = -1",
        (second,),
    )
    assert [b.position for b in verify(store).breaks] == [first]


def test_a_rechained_tail_is_caught_by_a_checkpoint(store: TicketingApp) -> None:
    checkpoint = head(store)
    edited = positions(store)[-2]
    sql(
        store,
        "UPDATE ticketing_events SET state = state || ' '::bytea WHERE notification_id = %s",
        (edited,),
    )
    rechain(store, after=edited - 1)
    assert verify(store).passed, "the chain alone cannot tell"
    report = verify(store, [checkpoint])
    assert [b.position for b in report.breaks] == [checkpoint.position]
    assert "recomputed" in report.breaks[0].reason


def test_a_head_behind_a_checkpoint_is_caught(store: TicketingApp) -> None:
    checkpoint = head(store)
    sql(
        store,
        "DELETE FROM ticketing_events WHERE notification_id >= %s",
        (checkpoint.position - 1,),
    )
    report = verify(store, [checkpoint])
    assert [b.position for b in report.breaks] == [checkpoint.position]
    assert "removed" in report.breaks[0].reason


def test_verifying_from_a_position_starts_at_the_checkpoint_before_it(store: TicketingApp) -> None:
    middle = head(store)
    alice = user()
    ws = workspace_with(store, alice)
    store.submit(alice, ws, ticket_type="bug", title="later", description="d")
    later = positions(store)
    report = verify(store, [middle], from_position=later[-1])
    assert report.passed
    assert report.checked == len([p for p in later if p > middle.position])
    # an edit before the checkpoint is for a full walk to find; one at the checkpoint is not
    sql(
        store,
        "UPDATE ticketing_events SET state = state || ' '::bytea WHERE notification_id = %s",
        (later[0],),
    )
    assert verify(store, [middle], from_position=later[-1]).passed
    assert [b.position for b in verify(store, [middle]).breaks] == [later[0]]
    sql(
        store,
        "UPDATE ticketing_events SET chain_digest = %s WHERE notification_id = %s",
        (GENESIS, middle.position),
    )
    assert [b.position for b in verify(store, [middle], later[-1]).breaks] == [middle.position]


def test_events_stored_before_the_chain_are_chained_by_a_migration(own_database: str) -> None:
    app = build_app(Settings(database_url=own_database, default_assignee=ADMIN.account_id))
    try:
        alice = user()
        ws = workspace_with(app, alice)
        app.submit(alice, ws, ticket_type="bug", title="old", description="d")
        # as a store of the version before the chain: no digests, no trigger, no head
        sql(app, "DROP TRIGGER ticketing_events_chain ON ticketing_events")
        sql(app, "UPDATE ticketing_events SET chain_digest = NULL")
        sql(app, "DELETE FROM ticketing_migrations WHERE name LIKE 'schema-%%'")
        last = positions(app)[-1]
    finally:
        app.store.close()
    app = build_app(Settings(database_url=own_database, default_assignee=ADMIN.account_id))
    try:
        app.submit(alice, ws, ticket_type="bug", title="new", description="d")
        report = verify(app)
        assert report.passed, report.breaks
        assert report.migrated_up_to == last
        assert report.checked == len(positions(app))
    finally:
        app.store.close()


def test_the_worker_publishes_checkpoints_and_verify_holds_the_store_to_them(
    store: TicketingApp,
    broker: str,
    own_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = f"audit.checkpoints.{uuid4().hex[:8]}"
    settings = Settings(
        database_url=own_database, kafka_bootstrap=broker, topic_audit_checkpoints=topic,
        audit_checkpoint_seconds=1, default_assignee=ADMIN.account_id,
    )  # fmt: skip
    ensure_topics(broker, {topic: 1})
    published = head(store)
    stop = threading.Event()
    publisher = threading.Thread(target=CheckpointPublisher(store, settings).run, args=(stop,))
    publisher.start()
    try:
        records = read_topic(broker, topic, 1, timeout=30)
    finally:
        stop.set()
        publisher.join(30)
    message = json.loads(records[0].value)
    assert records[0].key == b"store"
    assert message["position"] == published.position
    assert message["digest"] == published.digest.hex()
    assert read_checkpoints(settings)[0].position == published.position
    kept = sql(store, "SELECT position FROM audit_checkpoints")
    assert [row["position"] for row in kept] == [published.position]

    for name, value in {
        "TICKETING_DATABASE_URL": own_database,
        "TICKETING_KAFKA_BOOTSTRAP": broker,
        "TICKETING_TOPIC_AUDIT_CHECKPOINTS": topic,
    }.items():
        monkeypatch.setenv(name, value)
    assert run(["projections", "rebuild"]) == 0  # the read models' half of the audit
    assert run(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "chain passed" in out
    assert "1 checkpoints from the broker held" in out
    edited = positions(store)[-1]
    sql(
        store,
        "UPDATE ticketing_events SET state = state || ' '::bytea WHERE notification_id = %s",
        (edited,),
    )
    rechain(store, after=edited - 1)
    assert run(["audit", "verify", "--without-checkpoints"]) == 0
    assert "checkpoints not checked" in capsys.readouterr().out
    assert run(["audit", "verify"]) == 1
    assert f"chain FAILED at position {published.position:,}" in capsys.readouterr().out


def test_a_checkpoint_follows_every_few_events_between_the_minutes(
    store: TicketingApp, broker: str, own_database: str
) -> None:
    topic = f"audit.checkpoints.{uuid4().hex[:8]}"
    ensure_topics(broker, {topic: 1})
    settings = Settings(
        database_url=own_database, kafka_bootstrap=broker, topic_audit_checkpoints=topic,
        audit_checkpoint_seconds=3600,
    )  # fmt: skip
    first = head(store)
    stop = threading.Event()
    # every 3 events here, as every 10,000 in the worker: writing those would take minutes
    checkpoints = CheckpointPublisher(store, settings, every_events=3)
    publisher = threading.Thread(target=checkpoints.run, args=(stop,))
    publisher.start()
    try:
        assert len(read_topic(broker, topic, 1, timeout=30)) == 1, "one at start"
        alice = user()
        ws = workspace_with(store, alice)
        ticket = store.submit(alice, ws, ticket_type="bug", title="more", description="d")
        store.reply(alice, str(ticket.ticket.id), "and more")
        records = read_topic(broker, topic, 2, timeout=30)
    finally:
        stop.set()
        publisher.join(30)
    positions_published = [json.loads(r.value)["position"] for r in records]
    assert positions_published[0] == first.position
    assert positions_published[1] >= first.position + 3
