"""The inactivity sweep through the application and the read model, with the injectable clock."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from application.clock import SettableClock
from application.tickets import TicketingApp
from domain.actors import Actor, Role
from domain.inactivity import INACTIVITY_LIMIT
from domain.status import CloseReason, Status
from tests.conftest import START
from tests.integration.conftest import (
    ADMIN,
    AppFactory,
    caught_up,
    run_together,
    submit,
    user,
    workspace_with,
)
from workers.cli import run
from workers.sweeps import sweep

pytestmark = pytest.mark.usefixtures("projecting")
LATER = START + timedelta(days=400)  # after every other test's tickets


def waiting_on_user(app: TicketingApp, clock: SettableClock) -> UUID:
    """A ticket that entered feedback_provided at the clock's current time."""
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = str(submit(app, alice, ws).ticket.id)
    app.accept(ADMIN, ticket_id)
    app.reply(ADMIN, ticket_id, "Does this help?")
    return UUID(ticket_id)


def status(app: TicketingApp, ticket_id: UUID) -> tuple[str, str | None]:
    ticket = app.ticket(ADMIN, str(ticket_id))
    return ticket.status, ticket.close_reason


def test_the_sweep_closes_exactly_what_waited_more_than_168_hours(
    app: TicketingApp, clock: SettableClock
) -> None:
    clock.set(LATER)
    oldest = waiting_on_user(app, clock)
    clock.advance(timedelta(hours=2))
    newer = waiting_on_user(app, clock)
    answered = waiting_on_user(app, clock)
    app.reply(ADMIN, str(answered), "more")  # still waiting on the user, since the first answer
    user_replied = waiting_on_user(app, clock)
    submitter = app.ticket(ADMIN, str(user_replied)).submitter["account_id"]
    app.reply(Actor(submitter, Role.USER), str(user_replied), "thanks")
    view = caught_up(app)

    sweep(app, view, LATER + INACTIVITY_LIMIT)
    assert status(app, oldest)[0] == Status.FEEDBACK_PROVIDED, "exactly 168 hours is not more"
    sweep(app, view, LATER + INACTIVITY_LIMIT + timedelta(seconds=1))
    assert status(app, oldest) == (Status.CLOSED, CloseReason.INACTIVITY)
    assert status(app, newer)[0] == Status.FEEDBACK_PROVIDED
    assert app.ticket(ADMIN, str(oldest)).closed_at == LATER + INACTIVITY_LIMIT + timedelta(
        seconds=1
    )

    caught_up(app)
    assert sweep(app, view, LATER + INACTIVITY_LIMIT + timedelta(seconds=1)).closed == 0, (
        "twice closes once"
    )
    late = LATER + timedelta(hours=2) + INACTIVITY_LIMIT + timedelta(seconds=1)
    sweep(app, view, late)
    assert status(app, newer) == (Status.CLOSED, CloseReason.INACTIVITY)
    assert status(app, answered) == (Status.CLOSED, CloseReason.INACTIVITY)
    assert status(app, user_replied)[0] == Status.WAITING_FOR_FEEDBACK


def test_two_sweeps_at_once_close_each_ticket_once(
    make_app: AppFactory, clock: SettableClock
) -> None:
    first, second = make_app(), make_app()
    clock.set(LATER + timedelta(days=10))
    tickets = [waiting_on_user(first, clock) for _ in range(8)]
    view = caught_up(first)
    now = clock.now() + INACTIVITY_LIMIT + timedelta(minutes=1)
    results = run_together(lambda: sweep(first, view, now), lambda: sweep(second, view, now))
    assert not [r for r in results if isinstance(r, Exception)]
    for ticket_id in tickets:
        closings = [e for e in first.history(ADMIN, str(ticket_id)) if e.type == "TicketClosed"]
        assert len(closings) == 1


def test_a_reminder_comes_a_day_before(app: TicketingApp, clock: SettableClock) -> None:
    clock.set(LATER + timedelta(days=20))
    since = clock.now()
    ticket_id = waiting_on_user(app, clock)
    view = caught_up(app)
    assert sweep(app, view, since + timedelta(hours=143), reminder_hours=24).reminded == 0
    sweep(app, view, since + timedelta(hours=145), reminder_hours=24)
    messages = app.ticket(ADMIN, str(ticket_id)).messages
    assert messages[-1]["automatic"] is True
    assert "24 hours" in messages[-1]["body"]
    sweep(app, view, since + timedelta(hours=150), reminder_hours=24)
    assert app.ticket(ADMIN, str(ticket_id)).messages == messages, "one reminder per wait"
    assert status(app, ticket_id)[0] == Status.FEEDBACK_PROVIDED


def test_ticketing_autoclose_now(
    app: TicketingApp,
    clock: SettableClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.set(LATER + timedelta(days=30))
    ticket_id = waiting_on_user(app, clock)
    caught_up(app)
    monkeypatch.setenv("TICKETING_DATABASE_URL", database_url)
    now = (clock.now() + INACTIVITY_LIMIT + timedelta(seconds=1)).isoformat()
    assert run(["autoclose", "--now", now]) == 0
    assert "closed" in capsys.readouterr().out
    assert status(app, ticket_id) == (Status.CLOSED, CloseReason.INACTIVITY)
    assert run(["autoclose", "--now", "2026-01-01T00:00:00"]) == 2, "a time zone is required"
    assert run(["autoclose", "--now", "soon"]) == 2
