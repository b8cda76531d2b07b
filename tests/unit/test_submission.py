"""Submission rules: types, lengths, attachments, verified e-mail, the acknowledgement."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import NotAllowed, ValidationFailed
from domain.status import Status
from domain.ticket_types import TICKET_TYPES
from tests.unit.builders import ADMIN, ASSIGNEE, AUDITOR, T0, attachment, new_ticket


def refusal(**fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        new_ticket(**fields)
    return caught.value.errors


def test_a_submitted_ticket_waits_for_assignment_with_an_automatic_acknowledgement() -> None:
    ticket = new_ticket()
    assert ticket.status == Status.WAITING_FOR_ASSIGNMENT
    assert ticket.assignee_id == "hank"
    assert ticket.created_on == ticket.modified_on == T0
    [ack] = ticket.messages
    assert ack["automatic"] is True
    assert ack["author"]["role"] == "system"
    assert [type(e).__name__ for e in ticket.collect_events()] == ["Submitted", "HandlerReplied"]


def test_there_are_eight_types() -> None:
    assert [t.code for t in TICKET_TYPES] == [
        "unbind_mfa", "change_owner", "purchase", "documentation",
        "feature_request", "bug", "usage", "other",
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["", "nope", None, 3, "BUG"])
def test_unknown_types_are_refused(bad: object) -> None:
    assert "type" in refusal(ticket_type=bad)


def test_title_and_description_are_trimmed() -> None:
    ticket = new_ticket(title="  Slow queries \n", description="\tdetails  ")
    assert (ticket.title, ticket.description) == ("Slow queries", "details")


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("title", "x" * 200, True),
        ("title", " " + "x" * 200 + " ", True),
        ("title", "x" * 201, False),
        ("title", "   ", False),
        ("title", 5, False),
        ("description", "d" * 10_000, True),
        ("description", "d" * 10_001, False),
        ("description", "\n", False),
    ],
)
def test_length_limits(field: str, value: object, ok: bool) -> None:
    if ok:
        assert new_ticket(**{field: value}) is not None
    else:
        assert field in refusal(**{field: value})


def test_every_bad_field_is_named_at_once() -> None:
    assert set(refusal(ticket_type="x", title="", description="")) == {
        "type",
        "title",
        "description",
    }


def test_change_owner_needs_an_attachment() -> None:
    assert "attachment_ids" in refusal(ticket_type="change_owner")
    ticket = new_ticket(ticket_type="change_owner", attachments=[attachment()])
    assert ticket.attachments == [attachment()]


def test_unbind_mfa_needs_a_verified_email_and_stores_it() -> None:
    assert "verification" in refusal(ticket_type="unbind_mfa")
    ticket = new_ticket(ticket_type="unbind_mfa", verified_email="me@example.com")
    assert ticket.verified_email == "me@example.com"


def test_other_types_do_not_store_an_email() -> None:
    assert new_ticket(verified_email="me@example.com").verified_email is None


def test_at_most_five_attachments_each_once() -> None:
    assert "attachment_ids" in refusal(attachments=[attachment(n) for n in range(6)])
    assert "attachment_ids" in refusal(attachments=[attachment(1), attachment(1)])
    assert len(new_ticket(attachments=[attachment(n) for n in range(5)]).attachments) == 5


@pytest.mark.parametrize("actor", [ASSIGNEE, ADMIN, AUDITOR])
def test_only_the_user_role_submits(actor: Any) -> None:
    with pytest.raises(NotAllowed):
        new_ticket(submitter=actor)


def test_a_refused_submission_allocates_no_number() -> None:
    allocated: list[int] = []

    def allocate() -> int:
        allocated.append(1)
        return 1

    with pytest.raises(ValidationFailed):
        new_ticket(title="", allocate_number=allocate)
    assert allocated == []
