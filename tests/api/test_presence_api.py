"""Staff presence (CONTRACT.md §6.3): staff who may see a ticket say they have it open; the
answer names the others who do; users have no presence."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import psycopg
from flask.testing import FlaskClient

from projections.notifications import PRESENCE_CHANNEL
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


def test_presence_names_staff_as_the_roster_does(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    hank = f"hank-{uuid4().hex[:6]}"
    added = client.post(
        "/api/v1/admin/handlers",
        json={"account_id": hank, "name": "Hank Hill", "roles": ["handler"]},
        headers=auth(ADMIN_ID, "admin"),
    )
    assert added.status_code == 201
    forwarded = client.post(
        f"/api/v1/tickets/{alices_ticket['id']}/forward",
        json={"handler_id": hank},
        headers=auth(ADMIN_ID, "admin"),
    )
    assert forwarded.status_code == 200
    path = f"/api/v1/tickets/{alices_ticket['id']}/presence"
    assert (
        client.post(path, json={"state": "viewing"}, headers=auth(hank, "handler")).status_code
        == 200
    )
    seen = client.post(path, json={"state": "viewing"}, headers=auth("audit-2", "auditor"))
    assert seen.get_json()["present"] == [
        {"account_id": hank, "name": "Hank Hill", "state": "viewing"}
    ], "the roster's name, not the token's"


def test_seventy_staff_with_long_ids_on_one_ticket_are_told_of_each_other(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any], database_url: str
) -> None:
    """Their ids once overflowed PostgreSQL's 8,000-byte NOTIFY payload: a 500 for the 60th."""
    path = f"/api/v1/tickets/{alices_ticket['id']}/presence"
    staff = [f"auditor-{n:03d}-{'x' * 110}" for n in range(70)]
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {PRESENCE_CHANNEL}")
        for account in staff:
            answer = client.post(path, json={"state": "viewing"}, headers=auth(account, "auditor"))
            assert answer.status_code == 200, answer.get_json()
        assert len(answer.get_json()["present"]) == 69
        told = [json.loads(n.payload) for n in listener.notifies(timeout=2)]
    last = [payload for payload in told if payload["account_id"] == staff[-1]]
    assert len(last) >= 2  # in parts
    assert sorted(v for payload in last for v in payload["viewers"]) == sorted(staff[:-1])
