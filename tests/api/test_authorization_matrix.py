"""Who may do what through HTTP: each action x each kind of caller (CONTRACT.md §1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from application.tickets import TicketingApp
from domain.actors import Actor, Role
from tests.api.conftest import ADMIN_ID, Auth

# caller: (account, role); "member" shares the submitter's workspace, "outsider" does not
CALLERS = {
    "submitter": ("alice", "user"),
    "member": ("bob", "user"),
    "outsider": ("mallory", "user"),
    "assignee": ("hank", "handler"),
    "other handler": ("olga", "handler"),
    "admin": (ADMIN_ID, "admin"),
    "auditor": ("audrey", "auditor"),
}
VISIBLE = {"submitter", "member", "assignee", "admin", "auditor"}
SUBMITTER = {"submitter"}
STAFF = {"assignee", "admin"}

# action: (method, path suffix, body, status to prepare, who may, success status)
ACTIONS: dict[str, tuple[str, str, dict[str, Any] | None, str, set[str], int]] = {
    "details": ("GET", "", None, "new", VISIBLE, 200),
    "history": ("GET", "/history", None, "new", VISIBLE, 200),
    "reply": ("POST", "/messages", {"body": "hi"}, "accepted", SUBMITTER | STAFF, 201),
    "revoke": ("POST", "/revoke", None, "new", SUBMITTER, 200),
    "restart": ("POST", "/restart", None, "revoked", SUBMITTER, 200),
    "close": ("POST", "/close", None, "accepted", SUBMITTER, 200),
    "rate": ("POST", "/rating", {"score": 5}, "closed", SUBMITTER, 200),
    "accept": ("POST", "/accept", None, "new", STAFF, 200),
    "forward": ("POST", "/forward", {"handler_id": "olga"}, "new", STAFF, 200),
    "complete": ("POST", "/complete", None, "new", STAFF, 200),
}


@pytest.fixture
def prepare(ticketing: TicketingApp) -> Callable[[str], str]:
    """A ticket of alice's, assigned to hank, in the named state; returns its id."""
    roster = ticketing.handlers.roster().handlers
    admin = Actor(ADMIN_ID, Role.ADMIN)
    for handler in ("hank", "olga"):
        if handler not in roster:
            ticketing.handlers.register_handler(admin, handler, handler.title(), [])
    alice = Actor("alice", Role.USER, "Alice")

    def make(state: str) -> str:
        workspace_id = f"ws-{uuid4().hex[:8]}"
        for account in ("alice", "bob"):
            ticketing.platform.member_joined(workspace_id, account, str(uuid4()))
        ticketing.platform.member_joined(f"other-{workspace_id}", "mallory", str(uuid4()))
        ticket_id = str(
            ticketing.submit(
                alice, workspace_id, ticket_type="bug", title="t", description="d"
            ).ticket.id
        )
        ticketing.forward(admin, ticket_id, "hank")
        if state == "revoked":
            ticketing.revoke(alice, ticket_id)
        if state in ("accepted", "closed"):
            ticketing.accept(admin, ticket_id)
            ticketing.forward(admin, ticket_id, "hank")
        if state == "closed":
            ticketing.close(alice, ticket_id)
        return ticket_id

    return make


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", ACTIONS)
def test_authorization_matrix(
    client: FlaskClient, auth: Auth, prepare: Callable[[str], str], action: str, caller: str
) -> None:
    method, suffix, body, state, allowed, success = ACTIONS[action]
    ticket_id = prepare(state)
    account, role = CALLERS[caller]
    response = client.open(
        f"/api/v1/tickets/{ticket_id}{suffix}",
        method=method,
        json=body,
        headers=auth(account, role),
    )
    expected = success if caller in allowed else 403 if caller in VISIBLE else 404
    assert response.status_code == expected, response.get_json()
