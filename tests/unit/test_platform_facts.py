"""Workspace membership, dissolution, account cancellation and the handler roster."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.errors import InvalidTransition, NotAllowed, ValidationFailed
from domain.handlers import HandlerRoster
from domain.platform import Account, Workspace
from tests.unit.builders import SUBMITTER, T0


def workspace() -> Workspace:
    return Workspace(workspace_id="w1", timestamp=T0)


def test_members_may_submit_and_others_may_not() -> None:
    ws = workspace()
    with pytest.raises(NotAllowed):
        ws.check_can_submit(SUBMITTER)
    ws.join("alice", "e1", at=T0)
    ws.check_can_submit(SUBMITTER)
    ws.leave("alice", "e2", at=T0)
    assert not ws.is_member("alice")


def test_a_dissolved_workspace_never_comes_back() -> None:
    ws = workspace()
    ws.join("alice", "e1", at=T0)
    ws.dissolve("e2", at=T0)
    ws.join("alice", "e3", at=T0)
    assert not ws.is_member("alice")
    assert ws.dissolved


def test_the_state_does_not_grow_with_the_platforms_messages() -> None:
    ws = workspace()
    for n in range(100):
        ws.join("alice", f"e{n}", at=T0)
        ws.leave("alice", f"f{n}", at=T0)
    assert ws.__dict__.keys() == workspace().__dict__.keys()
    assert ws.members == {}


def test_tickets_filed_by_older_versions_still_replay_and_change_nothing() -> None:
    ws = workspace()
    ws._record_ticket_filed(ticket_id=str(uuid4()), timestamp=T0)
    assert ws.__dict__.keys() == workspace().__dict__.keys()


def test_ids_are_stable_per_platform_id() -> None:
    assert Workspace.create_id("w1") == workspace().id
    assert Account.create_id("w1") != Workspace.create_id("w1")


def test_a_cancellation_is_kept_by_the_account() -> None:
    # what it stops (submissions) is the account's gate, closed in the same transaction:
    # tests/unit/test_ticket_use_cases.py and the races in tests/integration/test_concurrency.py
    account = Account(account_id="alice", timestamp=T0)
    assert not account.cancelled
    account.cancel("e1", at=T0)
    assert account.cancelled


def test_roster_register_and_deactivate() -> None:
    roster = HandlerRoster(timestamp=T0)
    roster.register("olga", " Olga ", ["billing", "billing", "tech"], True, at=T0)
    assert roster.active_handler("olga") == {"account_id": "olga", "name": "Olga"}
    assert roster.handlers["olga"]["roles"] == ["billing", "tech"]
    roster.update("olga", {"active": False}, at=T0)
    assert roster.active_handler("olga") is None
    assert roster.active_handler("nobody") is None


def test_roster_refusals() -> None:
    roster = HandlerRoster(timestamp=T0)
    roster.register("olga", "Olga", [], True, at=T0)
    with pytest.raises(InvalidTransition):
        roster.register("olga", "Olga", [], True, at=T0)
    with pytest.raises(ValidationFailed):
        roster.register("", "", "tech", "yes", at=T0)
    with pytest.raises(ValidationFailed):
        roster.update("olga", {"colour": "red"}, at=T0)
    with pytest.raises(KeyError):
        roster.update("nobody", {"active": True}, at=T0)
