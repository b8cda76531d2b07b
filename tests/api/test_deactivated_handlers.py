"""A deactivated handler (CONTRACT.md §1, new row): their commands are 403, their open tickets
go to the default assignee; the roster is where staff names come from."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from flask.testing import FlaskClient

from application.tokens import issue_token
from tests.api.conftest import ADMIN_ID, SECRET, Auth


def roster_handler(client: FlaskClient, auth: Auth, name: str) -> str:
    account = f"h-{uuid4().hex[:6]}"
    body = {"account_id": account, "name": name, "roles": ["handler"]}
    answer = client.post("/api/v1/admin/handlers", json=body, headers=auth(ADMIN_ID, "admin"))
    assert answer.status_code == 201, answer.get_json()
    return account


def test_a_deactivated_handlers_tickets_go_to_the_default_assignee_and_their_commands_stop(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any], projecting: None
) -> None:
    admin = auth(ADMIN_ID, "admin")
    h1 = roster_handler(client, auth, "Hana One")
    path = f"/api/v1/tickets/{alices_ticket['id']}"
    forwarded = client.post(f"{path}/forward", json={"handler_id": h1}, headers=admin)
    assert forwarded.status_code == 200
    assert client.post(f"{path}/accept", headers=auth(h1, "handler")).status_code == 200

    off = client.patch(f"/api/v1/admin/handlers/{h1}", json={"active": False}, headers=admin)
    assert off.status_code == 200
    ticket = client.get(path, headers=admin).get_json()
    assert ticket["assignee"]["account_id"] == ADMIN_ID
    last = client.get(f"{path}/history", headers=admin).get_json()[-1]
    assert (last["type"], last["actor"]["account_id"]) == ("TicketForwarded", "system")
    reply = client.post(f"{path}/messages", json={"body": "still me"}, headers=auth(h1, "handler"))
    assert reply.status_code in (403, 404)  # no longer theirs, and no longer allowed
    assert client.post(f"{path}/forward", json={"handler_id": h1}, headers=admin).status_code == 422


def test_a_deactivated_admin_on_the_roster_is_refused(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    admin = auth(ADMIN_ID, "admin")
    lead = f"lead-{uuid4().hex[:6]}"
    body = {"account_id": lead, "name": "Lee Lead", "roles": ["admin"], "active": False}
    assert client.post("/api/v1/admin/handlers", json=body, headers=admin).status_code == 201
    path = f"/api/v1/tickets/{alices_ticket['id']}"
    assert client.post(f"{path}/accept", headers=auth(lead, "admin")).status_code == 403


def test_accepting_keeps_the_roster_name_and_the_default_assignee_can_be_forwarded_to(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    h2 = roster_handler(client, auth, "Hugo Two")
    path = f"/api/v1/tickets/{alices_ticket['id']}"
    admin = auth(ADMIN_ID, "admin")
    assert client.post(f"{path}/forward", json={"handler_id": h2}, headers=admin).status_code == 200
    nameless = {"Authorization": f"Bearer {issue_token(SECRET, h2, 'handler', name='')}"}
    accepted = client.post(f"{path}/accept", headers=nameless).get_json()
    assert accepted["assignee"] == {"account_id": h2, "name": "Hugo Two"}
    back = client.post(f"{path}/forward", json={"handler_id": ADMIN_ID}, headers=nameless)
    assert back.status_code == 200, back.get_json()  # the default assignee is not on the roster
    assert back.get_json()["assignee"]["account_id"] == ADMIN_ID
