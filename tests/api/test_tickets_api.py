"""The ticket endpoints through HTTP: shapes, headers, status codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from api.app import create_app
from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from tests.api.conftest import ADMIN_ID, Auth, new_ticket


def test_ticket_types_need_no_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/ticket-types")
    assert response.status_code == 200
    types = response.get_json()
    assert len(types) == 8
    assert types[1] == {
        "code": "change_owner",
        "name": "Change Owner Account",
        "requires_verified_email": False,
        "requires_attachment": True,
    }


def test_submit_returns_the_ticket_with_headers(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice")
    response = client.post(
        f"/api/v1/workspaces/{ws}/tickets",
        json={"type": "usage", "title": "  How?  ", "description": "Explain"},
        headers=auth("alice"),
    )
    assert response.status_code == 201
    ticket = response.get_json()
    assert ticket["status"] == "waiting_for_assignment"
    assert ticket["queue_state"] == "pending"
    assert ticket["title"] == "How?"
    assert ticket["submitter"] == {"account_id": "alice", "name": "Alice"}
    assert ticket["assignee"]["account_id"] == ADMIN_ID
    assert ticket["messages"][0]["automatic"] is True
    assert ticket["allowed_actions"] == ["reply", "revoke"]
    assert ticket["closed_at"] is None
    assert ticket["rating"] is None
    assert response.headers["ETag"] == f'"{ticket["version"]}"'
    assert int(response.headers["X-Ticketing-Position"]) > 0
    assert ticket["submitted_at"].endswith("+00:00")


def test_conversation_to_rating(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = alices_ticket
    base = f"/api/v1/tickets/{ticket['id']}"
    admin = auth(ADMIN_ID, "admin")

    assert (
        client.post(f"{base}/accept", headers=admin).get_json()["status"] == "waiting_for_feedback"
    )
    message = client.post(f"{base}/messages", json={"body": "Try again"}, headers=admin)
    assert message.status_code == 201
    assert message.get_json()["author"] == {
        "account_id": ADMIN_ID,
        "name": "Api-Root",
        "role": "admin",
    }
    assert client.get(base, headers=auth("alice")).get_json()["status"] == "feedback_provided"
    closed = client.post(f"{base}/close", headers=auth("alice"))
    assert closed.get_json()["close_reason"] == "submitter"
    rated = client.post(f"{base}/rating", json={"score": 4, "comment": "ok"}, headers=auth("alice"))
    assert rated.status_code == 200
    assert rated.get_json()["rating"]["score"] == 4

    history = client.get(f"{base}/history", headers=auth("alice")).get_json()
    assert [e["type"] for e in history][-3:] == ["HandlerReplied", "TicketClosed", "TicketRated"]
    assert history[0]["data"]["title"] == "Crash"


def test_if_match(client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]) -> None:
    ticket = alices_ticket
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    stale = client.post(url, json={"body": "x"}, headers=auth("alice", **{"If-Match": '"1"'}))
    assert stale.status_code == 412
    assert stale.content_type == "application/problem+json"
    fresh = client.post(
        url, json={"body": "x"}, headers=auth("alice", **{"If-Match": f'"{ticket["version"]}"'})
    )
    assert fresh.status_code == 201
    assert fresh.headers["ETag"] == f'"{ticket["version"] + 1}"'


def test_status_codes(client: FlaskClient, auth: Auth, member: Callable[..., str]) -> None:
    ws = member("alice", "bob")
    other_ws = member("mallory")
    ticket = new_ticket(client, auth, "alice", ws)
    base = f"/api/v1/tickets/{ticket['id']}"

    assert client.post(f"{base}/revoke", headers=auth("bob")).status_code == 403
    assert client.post(f"{base}/revoke", headers=auth("mallory")).status_code == 404
    assert client.post(f"{base}/close", headers=auth("alice")).status_code == 409
    assert (
        client.post(
            f"/api/v1/workspaces/{other_ws}/tickets",
            json={"type": "bug", "title": "t", "description": "d"},
            headers=auth("alice"),
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/tickets/{uuid4()}", headers=auth("alice")).status_code == 404
    assert client.get(f"{base}?version=1", headers=auth("alice")).status_code == 403
    assert (
        client.get(f"{base}?version=1", headers=auth("auditor-1", "auditor")).get_json()["version"]
        == 1
    )
    assert (
        client.post(
            f"{base}/forward", json={"handler_id": "ghost"}, headers=auth(ADMIN_ID, "admin")
        ).status_code
        == 422
    )


def test_validation_errors_name_the_fields(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    response = client.post(
        url, json={"type": "nope", "title": " ", "description": "d"}, headers=auth("alice")
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert set(problem["errors"]) == {"type", "title"}
    assert {"type", "title", "status", "detail"} <= set(problem)
    unknown = client.post(
        url,
        json={"type": "bug", "title": "t", "description": "d", "extra": 1},
        headers=auth("alice"),
    )
    assert unknown.status_code == 422
    assert "extra" in unknown.get_json()["errors"]
    missing = client.post(url, json={}, headers=auth("alice"))
    assert set(missing.get_json()["errors"]) == {"type", "title", "description"}


def test_framework_errors_are_problems(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    malformed = client.post(
        url, data=b"{not json", headers=auth("alice", **{"Content-Type": "application/json"})
    )
    assert malformed.status_code == 400
    assert malformed.content_type == "application/problem+json"
    assert client.get("/api/v1/nowhere", headers=auth("alice")).status_code == 404
    assert client.delete("/api/v1/ticket-types").status_code == 405
    huge = client.post(
        url,
        data=b"x" * (2 * 1024 * 1024),
        headers=auth("alice", **{"Content-Type": "application/json"}),
    )
    assert huge.status_code == 413
    for response in (huge, client.get("/api/v1/nowhere", headers=auth("alice"))):
        assert response.content_type == "application/problem+json"


def test_details_carry_the_sla(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = alices_ticket
    sla = ticket["sla"]
    assert set(sla) == {
        "first_response_due_at",
        "first_responded_at",
        "resolution_due_at",
        "breached",
    }
    assert sla["first_responded_at"] is None
    assert sla["first_response_due_at"] > ticket["submitted_at"]
    assert sla["resolution_due_at"] > sla["first_response_due_at"]
    assert sla["breached"] == []


def test_a_past_state_shows_its_sla_as_it_stood_then(
    api_settings: Settings, auth: Auth, member: Callable[..., str]
) -> None:
    clock = SettableClock(datetime(2026, 1, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai")))  # a Monday
    app = build_app(api_settings, clock=clock)
    try:
        client = create_app({"SETTINGS": api_settings, "TICKETING_APP": app}).test_client()
        ws = member("alice")
        ticket = new_ticket(client, auth, "alice", ws)
        clock.advance(timedelta(hours=5))  # past the 4 service hours for a first response
        url = f"/api/v1/tickets/{ticket['id']}"
        admin = auth(ADMIN_ID, "admin")
        assert client.get(url, headers=admin).get_json()["sla"]["breached"] == ["first_response"]
        then = client.get(f"{url}?version={ticket['version']}", headers=admin).get_json()
        assert then["sla"]["breached"] == []
    finally:
        app.store.close()
