"""E-mail verification and Unbind MFA through HTTP."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from flask.testing import FlaskClient

from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from tests.api.conftest import Auth


def test_verification_flow_over_http(
    client: FlaskClient, auth: Auth, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    alice = f"alice-{uuid4().hex[:6]}"
    ws = member(alice)
    created = client.post(
        "/api/v1/email-verifications", json={"email": "alice@example.com"}, headers=auth(alice)
    )
    assert created.status_code == 202
    body = created.get_json()
    assert set(body) == {"verification_id", "expires_at"}
    [message] = [
        m
        for m in WorkerPlumbing(ticketing.store).outbox_batch(1000)
        if m.payload["data"]["verification_id"] == body["verification_id"]
    ]
    code = message.payload["data"]["code"]

    submitted = client.post(
        f"/api/v1/workspaces/{ws}/tickets",
        json={"type": "unbind_mfa", "title": "Lost my phone", "description": "Please unbind",
              "verification": {"verification_id": body["verification_id"], "code": code}},
        headers=auth(alice),
    )  # fmt: skip
    assert submitted.status_code == 201, submitted.get_json()
    assert submitted.get_json()["verified_email"] == "alice@example.com"


def test_verification_refusals(client: FlaskClient, auth: Auth) -> None:
    bob = f"bob-{uuid4().hex[:6]}"
    assert (
        client.post(
            "/api/v1/email-verifications", json={"email": "nope"}, headers=auth(bob)
        ).status_code
        == 422
    )
    assert client.post("/api/v1/email-verifications", json={}, headers=auth(bob)).status_code == 422
    assert client.post("/api/v1/email-verifications", json={"email": "a@b.cd"}).status_code == 401
    auditor = client.post(
        "/api/v1/email-verifications", json={"email": "a@b.cd"}, headers=auth("aud", "auditor")
    )
    assert auditor.status_code == 403
    for _ in range(5):
        assert (
            client.post(
                "/api/v1/email-verifications", json={"email": "b@example.com"}, headers=auth(bob)
            ).status_code
            == 202
        )
    limited = client.post(
        "/api/v1/email-verifications", json={"email": "b@example.com"}, headers=auth(bob)
    )
    assert limited.status_code == 429
    assert limited.content_type == "application/problem+json"
    assert 0 < int(limited.headers["Retry-After"]) <= 600


def test_unbind_mfa_with_a_wrong_code_is_422(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    carol = f"carol-{uuid4().hex[:6]}"
    ws = member(carol)
    verification_id = client.post(
        "/api/v1/email-verifications", json={"email": "c@example.com"}, headers=auth(carol)
    ).get_json()["verification_id"]
    response = client.post(
        f"/api/v1/workspaces/{ws}/tickets",
        json={"type": "unbind_mfa", "title": "t", "description": "d",
              "verification": {"verification_id": verification_id, "code": "not-it"}},
        headers=auth(carol),
    )  # fmt: skip
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"verification": ["wrong code"]}
