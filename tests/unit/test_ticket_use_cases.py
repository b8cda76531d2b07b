"""A ticket's whole life through the application, on in-memory persistence."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from application.clock import SettableClock
from application.errors import TicketNotFound, VersionMismatch
from application.tickets import TicketingApp
from domain.actors import Actor, Role
from domain.errors import InvalidTransition, NotAllowed, ValidationFailed
from domain.status import CloseReason, Status
from tests.people import ADMIN, AUDITOR, HANDLER, submit, user, workspace_with


def test_full_life_cycle(app: TicketingApp, clock: SettableClock) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    hank = Actor(f"hank-{uuid4().hex[:8]}", Role.HANDLER, "Hank")
    app.handlers.register_handler(ADMIN, hank.account_id, hank.name, ["tech"])

    submitted = submit(app, alice, ws)
    ticket_id = str(submitted.ticket.id)
    assert submitted.ticket.status == Status.WAITING_FOR_ASSIGNMENT
    assert submitted.ticket.assignee_id == ADMIN.account_id
    assert submitted.position > 0

    clock.advance(timedelta(minutes=5))
    app.forward(ADMIN, ticket_id, hank.account_id)
    accepted = app.accept(hank, ticket_id)
    assert accepted.ticket.status == Status.WAITING_FOR_FEEDBACK
    assert app.reply(hank, ticket_id, "Which browser?").ticket.status == Status.FEEDBACK_PROVIDED
    assert app.reply(alice, ticket_id, "Firefox").ticket.status == Status.WAITING_FOR_FEEDBACK
    app.reply(hank, ticket_id, "Fixed in 2.1")
    closed = app.close(alice, ticket_id)
    assert (closed.ticket.status, closed.ticket.close_reason) == (
        Status.CLOSED,
        CloseReason.SUBMITTER,
    )
    rated = app.rate(alice, ticket_id, 5, "Thanks")
    assert rated.ticket.rating is not None
    assert rated.ticket.rating["score"] == 5
    assert rated.position > submitted.position

    history = app.history(alice, ticket_id)
    assert [entry.version for entry in history] == list(range(1, len(history) + 1))
    assert [entry.type for entry in history] == [
        "TicketSubmitted", "HandlerReplied", "TicketForwarded", "TicketAccepted",
        "HandlerReplied", "UserReplied", "HandlerReplied", "TicketClosed", "TicketRated",
    ]  # fmt: skip
    assert history[0].actor["account_id"] == alice.account_id
    assert history[0].data["type"] == "bug"
    assert history[1].data["automatic"] is True
    assert history[-1].data == {"score": 5, "comment": "Thanks"}
    assert history[2].occurred_at == history[0].occurred_at + timedelta(minutes=5)


def test_numbers_increase_and_are_never_reused(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    first = submit(app, alice, ws).ticket.number
    with pytest.raises(ValidationFailed):
        submit(app, alice, ws, title="")
    second = submit(app, alice, ws).ticket.number
    assert second == first + 1


def test_refused_commands_leave_no_trace(app: TicketingApp) -> None:
    alice, bob = user(), user()
    ws = workspace_with(app, alice, bob)
    ticket_id = str(submit(app, alice, ws).ticket.id)
    before = app.history(alice, ticket_id)

    with pytest.raises(NotAllowed):
        app.revoke(bob, ticket_id)
    with pytest.raises(InvalidTransition):
        app.close(alice, ticket_id)
    with pytest.raises(ValidationFailed):
        app.reply(alice, ticket_id, "")
    with pytest.raises(ValidationFailed):
        app.forward(ADMIN, ticket_id, "nobody-such")
    with pytest.raises(NotAllowed):
        submit(app, user(), ws)
    assert app.history(alice, ticket_id) == before


def test_tickets_outside_the_callers_reach_do_not_exist(app: TicketingApp) -> None:
    alice, mallory = user(), user()
    ws = workspace_with(app, alice)
    workspace_with(app, mallory)
    ticket_id = str(submit(app, alice, ws).ticket.id)

    for missing in (ticket_id, str(uuid4()), "not-a-uuid", ws):
        with pytest.raises(TicketNotFound):
            app.ticket(mallory, missing)
    with pytest.raises(TicketNotFound):
        app.revoke(mallory, ticket_id)
    with pytest.raises(TicketNotFound):
        app.ticket(HANDLER, ticket_id)
    assert app.ticket(AUDITOR, ticket_id).id == app.ticket(ADMIN, ticket_id).id


def test_leaving_the_workspace_hides_its_tickets(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = str(submit(app, alice, ws).ticket.id)
    app.platform.member_left(ws, alice.account_id, str(uuid4()))
    with pytest.raises(TicketNotFound):
        app.ticket(alice, ticket_id)
    app.platform.member_joined(ws, alice.account_id, str(uuid4()))
    assert app.ticket(alice, ticket_id).workspace_id == ws


def test_expected_version_is_honoured(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    result = submit(app, alice, ws)
    ticket_id = str(result.ticket.id)
    with pytest.raises(VersionMismatch) as caught:
        app.reply(alice, ticket_id, "hi", expected_version=result.ticket.version - 1)
    assert caught.value.current == result.ticket.version
    assert (
        app.reply(alice, ticket_id, "hi", expected_version=result.ticket.version).ticket.version
        == result.ticket.version + 1
    )


def test_past_states_by_version_and_time(app: TicketingApp, clock: SettableClock) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = str(submit(app, alice, ws).ticket.id)
    submitted_at = clock.now()
    clock.advance(timedelta(hours=1))
    app.accept(ADMIN, ticket_id)

    assert app.ticket(AUDITOR, ticket_id, version=2).status == Status.WAITING_FOR_ASSIGNMENT
    assert app.ticket(ADMIN, ticket_id, as_of=submitted_at).status == Status.WAITING_FOR_ASSIGNMENT
    assert app.ticket(ADMIN, ticket_id, as_of=clock.now()).status == Status.WAITING_FOR_FEEDBACK
    with pytest.raises(TicketNotFound):
        app.ticket(ADMIN, ticket_id, as_of=submitted_at - timedelta(seconds=1))
    with pytest.raises(ValidationFailed):
        app.ticket(ADMIN, ticket_id, version=99)
    with pytest.raises(NotAllowed):
        app.ticket(alice, ticket_id, version=1)


def test_inactive_tickets_close_after_168_hours(app: TicketingApp, clock: SettableClock) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = submit(app, alice, ws).ticket.id
    app.accept(ADMIN, str(ticket_id))
    app.reply(ADMIN, str(ticket_id), "Does this help?")
    with pytest.raises(InvalidTransition):
        app.housekeeping.close_if_inactive(ticket_id, now=clock.now() + timedelta(hours=168))
    closed = app.housekeeping.close_if_inactive(
        ticket_id, now=clock.now() + timedelta(hours=168, seconds=1)
    )
    assert closed.ticket.close_reason == CloseReason.INACTIVITY


def test_platform_events_apply_once(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app)
    event_id = str(uuid4())
    assert app.platform.member_joined(ws, alice.account_id, event_id) is True
    app.platform.member_left(ws, alice.account_id, str(uuid4()))
    assert app.platform.member_joined(ws, alice.account_id, event_id) is False
    assert app.is_member(ws, alice.account_id) is False


def test_cancellation_and_dissolution_close_open_tickets(app: TicketingApp) -> None:
    alice, bob = user(), user()
    ws = workspace_with(app, alice, bob)
    revoked = str(submit(app, alice, ws).ticket.id)
    app.revoke(alice, revoked)
    done = str(submit(app, alice, ws).ticket.id)
    app.complete(ADMIN, done)
    bobs = str(submit(app, bob, ws).ticket.id)

    assert app.platform.account_cancelled(alice.account_id, "cancel-" + alice.account_id) is True
    assert app.ticket(ADMIN, revoked).close_reason == CloseReason.ACCOUNT_CANCELLED
    assert app.ticket(ADMIN, done).close_reason == CloseReason.COMPLETED
    assert app.ticket(ADMIN, bobs).status == Status.WAITING_FOR_ASSIGNMENT
    with pytest.raises(NotAllowed):
        submit(app, alice, ws)

    assert app.platform.workspace_dissolved(ws, str(uuid4())) is True
    assert app.ticket(ADMIN, bobs).close_reason == CloseReason.WORKSPACE_DISSOLVED
    with pytest.raises(TicketNotFound):
        app.ticket(bob, bobs)
