"""Notifications derived from the store (CONTRACT.md §6.1): every kind for its recipient, each
once per fact and recipient, whatever runs twice or dies halfway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from application.clock import SettableClock
from application.database import eventsourcing_env
from application.tickets import TicketingApp
from domain.actors import Actor, Role
from domain.inactivity import INACTIVITY_LIMIT
from projections.inbox import Inbox
from projections.notifications import NotificationFollower
from projections.view import ReadModelView, TicketingEventLog
from tests.conftest import ROOT, START
from tests.integration.conftest import (
    ADMIN,
    AppFactory,
    caught_up,
    run_together,
    submit,
    user,
    workspace_with,
)
from tests.integration.kafka_support import wait_until
from workers.sweeps import warn_before_due

LATER = START + timedelta(days=800)  # after every other test's tickets


@pytest.fixture
def follower(database_url: str) -> Iterator[NotificationFollower]:
    event_log = TicketingEventLog(eventsourcing_env(database_url, 2))
    ReadModelView(event_log.datastore).create_table()
    yield NotificationFollower(event_log, default_assignee=ADMIN.account_id)
    event_log.close()


def told(app: TicketingApp, *ticket_ids: str) -> list[tuple[str, str, str]]:
    """(ticket, recipient, kind) of every notification of these tickets, in store order."""
    with app.store.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT ticket_id, account_id, kind FROM notifications WHERE ticket_id = ANY(%s) "
            "ORDER BY position, notification_id",
            ([UUID(t) for t in ticket_ids],),
        ).fetchall()
    return [(str(row["ticket_id"]), row["account_id"], row["kind"]) for row in rows]


def conversation(app: TicketingApp) -> tuple[str, str]:
    """A ticket through accept, an answer each way and completion; (ticket id, submitter)."""
    alice = user()
    ticket_id = str(submit(app, alice, workspace_with(app, alice)).ticket.id)
    app.accept(ADMIN, ticket_id)
    app.reply(ADMIN, ticket_id, "Which browser?")
    app.reply(alice, ticket_id, "Firefox")
    app.complete(ADMIN, ticket_id)
    return ticket_id, alice.account_id


def expected_for(ticket_id: str, alice: str) -> list[tuple[str, str, str]]:
    return [
        (ticket_id, ADMIN.account_id, "ticket_assigned"),
        (ticket_id, alice, "handler_replied"),
        (ticket_id, ADMIN.account_id, "user_replied"),
        *sorted([(ticket_id, alice, "rating_requested"), (ticket_id, alice, "ticket_closed")]),
    ]


def test_a_conversation_tells_each_side_of_the_others_moves_only(
    app: TicketingApp, follower: NotificationFollower
) -> None:
    ticket_id, alice = conversation(app)
    follower.catch_up()
    assert sorted(told(app, ticket_id)) == sorted(expected_for(ticket_id, alice))


def test_a_forward_tells_the_new_assignee_and_a_breach_tells_every_admin(
    app: TicketingApp, clock: SettableClock, follower: NotificationFollower
) -> None:
    clock.set(LATER)
    hank, lead = f"hank-{uuid4().hex[:6]}", f"lead-{uuid4().hex[:6]}"
    app.handlers.register_handler(ADMIN, hank, "Hank", ["support"], True)
    app.handlers.register_handler(ADMIN, lead, "Lead", ["admin"], True)
    alice = user()
    ticket_id = str(submit(app, alice, workspace_with(app, alice)).ticket.id)
    app.forward(ADMIN, ticket_id, hank)
    clock.advance(timedelta(days=10))
    breaches = app.housekeeping.record_sla_breaches(UUID(ticket_id))
    assert breaches == ["first_response", "resolution"]
    follower.catch_up()
    kinds = told(app, ticket_id)
    assert (ticket_id, hank, "ticket_assigned") in kinds
    roster = app.handlers.roster(read_only=True).handlers
    admins = {who for who, entry in roster.items() if entry["active"] and "admin" in entry["roles"]}
    breached = {recipient for _, recipient, kind in kinds if kind == "sla_breached"}
    assert breached == {hank, ADMIN.account_id, lead, *admins}
    count = len([kind for kind in kinds if kind[2] == "sla_breached"])
    assert count == len(breached) * len(breaches)


def test_a_note_tells_the_assignee_only_and_its_change_is_for_staff_only(
    app: TicketingApp, follower: NotificationFollower
) -> None:
    hank = f"hank-{uuid4().hex[:6]}"
    app.handlers.register_handler(ADMIN, hank, "Hank", ["support"], True)
    alice = user()
    ticket_id = str(submit(app, alice, workspace_with(app, alice)).ticket.id)
    app.accept(ADMIN, ticket_id)
    app.forward(ADMIN, ticket_id, hank)
    noted = app.add_note(ADMIN, ticket_id, "Refund is approved").position
    app.add_note(Actor(hank, Role.HANDLER, "Hank"), ticket_id, "Told billing")  # not to himself
    follower.catch_up()
    assert [(who, kind) for _, who, kind in told(app, ticket_id) if kind == "note_added"] == [
        (hank, "note_added")
    ]
    assert alice.account_id not in {who for _, who, _ in told(app, ticket_id)}
    with app.store.datastore.get_connection() as conn:
        feed = conn.execute(
            "SELECT position, staff_only FROM ticket_feed WHERE ticket_id = %s ORDER BY position",
            (UUID(ticket_id),),
        ).fetchall()
        summary = conn.execute(
            "SELECT summary FROM notifications WHERE ticket_id = %s AND kind = 'note_added'",
            (UUID(ticket_id),),
        ).fetchone()
    assert [row["staff_only"] for row in feed] == [False] * 4 + [True, True]
    assert feed[-2]["position"] == noted
    assert summary is not None
    assert summary["summary"] == "Refund is approved"


def test_due_times_are_warned_of_once_each_by_the_sweep(
    make_app: AppFactory, clock: SettableClock, follower: NotificationFollower, projecting: None
) -> None:
    app = make_app()
    clock.set(LATER + timedelta(days=30))
    alice = user()
    waiting = str(submit(app, alice, workspace_with(app, alice)).ticket.id)
    app.accept(ADMIN, waiting)
    app.reply(ADMIN, waiting, "Does this help?")
    fresh = str(submit(app, alice, workspace_with(app, alice)).ticket.id)
    due = app.sla(app.ticket(ADMIN, fresh)).first_response_due_at
    view = caught_up(app)
    since = app.ticket(ADMIN, waiting).feedback_provided_since
    assert since is not None

    clock.set(due - timedelta(minutes=30))  # within an hour of service time of the due time
    assert clock.now() < since + INACTIVITY_LIMIT
    warned = warn_before_due(app, view, clock.now())
    clock.set(since + INACTIVITY_LIMIT - timedelta(hours=2))
    warned += warn_before_due(app, view, clock.now())
    warned += warn_before_due(app, view, clock.now())  # again: nothing new
    follower.catch_up()
    assert (fresh, ADMIN.account_id, "sla_due_soon") in told(app, fresh)
    assert told(app, waiting)[-1] == (waiting, alice.account_id, "closing_soon")
    assert [kind for *_, kind in told(app, waiting, fresh)].count("closing_soon") == 1
    assert [kind for *_, kind in told(app, fresh)].count("sla_due_soon") == 1
    assert warned >= 2


def test_two_followers_at_once_derive_each_notification_once(
    app: TicketingApp, database_url: str, follower: NotificationFollower
) -> None:
    tickets = [conversation(app) for _ in range(5)]
    other_log = TicketingEventLog(eventsourcing_env(database_url, 2))
    try:
        other = NotificationFollower(other_log, default_assignee=ADMIN.account_id)
        run_together(lambda: follower.catch_up(batch=3), lambda: other.catch_up(batch=3))
    finally:
        other_log.close()
    for ticket_id, alice in tickets:
        assert sorted(told(app, ticket_id)) == sorted(expected_for(ticket_id, alice))
    assert follower.position() == app.store.recorder.max_notification_id()


KILLABLE = textwrap.dedent(
    """
    import sys, time
    from application.database import eventsourcing_env
    from projections.notifications import NotificationFollower
    from projections.view import TicketingEventLog
    follower = NotificationFollower(TicketingEventLog(eventsourcing_env(sys.argv[1], 2)), "x")
    while True:
        follower.catch_up(batch=1)
        time.sleep(0.01)
    """
)


def test_a_follower_killed_halfway_loses_and_repeats_nothing(
    app: TicketingApp, database_url: str, follower: NotificationFollower
) -> None:
    follower.catch_up()
    start = follower.position()
    tickets = [conversation(app) for _ in range(20)]
    head = app.store.recorder.max_notification_id() or 0
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", KILLABLE, database_url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_until(lambda: follower.position() >= start + (head - start) // 3)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(10)
    assert follower.position() < head, "killed before it was done"
    follower.catch_up()
    for ticket_id, alice in tickets:
        assert sorted(told(app, ticket_id)) == sorted(expected_for(ticket_id, alice))


def answered_user(app: TicketingApp, tickets: int) -> Actor:
    """A user with this many tickets, each answered once by support."""
    alice = user()
    ws = workspace_with(app, alice)
    for _ in range(tickets):
        ticket_id = str(submit(app, alice, ws).ticket.id)
        app.accept(ADMIN, ticket_id)
        app.reply(ADMIN, ticket_id, "answer")
    return alice


def test_the_inbox_counts_unread_exactly_while_marks_race(
    app: TicketingApp, follower: NotificationFollower
) -> None:
    alice = answered_user(app, 12)
    follower.catch_up()
    inbox = Inbox(app.store.datastore)
    page = inbox.page(alice.account_id, limit=100)
    assert page.unread_count == 12
    assert len(page.items) == 12
    ids = [item["notification_id"] for item in page.items]
    halves = [ids[0::2], ids[1::2], ids[0::3]]
    counts = run_together(
        *(lambda half=half: inbox.mark_read(alice.account_id, ids=half) for half in halves)
    )
    assert all(isinstance(count, int) for count in counts)
    assert inbox.page(alice.account_id).unread_count == 0
    assert min(counts) == 0  # type: ignore[type-var]


def test_the_inbox_pages_newest_first_and_marks_up_to_a_notification(
    app: TicketingApp, follower: NotificationFollower
) -> None:
    alice = answered_user(app, 5)
    follower.catch_up()
    inbox = Inbox(app.store.datastore)
    first = inbox.page(alice.account_id, limit=2)
    second = inbox.page(alice.account_id, limit=2, cursor=first.next_cursor)
    third = inbox.page(alice.account_id, limit=2, cursor=second.next_cursor)
    seen = [item["notification_id"] for page in (first, second, third) for item in page.items]
    positions = [item["position"] for page in (first, second, third) for item in page.items]
    assert len(set(seen)) == 5
    assert positions == sorted(positions, reverse=True)
    assert third.next_cursor is None
    assert inbox.mark_read(alice.account_id, up_to=seen[2]) == 2
    unread = inbox.page(alice.account_id, unread=True)
    assert [item["notification_id"] for item in unread.items] == seen[:2]
    assert inbox.page("somebody-else").items == []


def test_a_submitter_who_left_the_workspace_hears_only_that_the_ticket_closed(
    app: TicketingApp, follower: NotificationFollower
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = str(submit(app, alice, ws).ticket.id)
    app.accept(ADMIN, ticket_id)
    app.platform.member_left(ws, alice.account_id, str(uuid4()))
    app.reply(ADMIN, ticket_id, "A secret answer for members only")
    app.platform.workspace_dissolved(ws, str(uuid4()))
    follower.catch_up()
    assert told(app, ticket_id) == [
        (ticket_id, ADMIN.account_id, "ticket_assigned"),
        (ticket_id, alice.account_id, "ticket_closed"),
    ]
