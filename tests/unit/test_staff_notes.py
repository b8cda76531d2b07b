"""Staff notes on the Ticket aggregate (CONTRACT.md §7): who may add one from which status, and
that a note changes no status and no clock, whatever happened before or after it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import inactivity
from domain.actors import Actor
from domain.errors import DomainError, InvalidTransition, NotAllowed
from domain.service_hours import ServiceCalendar
from domain.sla import SlaTargets, sla_status
from domain.status import Status
from domain.ticket import Ticket
from tests.unit.builders import (
    ADMIN,
    ASSIGNEE,
    AUDITOR,
    OTHER_HANDLER,
    SUBMITTER,
    T0,
    attachment,
    new_ticket,
    ticket_in,
)

CALENDAR = ServiceCalendar()
TARGETS = SlaTargets()


@pytest.mark.parametrize(
    "status", [Status.WAITING_FOR_FEEDBACK, Status.FEEDBACK_PROVIDED, Status.CLOSED]
)
@pytest.mark.parametrize("author", [ASSIGNEE, OTHER_HANDLER, ADMIN], ids=lambda a: a.account_id)
def test_handlers_and_admins_add_notes_while_a_handler_may_reply_and_after_the_close(
    status: Status, author: Actor
) -> None:
    ticket = ticket_in(status)
    note_id = ticket.add_note(author, "  ask billing  ", attachments=[attachment()], at=T0)
    [note] = ticket.notes
    assert note == {
        "id": note_id,
        "author": author.as_record(),
        "body": "ask billing",
        "attachments": [attachment()],
        "created_at": T0,
    }
    assert ticket.status == status
    assert [type(e).__name__ for e in ticket.collect_events()] == ["StaffNoteAdded"]


@pytest.mark.parametrize("status", [Status.WAITING_FOR_ASSIGNMENT, Status.REVOKED])
def test_no_note_before_a_handler_accepted_or_on_a_revoked_ticket(status: Status) -> None:
    with pytest.raises(InvalidTransition):
        ticket_in(status).add_note(ADMIN, "too early", at=T0)


@pytest.mark.parametrize("who", [SUBMITTER, AUDITOR], ids=["submitter", "auditor"])
def test_users_and_auditors_add_no_notes(who: Actor) -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    with pytest.raises(NotAllowed):
        ticket.add_note(who, "mine", at=T0)
    assert ticket.collect_events() == []


def test_an_empty_note_or_one_with_a_nul_is_refused_by_field() -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    for body in ("   ", "a\x00b", None):
        with pytest.raises(DomainError) as refused:
            ticket.add_note(ADMIN, body, at=T0)
        assert "body" in getattr(refused.value, "errors", {})


def test_to_a_user_notes_take_no_version_and_no_update_time() -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    seen = (ticket.version, ticket.modified_on)
    ticket.add_note(ADMIN, "one", at=T0 + timedelta(minutes=1))
    ticket.add_note(ASSIGNEE, "two", at=T0 + timedelta(minutes=2))
    assert (ticket.version_for(SUBMITTER), ticket.updated_for(SUBMITTER)) == seen
    assert ticket.version_for(AUDITOR) == ticket.version == seen[0] + 2
    ticket.reply(ASSIGNEE, "an answer", at=T0 + timedelta(minutes=3))
    assert ticket.version == seen[0] + 3
    assert ticket.version_for(SUBMITTER) == seen[0] + 1  # no gap where the notes stand
    assert ticket.updated_for(SUBMITTER) == T0 + timedelta(minutes=3)


# A history: (step, minutes after the previous step); "note" steps are what one of the two
# tickets compared gets in addition.
steps = st.lists(
    st.tuples(
        st.sampled_from(
            ["accept", "answer", "automatic", "user", "remind", "close", "note", "note", "note"]
        ),
        st.integers(min_value=0, max_value=3 * 24 * 60),
    ),
    max_size=25,
)


def _play(ticket: Ticket, step: str, at: Any) -> None:
    """Apply a step if the ticket allows it now (a refused step changes nothing)."""
    commands: dict[str, Callable[[], object]] = {
        "accept": lambda: ticket.accept(ASSIGNEE, at=at),
        "answer": lambda: ticket.reply(ASSIGNEE, "answer", at=at),
        "automatic": lambda: ticket.reply(ASSIGNEE, "auto", automatic=True, at=at),
        "user": lambda: ticket.reply(SUBMITTER, "more", at=at),
        "remind": lambda: ticket.remind_of_closing(now=at, lead=timedelta(hours=24), text="r"),
        "close": lambda: ticket.close(SUBMITTER, at=at),
        "note": lambda: ticket.add_note(ASSIGNEE, "note", at=at),
    }
    with contextlib.suppress(DomainError):
        commands[step]()


@settings(max_examples=300, deadline=None)
@given(history=steps, wait=st.integers(min_value=0, max_value=10 * 24 * 60))
def test_notes_change_no_status_no_sla_clock_and_no_inactivity_clock(
    history: list[tuple[str, int]], wait: int
) -> None:
    with_notes, without = new_ticket(at=T0), new_ticket(at=T0)
    at = T0
    for step, minutes in history:
        at += timedelta(minutes=minutes)
        _play(with_notes, step, at)
        if step != "note":
            _play(without, step, at)
    now = at + timedelta(minutes=wait)
    assert len(with_notes.notes) == sum(
        1 for step, _ in history if step == "note"
    ) - _refused_notes(history)
    for attribute in (
        "status", "timeline", "first_responded_at", "feedback_provided_since", "reminded_at",
        "close_reason", "closed_at", "assignee",
    ):  # fmt: skip
        assert getattr(with_notes, attribute) == getattr(without, attribute), attribute
    assert _said(with_notes) == _said(without)
    assert sla_status(
        CALENDAR, TARGETS, with_notes.timeline, with_notes.first_responded_at, now
    ) == sla_status(CALENDAR, TARGETS, without.timeline, without.first_responded_at, now)
    since = with_notes.feedback_provided_since
    if since is not None:
        assert inactivity.overdue(since, now) == inactivity.overdue(
            without.feedback_provided_since or since, now
        )
    # to the submitter, the ticket is the one without notes: as new, at the same version
    # (counting without a gap: a gap would tell them a note was added)
    assert with_notes.updated_for(SUBMITTER) == without.modified_on
    assert with_notes.version_for(SUBMITTER) == without.version
    events = with_notes.collect_events()
    assert with_notes.version_for(ADMIN) == events[-1].originator_version


def _refused_notes(history: list[tuple[str, int]]) -> int:
    """Notes a replay without them refuses: those before any handler accepted."""
    ticket, refused, at = new_ticket(at=T0), 0, T0
    for step, minutes in history:
        at += timedelta(minutes=minutes)
        if step == "note":
            try:
                ticket.add_note(ASSIGNEE, "note", at=at)
            except DomainError:
                refused += 1
        else:
            _play(ticket, step, at)
    return refused


def _said(ticket: Ticket) -> list[dict[str, Any]]:
    """The conversation without its generated ids."""
    return [{k: v for k, v in message.items() if k != "id"} for message in ticket.messages]
