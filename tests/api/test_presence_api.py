"""Staff presence (CONTRACT.md §6.3): staff who may see a ticket say they have it open; the
answer names the others who do; users have no presence."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.api.conftest import ADMIN_ID, Auth


def test_staff_see_each_other_on_a_ticket_until_one_leaves(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    path = f"/api/v1/tickets/{alices_ticket['id']}/presence"
    first = client.post(path, json={"state": "viewing"}, headers=auth(ADMIN_ID, "admin"))
    assert first.status_code == 200
    assert first.get_json() == {"ticket_id": alices_ticket["id"], "present": []}
    second = client.post(path, json={"state": "replying"}, headers=auth("audit-1", "auditor"))
    assert second.get_json()["present"] == [
        {"account_id": ADMIN_ID, "name": ADMIN_ID.title(), "state": "viewing"}
    ]
    assert client.delete(path, headers=auth(ADMIN_ID, "admin")).status_code == 200
    again = client.post(path, json={"state": "viewing"}, headers=auth("audit-1", "auditor"))
    assert again.get_json()["present"] == []


def test_users_have_no_presence_and_others_do_not_find_the_ticket(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    path = f"/api/v1/tickets/{alices_ticket['id']}/presence"
    assert client.post(path, json={"state": "viewing"}, headers=auth("alice")).status_code == 403
    stranger = client.post(path, json={"state": "viewing"}, headers=auth("hank-2", "handler"))
    assert stranger.status_code == 404
    odd = client.post(path, json={"state": "dancing"}, headers=auth(ADMIN_ID, "admin"))
    assert odd.status_code == 422
