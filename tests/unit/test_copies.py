"""Aggregates' cheap copies (``domain.copying``): a command run on a copy leaves the original
exactly as it was, and the other way round, on random command sequences."""

from __future__ import annotations

import contextlib
import copy
import json
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.errors import DomainError
from domain.handlers import HandlerRoster
from domain.platform import Account, Workspace
from domain.status import CloseReason
from domain.ticket import Ticket
from tests.unit.builders import (
    ADMIN,
    ASSIGNEE,
    OTHER_HANDLER,
    SUBMITTER,
    T0,
    attachment,
    new_ticket,
)

Step = Callable[[Any, Any], object]
HANK, DAY = {"account_id": "hank", "name": "Hank"}, timedelta(hours=24)
TICKET_STEPS: list[Step] = [
    lambda t, at: t.reply(SUBMITTER, "more detail", attachments=[attachment(3)], at=at),
    lambda t, at: t.reply(ASSIGNEE, "which version?", at=at),
    lambda t, at: t.reply(ADMIN, "looking", automatic=True, at=at),
    lambda t, at: t.accept(ASSIGNEE, at=at),
    lambda t, at: t.forward(ADMIN, {"account_id": OTHER_HANDLER.account_id, "name": "O"}, at=at),
    lambda t, at: t.revoke(SUBMITTER, at=at),
    lambda t, at: t.restart(
        SUBMITTER, assignee={"account_id": "hank"}, account_cancelled=False, at=at
    ),
    lambda t, at: t.close(SUBMITTER, at=at),
    lambda t, at: t.complete(ADMIN, at=at),
    lambda t, at: t.rate(SUBMITTER, 4, "fine", at=at),
    lambda t, at: t.record_sla_breaches(["first_response"], at=at),
    lambda t, at: t.remind_of_closing(
        now=at + timedelta(hours=200), lead=timedelta(hours=24), text="soon"
    ),
    lambda t, at: t.close_by_platform(CloseReason.WORKSPACE_DISSOLVED, at=at),
]
WORKSPACE_STEPS: list[Step] = [
    lambda w, at: w.join(f"acct-{at.second}", "e", at=at),
    lambda w, at: w.leave("acct-1", "e", at=at),
    lambda w, at: w.dissolve("e", at=at),
]
ROSTER_STEPS: list[Step] = [
    lambda r, at: r.register(f"h{at.second}", "Hal", ["handler"], True, at=at),
    lambda r, at: r.update("h1", {"name": "Renamed", "active": False}, at=at),
]


def state(aggregate: Any) -> str:
    """Everything the aggregate holds, nested values included."""
    return json.dumps(vars(aggregate), default=repr, sort_keys=True)


def run(aggregate: Any, steps: list[Step], rng: random.Random, count: int) -> None:
    for n in range(count):
        with contextlib.suppress(DomainError, KeyError):  # refused: nothing recorded
            rng.choice(steps)(aggregate, T0 + timedelta(seconds=n + 1))


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(
    ("make", "steps"),
    [
        (new_ticket, TICKET_STEPS),
        (lambda: Workspace(workspace_id="w", timestamp=T0), WORKSPACE_STEPS),
        (lambda: HandlerRoster(timestamp=T0), ROSTER_STEPS),
    ],
    ids=["ticket", "workspace", "roster"],
)
def test_a_copy_and_its_original_never_share_a_change(
    seed: int, make: Callable[[], Any], steps: list[Step]
) -> None:
    rng = random.Random(seed)
    original = make()
    run(original, steps, rng, rng.randrange(0, 8))
    before = state(original)
    copied = copy.deepcopy(original)
    assert state(copied) == before
    run(copied, steps, rng, 6)
    assert state(original) == before, "the original kept its state"
    after = state(copied)
    run(original, steps, rng, 6)
    assert state(copied) == after, "the copy kept its state"


def test_an_account_copies_too() -> None:
    account = Account(account_id="a", timestamp=T0)
    copied = copy.deepcopy(account)
    copied.cancel("e", at=T0)
    assert (account.cancelled, copied.cancelled) == (False, True)
    assert isinstance(copy.deepcopy(new_ticket()), Ticket)
