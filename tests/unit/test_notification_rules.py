"""Who is told what (CONTRACT.md §6.1), decided on the facts alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest

from domain.notifications import Kind, notification_id, of_ticket_event, summary
from domain.status import CloseReason


@dataclass
class FakeTicket:
    submitter: dict[str, Any] = field(default_factory=lambda: {"account_id": "alice"})
    assignee_id: str | None = "hank"


def told(event_type: str, actor: str, **data: Any) -> set[tuple[str, Kind]]:
    notices = of_ticket_event(event_type, actor, data, FakeTicket(), frozenset({"root", "hank"}))
    return {(notice.recipient, notice.kind) for notice in notices}


def test_the_submitter_is_told_of_a_handlers_answer_but_not_of_an_automatic_reply() -> None:
    assert told("HandlerReplied", "hank", body="Try again", automatic=False) == {
        ("alice", Kind.HANDLER_REPLIED)
    }
    assert told("HandlerReplied", "system", body="We got it", automatic=True) == set()


def test_the_assignee_hears_of_the_users_answer_of_assignments_and_of_notes() -> None:
    assert told("UserReplied", "alice", body="Still broken") == {("hank", Kind.USER_REPLIED)}
    for event_type in ("TicketSubmitted", "TicketRestarted", "TicketForwarded"):
        assert told(event_type, "someone") == {("hank", Kind.TICKET_ASSIGNED)}
    assert told("StaffNoteAdded", "root", body="ask billing") == {("hank", Kind.NOTE_ADDED)}
    assert told("TicketAccepted", "hank") == set()


@pytest.mark.parametrize("reason", list(CloseReason))
def test_a_close_tells_the_submitter_and_asks_for_a_rating_where_one_can_be_given(
    reason: CloseReason,
) -> None:
    actor = "alice" if reason is CloseReason.SUBMITTER else "system"
    expected = set()
    if reason is not CloseReason.SUBMITTER:
        expected.add(("alice", Kind.TICKET_CLOSED))
    if reason in (CloseReason.COMPLETED, CloseReason.INACTIVITY):
        expected.add(("alice", Kind.RATING_REQUESTED))
    assert told("TicketClosed", actor, reason=str(reason)) == expected


def test_a_breach_tells_the_assignee_and_every_admin_once_each() -> None:
    assert told("TicketSlaBreached", "system", target="first_response") == {
        ("hank", Kind.SLA_BREACHED),
        ("root", Kind.SLA_BREACHED),
    }


def test_nobody_is_told_of_their_own_action() -> None:
    assert told("TicketForwarded", "hank") == set()  # an admin who forwards to themselves
    assert told("StaffNoteAdded", "hank", body="for me") == set()
    assert told("TicketClosed", "alice", reason="submitter") == set()


def test_ids_are_the_same_for_the_same_fact_and_recipient_only() -> None:
    ticket = uuid4()
    first = notification_id(ticket, 3, Kind.SLA_BREACHED, "root")
    assert first == notification_id(ticket, 3, Kind.SLA_BREACHED, "root")
    others = {
        notification_id(ticket, 4, Kind.SLA_BREACHED, "root"),
        notification_id(ticket, 3, Kind.SLA_BREACHED, "hank"),
        notification_id(ticket, 3, Kind.TICKET_CLOSED, "root"),
        notification_id(uuid4(), 3, Kind.SLA_BREACHED, "root"),
    }
    assert first not in others
    assert len(others) == 4


def test_a_summary_is_one_line_of_at_most_280_characters() -> None:
    assert summary("a\n\nb   c") == "a b c"
    long = summary("x" * 1000)
    assert len(long) == 280
    assert long.endswith("…")
