"""The inbox over HTTP (CONTRACT.md §6.3): the caller's own notifications, read marks and
preferences, and nobody else's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from application.tickets import TicketingApp
from tests.api.conftest import ADMIN_ID, Auth, new_ticket


def answered_tickets(
    client: FlaskClient, auth: Auth, member: Callable[..., str], account: str, count: int
) -> list[dict[str, Any]]:
    workspace = member(account)
    tickets = [new_ticket(client, auth, account, workspace) for _ in range(count)]
    for ticket in tickets:
        path = f"/api/v1/tickets/{ticket['id']}"
        assert client.post(f"{path}/accept", headers=auth(ADMIN_ID, "admin")).status_code == 200
        reply = {"body": f"About {ticket['title']}: try again"}
        answer = client.post(f"{path}/messages", json=reply, headers=auth(ADMIN_ID, "admin"))
        assert answer.status_code == 201
    return tickets


def test_a_handlers_answer_reaches_the_submitters_inbox_and_can_be_marked_read(
    client: FlaskClient, auth: Auth, member: Callable[..., str], derive: Callable[[], None]
) -> None:
    account = f"carol-{uuid4().hex[:6]}"
    [ticket] = answered_tickets(client, auth, member, account, 1)
    derive()
    page = client.get("/api/v1/me/notifications", headers=auth(account)).get_json()
    assert page["unread_count"] == 1
    [item] = page["items"]
    assert item["kind"] == "handler_replied"
    assert item["ticket_number"] == ticket["number"]
    assert item["url"] == f"/tickets/{ticket['id']}"
    assert item["summary"] == "About Crash: try again"
    assert item["read_at"] is None
    marked = client.post(
        "/api/v1/me/notifications/read",
        json={"notification_ids": [item["notification_id"]]},
        headers=auth(account),
    )
    assert marked.get_json() == {"unread_count": 0}
    unread = client.get("/api/v1/me/notifications?unread=true", headers=auth(account))
    assert unread.get_json()["items"] == []


def test_pages_go_newest_first_and_up_to_marks_the_older_ones(
    client: FlaskClient, auth: Auth, member: Callable[..., str], derive: Callable[[], None]
) -> None:
    account = f"dave-{uuid4().hex[:6]}"
    answered_tickets(client, auth, member, account, 3)
    derive()
    first = client.get("/api/v1/me/notifications?limit=2", headers=auth(account)).get_json()
    cursor = first["next_cursor"]
    second = client.get(
        f"/api/v1/me/notifications?limit=2&cursor={cursor}", headers=auth(account)
    ).get_json()
    assert second["next_cursor"] is None
    ids = [item["notification_id"] for item in first["items"] + second["items"]]
    assert len(set(ids)) == 3
    marked = client.post(
        "/api/v1/me/notifications/read", json={"up_to": ids[1]}, headers=auth(account)
    )
    assert marked.get_json() == {"unread_count": 1}


def test_nobody_reads_or_marks_another_accounts_notifications(
    client: FlaskClient, auth: Auth, member: Callable[..., str], derive: Callable[[], None]
) -> None:
    owner = f"erin-{uuid4().hex[:6]}"
    answered_tickets(client, auth, member, owner, 1)
    derive()
    [item] = client.get("/api/v1/me/notifications", headers=auth(owner)).get_json()["items"]
    other = auth(f"mallory-{uuid4().hex[:6]}")
    assert client.get("/api/v1/me/notifications", headers=other).get_json()["items"] == []
    body = {"notification_ids": [item["notification_id"]], "up_to": item["notification_id"]}
    assert client.post("/api/v1/me/notifications/read", json=body, headers=other).status_code == 200
    assert (
        client.get("/api/v1/me/notifications", headers=auth(owner)).get_json()["unread_count"] == 1
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [("cursor=bm90LWEtY3Vyc29y", "cursor"), ("limit=0", "limit"), ("unread=maybe", "unread")],
)
def test_a_bad_query_is_422_naming_the_field(
    client: FlaskClient, auth: Auth, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/me/notifications?{query}", headers=auth("alice"))
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_marking_nothing_is_422(client: FlaskClient, auth: Auth) -> None:
    response = client.post("/api/v1/me/notifications/read", json={}, headers=auth("alice"))
    assert response.status_code == 422


def test_preferences_start_all_on_and_keep_what_was_switched_off(
    client: FlaskClient, auth: Auth
) -> None:
    headers = auth(f"frank-{uuid4().hex[:6]}")
    kinds = client.get("/api/v1/me/notification-preferences", headers=headers).get_json()["kinds"]
    assert set(kinds.values()) == {True}
    assert len(kinds) == 9
    changed = client.put(
        "/api/v1/me/notification-preferences",
        json={"kinds": {"closing_soon": False}},
        headers=headers,
    ).get_json()["kinds"]
    assert changed == {**kinds, "closing_soon": False}
    again = client.get("/api/v1/me/notification-preferences", headers=headers).get_json()
    assert again["kinds"]["closing_soon"] is False
    unknown = client.put(
        "/api/v1/me/notification-preferences", json={"kinds": {"gossip": True}}, headers=headers
    )
    assert unknown.status_code == 422


def test_the_inbox_needs_a_token(client: FlaskClient, ticketing: TicketingApp) -> None:
    assert client.get("/api/v1/me/notifications").status_code == 401
