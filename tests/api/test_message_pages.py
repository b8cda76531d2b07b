"""Long conversations (CONTRACT.md §2.0): details carry the latest 100 messages and
``messages_total``; ``GET /tickets/{id}/messages`` pages through all of them, oldest first."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.api.conftest import ADMIN_ID, Auth


def test_details_carry_the_latest_hundred_and_pages_reach_every_message(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    path = f"/api/v1/tickets/{alices_ticket['id']}"
    for n in range(110):
        said = client.post(f"{path}/messages", json={"body": f"note {n}"}, headers=auth("alice"))
        assert said.status_code == 201
    details = client.get(path, headers=auth("alice")).get_json()
    assert details["messages_total"] == 111  # the acknowledgement first
    assert len(details["messages"]) == 100
    assert details["messages"][-1]["body"] == "note 109"
    assert details["messages"][0]["body"] == "note 10"
    bodies: list[str] = []
    cursor = None
    while True:
        query = "limit=40" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"{path}/messages?{query}", headers=auth("alice")).get_json()
        bodies += [message["body"] for message in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(bodies) == 111
    assert bodies[1:] == [f"note {n}" for n in range(110)]


def test_messages_are_for_those_who_see_the_ticket_and_cursors_are_checked(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    path = f"/api/v1/tickets/{alices_ticket['id']}/messages"
    assert client.get(path, headers=auth("mallory")).status_code == 404
    assert client.get(path, headers=auth(ADMIN_ID, "admin")).status_code == 200
    assert client.get(f"{path}?cursor=bm9wZQ", headers=auth("alice")).status_code == 422
    assert client.get(f"{path}?limit=101", headers=auth("alice")).status_code == 422
