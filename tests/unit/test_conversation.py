"""Replies, automatic replies, ratings and the inactivity rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import InvalidTransition, NotAllowed, ValidationFailed
from domain.inactivity import INACTIVITY_LIMIT
from domain.status import CloseReason, Status
from tests.unit.builders import (
    ADMIN,
    ASSIGNEE,
    AUDITOR,
    LATER,
    OTHER_MEMBER,
    SUBMITTER,
    T0,
    attachment,
    ticket_in,
)


def test_an_automatic_handler_reply_changes_no_status() -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    ticket.reply(ASSIGNEE, "We are looking into it.", automatic=True, at=LATER)
    assert ticket.status == Status.WAITING_FOR_FEEDBACK
    assert ticket.messages[-1]["automatic"] is True


def test_users_cannot_send_automatic_replies() -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    with pytest.raises(NotAllowed):
        ticket.reply(SUBMITTER, "hi", automatic=True, at=LATER)


def test_messages_keep_author_body_and_attachments() -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    message_id = ticket.reply(SUBMITTER, "  logs attached ", attachments=[attachment()], at=LATER)
    message = ticket.messages[-1]
    assert message["id"] == message_id
    assert message["author"] == {"account_id": "alice", "role": "user", "name": "Alice"}
    assert message["body"] == "logs attached"
    assert message["attachments"] == [attachment()]
    assert message["created_at"] == LATER


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001, None, 12])
def test_reply_bodies_are_validated(body: object) -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    with pytest.raises(ValidationFailed) as caught:
        ticket.reply(SUBMITTER, body, at=LATER)
    assert "body" in caught.value.errors
    assert ticket.pending_events == []


@pytest.mark.parametrize(
    ("score", "comment", "field"),
    [(0, None, "score"), (6, None, "score"), (True, None, "score"), ("5", None, "score"),
     (3, "c" * 2_001, "comment"), (3, 7, "comment")],
)  # fmt: skip
def test_ratings_are_validated(score: object, comment: object, field: str) -> None:
    ticket = ticket_in(Status.CLOSED)
    with pytest.raises(ValidationFailed) as caught:
        ticket.rate(SUBMITTER, score, comment, at=LATER)
    assert field in caught.value.errors
    assert ticket.rating is None


def test_a_rating_with_a_comment() -> None:
    ticket = ticket_in(Status.CLOSED)
    ticket.rate(SUBMITTER, 1, "c" * 2_000, at=LATER)
    assert ticket.rating == {"score": 1, "comment": "c" * 2_000, "rated_at": LATER}


def test_feedback_provided_clock_starts_when_the_status_is_entered() -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    ticket.reply(ASSIGNEE, "first", at=LATER)
    ticket.reply(ADMIN, "second", at=LATER + timedelta(days=3))
    assert ticket.feedback_provided_since == LATER
    ticket.reply(SUBMITTER, "back to you", at=LATER + timedelta(days=4))
    assert ticket.status == Status.WAITING_FOR_FEEDBACK
    assert ticket.feedback_provided_since is None


def test_inactivity_closes_only_after_more_than_168_hours() -> None:
    ticket = ticket_in(Status.FEEDBACK_PROVIDED)
    since = ticket.feedback_provided_since
    assert since == T0
    with pytest.raises(InvalidTransition):
        ticket.close_for_inactivity(now=since + INACTIVITY_LIMIT)
    ticket.close_for_inactivity(now=since + INACTIVITY_LIMIT + timedelta(seconds=1))
    assert (ticket.status, ticket.close_reason) == (Status.CLOSED, CloseReason.INACTIVITY)


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.FEEDBACK_PROVIDED])
def test_inactivity_applies_only_to_feedback_provided(status: Status) -> None:
    ticket = ticket_in(status)
    with pytest.raises(InvalidTransition):
        ticket.close_for_inactivity(now=T0 + timedelta(days=30))


@pytest.mark.parametrize("status", list(Status))
def test_platform_closure_closes_everything_not_closed(status: Status) -> None:
    ticket = ticket_in(status)
    changed = ticket.close_by_platform(CloseReason.ACCOUNT_CANCELLED, at=LATER)
    assert changed is (status is not Status.CLOSED)
    assert ticket.status == Status.CLOSED
    if changed:
        assert ticket.close_reason == CloseReason.ACCOUNT_CANCELLED


@pytest.mark.parametrize(
    ("actor", "visible"),
    [(SUBMITTER, False), (OTHER_MEMBER, False), (ASSIGNEE, True), (ADMIN, True), (AUDITOR, True)],
)
def test_staff_see_a_ticket_whatever_their_memberships(actor: object, visible: bool) -> None:
    ticket = ticket_in(Status.WAITING_FOR_FEEDBACK)
    assert ticket.is_visible_to_staff(actor) is visible  # type: ignore[arg-type]


def test_a_closing_reminder_once_per_wait() -> None:
    ticket = ticket_in(Status.FEEDBACK_PROVIDED)
    lead = timedelta(hours=24)
    remind_at = T0 + INACTIVITY_LIMIT - lead
    assert (
        ticket.remind_of_closing(now=remind_at - timedelta(seconds=1), lead=lead, text="soon")
        is False
    )
    assert ticket.remind_of_closing(now=remind_at, lead=lead, text="soon") is True
    assert ticket.messages[-1]["automatic"] is True
    assert ticket.messages[-1]["body"] == "soon"
    assert ticket.status == Status.FEEDBACK_PROVIDED
    assert ticket.feedback_provided_since == T0, "a reminder does not reset the wait"
    assert (
        ticket.remind_of_closing(now=remind_at + timedelta(hours=1), lead=lead, text="soon")
        is False
    )

    ticket.reply(SUBMITTER, "still here", at=remind_at + timedelta(hours=2))
    ticket.reply(ASSIGNEE, "ok", at=remind_at + timedelta(hours=3))
    again = remind_at + timedelta(hours=3) + INACTIVITY_LIMIT - lead
    assert ticket.remind_of_closing(now=again, lead=lead, text="soon") is True, (
        "a new wait, a new reminder"
    )


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.FEEDBACK_PROVIDED])
def test_no_reminder_unless_waiting_on_the_user(status: Status) -> None:
    ticket = ticket_in(status)
    assert (
        ticket.remind_of_closing(now=T0 + timedelta(days=30), lead=timedelta(hours=24), text="x")
        is False
    )
    assert ticket.pending_events == []
