"""Idempotency-Key on submit and reply: durable, atomic with the command, race-safe."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from application.gates import WORKSPACE
from application.records import Gate
from application.tickets import TicketingApp
from tests.api.conftest import Auth

BODY = {"type": "bug", "title": "Crash", "description": "It crashes"}


def test_a_retried_submission_returns_the_first_response(
    client: FlaskClient, auth: Auth, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    headers = auth("alice", **{"Idempotency-Key": "submit-1"})
    first = client.post(url, json=BODY, headers=headers)
    again = client.post(url, json=BODY, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["X-Ticketing-Position"] == first.headers["X-Ticketing-Position"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(ticketing.store.ledger.tickets_owned(Gate(WORKSPACE, ws))) == 1


def test_the_same_key_with_another_body_is_422(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    headers = auth("alice", **{"Idempotency-Key": "k"})
    assert client.post(url, json=BODY, headers=headers).status_code == 201
    other = client.post(url, json={**BODY, "title": "Other"}, headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.get_json()["errors"]


def test_keys_belong_to_one_account(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice", "bob")
    url = f"/api/v1/workspaces/{ws}/tickets"
    a = client.post(url, json=BODY, headers=auth("alice", **{"Idempotency-Key": "shared"}))
    b = client.post(url, json=BODY, headers=auth("bob", **{"Idempotency-Key": "shared"}))
    assert a.get_json()["id"] != b.get_json()["id"]


def test_a_retried_reply_records_one_message(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = alices_ticket
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    headers = auth("alice", **{"Idempotency-Key": "reply-1"})
    first = client.post(url, json={"body": "more"}, headers=headers)
    again = client.post(url, json={"body": "more"}, headers=headers)
    assert again.get_json() == first.get_json()
    details = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth("alice")).get_json()
    assert [m["body"] for m in details["messages"]].count("more") == 1


def test_a_refused_request_stores_no_key(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    headers = auth("alice", **{"Idempotency-Key": "after-fix"})
    assert client.post(url, json={**BODY, "title": ""}, headers=headers).status_code == 422
    assert client.post(url, json={**BODY, "title": ""}, headers=headers).status_code == 422
    fixed = client.post(url, json={**BODY, "title": "Fixed"}, headers=headers)
    assert fixed.status_code == 201


def test_concurrent_requests_with_one_key_record_one_ticket(
    flask_app: Flask, auth: Auth, member: Callable[..., str], ticketing: TicketingApp
) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    headers = auth("alice", **{"Idempotency-Key": "race"})
    barrier = threading.Barrier(6)

    def post(_: int) -> tuple[int, str]:
        client = flask_app.test_client()
        barrier.wait(timeout=10)
        response = client.post(url, json=BODY, headers=headers)
        return response.status_code, response.get_json()["id"]

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(post, range(6), timeout=60))
    assert {status for status, _ in results} == {201}
    assert len({ticket_id for _, ticket_id in results}) == 1
    assert len(ticketing.store.ledger.tickets_owned(Gate(WORKSPACE, ws))) == 1


def test_bad_keys_are_400(client: FlaskClient, auth: Auth, member: Callable[..., str]) -> None:
    ws = member("alice")
    url = f"/api/v1/workspaces/{ws}/tickets"
    for key in ["", "x" * 256, "tab\there"]:
        assert (
            client.post(
                url, json=BODY, headers=auth("alice", **{"Idempotency-Key": key})
            ).status_code
            == 400
        )
