"""Every row of the transitions table (CONTRACT.md §1): who, from which status, to what."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from domain.actors import Actor
from domain.errors import InvalidTransition, NotAllowed
from domain.status import CloseReason, Status
from domain.ticket import Ticket
from tests.unit.builders import (
    ADMIN,
    ASSIGNEE,
    AUDITOR,
    DEFAULT_ASSIGNEE,
    LATER,
    OTHER_HANDLER,
    OTHER_MEMBER,
    SUBMITTER,
    ticket_in,
)

WFA = Status.WAITING_FOR_ASSIGNMENT
WFF = Status.WAITING_FOR_FEEDBACK
FP = Status.FEEDBACK_PROVIDED
CLOSED = Status.CLOSED
REVOKED = Status.REVOKED
OPEN = {WFA, WFF, FP}

ACTORS = {
    "submitter": SUBMITTER,
    "other member": OTHER_MEMBER,
    "assignee": ASSIGNEE,
    "other handler": OTHER_HANDLER,
    "admin": ADMIN,
    "auditor": AUDITOR,
}
TARGET = {"account_id": "olga", "name": "Olga"}

Command = Callable[[Ticket, Actor], Any]
# name: (command, who may issue it, allowed from)
TABLE: dict[str, tuple[Command, set[str], set[Status]]] = {
    "revoke": (lambda t, a: t.revoke(a, at=LATER), {"submitter"}, {WFA}),
    "restart": (
        lambda t, a: t.restart(a, assignee=DEFAULT_ASSIGNEE, account_cancelled=False, at=LATER),
        {"submitter"},
        {REVOKED},
    ),
    "close": (lambda t, a: t.close(a, at=LATER), {"submitter"}, {WFF, FP}),
    "rate": (lambda t, a: t.rate(a, 4, "quick", at=LATER), {"submitter"}, {CLOSED}),
    "accept": (lambda t, a: t.accept(a, at=LATER), {"assignee", "admin"}, {WFA}),
    "forward": (lambda t, a: t.forward(a, TARGET, at=LATER), {"assignee", "admin"}, OPEN),
    "complete": (lambda t, a: t.complete(a, at=LATER), {"assignee", "admin"}, OPEN),
    "user reply": (lambda t, a: t.reply(a, "more detail", at=LATER), {"submitter"}, OPEN),
    "handler reply": (
        lambda t, a: t.reply(a, "an answer", at=LATER),
        {"assignee", "admin"},
        {WFF, FP},
    ),
}


def expected_status(command: str, before: Status) -> Status:
    """The result column of the table."""
    return {
        "revoke": REVOKED,
        "restart": WFA,
        "close": CLOSED,
        "rate": CLOSED,
        "accept": WFF,
        "forward": before,
        "complete": CLOSED,
        "user reply": WFF if before is FP else before,
        "handler reply": FP,
    }[command]


CASES = [
    pytest.param(command, status, who, id=f"{command}-{status}-{who}")
    for command, (_, allowed_who, _) in TABLE.items()
    for status in Status
    for who in ACTORS
    # a reply is the same command for both sides; each row covers the side it names
    if not (command.endswith("reply") and who in {"submitter", "assignee", "admin"} - allowed_who)
]


@pytest.mark.parametrize(("command", "status", "who"), CASES)
def test_transition_table(command: str, status: Status, who: str) -> None:
    run, allowed_who, allowed_from = TABLE[command]
    ticket = ticket_in(status)
    before = copy.deepcopy(vars(ticket))

    if who not in allowed_who:
        with pytest.raises(NotAllowed):
            run(ticket, ACTORS[who])
    elif status not in allowed_from:
        with pytest.raises(InvalidTransition):
            run(ticket, ACTORS[who])
    else:
        run(ticket, ACTORS[who])
        assert ticket.status == expected_status(command, status)
        assert len(ticket.collect_events()) == 1
        return
    assert ticket.pending_events == [], "a refused command records nothing"
    assert vars(ticket) == before


def test_accept_makes_the_acceptor_the_assignee() -> None:
    ticket = ticket_in(WFA)
    ticket.accept(ADMIN, at=LATER)
    assert ticket.assignee == {"account_id": "root", "name": "Root"}


def test_forward_changes_the_assignee_and_not_the_status() -> None:
    ticket = ticket_in(WFF)
    ticket.forward(ASSIGNEE, TARGET, at=LATER)
    assert ticket.assignee == TARGET
    assert ticket.status == WFF


def test_the_former_assignee_loses_the_ticket_after_forwarding() -> None:
    ticket = ticket_in(WFF)
    ticket.forward(ASSIGNEE, TARGET, at=LATER)
    with pytest.raises(NotAllowed):
        ticket.reply(ASSIGNEE, "still here?", at=LATER)
    assert ticket.allowed_actions(OTHER_HANDLER) == ["reply", "forward", "complete"]


def test_restart_assigns_the_default_assignee_again() -> None:
    ticket = ticket_in(REVOKED)
    ticket.restart(
        SUBMITTER, assignee={"account_id": "root", "name": ""}, account_cancelled=False, at=LATER
    )
    assert ticket.assignee_id == "root"


def test_a_cancelled_account_cannot_restart() -> None:
    ticket = ticket_in(REVOKED)
    with pytest.raises(NotAllowed):
        ticket.restart(SUBMITTER, assignee=DEFAULT_ASSIGNEE, account_cancelled=True, at=LATER)
    assert ticket.status == REVOKED


@pytest.mark.parametrize(
    ("command", "reason"),
    [("close", CloseReason.SUBMITTER), ("complete", CloseReason.COMPLETED)],
)
def test_close_reasons(command: str, reason: CloseReason) -> None:
    ticket = ticket_in(FP)
    actor = SUBMITTER if command == "close" else ASSIGNEE
    getattr(ticket, command)(actor, at=LATER)
    assert ticket.close_reason == reason
    assert ticket.closed_at == LATER


def test_rating_twice_is_refused() -> None:
    ticket = ticket_in(CLOSED)
    ticket.rate(SUBMITTER, 5, at=LATER)
    with pytest.raises(InvalidTransition):
        ticket.rate(SUBMITTER, 1, at=LATER)
    assert ticket.rating == {"score": 5, "comment": None, "rated_at": LATER}


def test_a_closed_ticket_takes_no_reply_from_anyone() -> None:
    ticket = ticket_in(CLOSED)
    for actor in (SUBMITTER, ASSIGNEE, ADMIN):
        with pytest.raises(InvalidTransition):
            ticket.reply(actor, "hello?", at=LATER)


@pytest.mark.parametrize(
    ("status", "who", "actions"),
    [
        (WFA, "submitter", ["reply", "revoke"]),
        (WFA, "assignee", ["accept", "forward", "complete"]),
        (WFF, "submitter", ["reply", "close"]),
        (FP, "admin", ["reply", "forward", "complete"]),
        (CLOSED, "submitter", ["rate"]),
        (REVOKED, "submitter", ["restart"]),
        (WFF, "auditor", []),
        (WFF, "other member", []),
    ],
)
def test_allowed_actions(status: Status, who: str, actions: list[str]) -> None:
    assert ticket_in(status).allowed_actions(ACTORS[who]) == actions
