"""Text and ids that no part of the service can store or show are refused at the boundary with
422 naming the field (CONTRACT.md §1), and no bad input is a 500 (§2)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import ADMIN_ID, SECRET, Auth, new_ticket

BAD_TEXT = {
    "NUL": "a\u0000b",
    "a control character": "a\u0007b",
    "an unpaired surrogate": "x\ud800",
    "a lone low surrogate": "\udc00x",
}
GOOD_TEXT = ["tab\tand\nnew line\r\n", "emoji 😀 and ü", "\u200b zero width", "x" * 200]


def problem(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"], response.get_json()


@pytest.mark.parametrize("bad", list(BAD_TEXT.values()), ids=list(BAD_TEXT))
@pytest.mark.parametrize("field", ["title", "description"])
def test_a_submission_with_text_no_one_can_store_is_422(
    client: FlaskClient, auth: Auth, member: Callable[..., str], field: str, bad: str
) -> None:
    ws = member("alice")
    body = {"type": "bug", "title": "t", "description": "d", field: bad}
    response = client.post(f"/api/v1/workspaces/{ws}/tickets", json=body, headers=auth("alice"))
    problem(response, 422, field)


@pytest.mark.parametrize("good", GOOD_TEXT)
def test_text_anyone_can_store_is_accepted_as_sent(
    client: FlaskClient, auth: Auth, member: Callable[..., str], good: str
) -> None:
    ws = member("alice")
    ticket = new_ticket(client, auth, "alice", ws, description=good)
    assert ticket["description"] == good.strip()


@pytest.mark.parametrize("bad", list(BAD_TEXT.values()), ids=list(BAD_TEXT))
def test_replies_ratings_and_handlers_refuse_it_too(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any], bad: str
) -> None:
    ticket = alices_ticket
    base = f"/api/v1/tickets/{ticket['id']}"
    problem(client.post(f"{base}/messages", json={"body": bad}, headers=auth("alice")), 422, "body")
    admin = auth(ADMIN_ID, "admin")
    client.post(f"{base}/accept", headers=admin)
    client.post(f"{base}/close", headers=auth("alice"))
    rated = client.post(f"{base}/rating", json={"score": 4, "comment": bad}, headers=auth("alice"))
    problem(rated, 422, "comment")
    handler = {"account_id": "h-ok", "name": bad, "roles": ["handler"]}
    problem(client.post("/api/v1/admin/handlers", json=handler, headers=admin), 422, "name")


@pytest.mark.parametrize(
    "account_id", ["a\u0000b", "has space", "", "x" * 129, "tab\there", "\ud800"]
)
def test_handler_ids_follow_the_id_rule(client: FlaskClient, auth: Auth, account_id: str) -> None:
    body = {"account_id": account_id, "name": "Olga", "roles": ["handler"]}
    response = client.post("/api/v1/admin/handlers", json=body, headers=auth(ADMIN_ID, "admin"))
    problem(response, 422, "account_id")


def test_forwarding_to_a_malformed_handler_id_is_422(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = alices_ticket
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/forward",
        json={"handler_id": "a\u0000b"},
        headers=auth(ADMIN_ID, "admin"),
    )
    problem(response, 422, "handler_id")


@pytest.mark.parametrize("workspace_id", ["a%00b", "has%20space", "x" * 129])
def test_a_malformed_workspace_id_in_the_path_is_422(
    client: FlaskClient, auth: Auth, workspace_id: str
) -> None:
    for method in ("GET", "POST"):
        response = client.open(
            f"/api/v1/workspaces/{workspace_id}/tickets",
            method=method,
            json={"type": "bug", "title": "t", "description": "d"},
            headers=auth("alice"),
        )
        problem(response, 422, "workspace_id")


@pytest.mark.parametrize("q", ["¹", "²³", "a%00", "%E2%80%AE"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/tickets",
        "/api/v1/workspaces/{ws}/tickets",
        "/api/v1/workspaces/{ws}/tickets/export?format=csv&",
        "/api/v1/handler/tickets",
        "/api/v1/admin/tickets",
    ],
)
def test_odd_search_text_is_never_a_500(
    client: FlaskClient, auth: Auth, member: Callable[..., str], q: str, path: str
) -> None:
    ws = member("alice", ADMIN_ID)
    url = path.format(ws=ws)
    url += ("" if url.endswith("&") else "?") + f"q={q}"
    response = client.get(url, headers=auth(ADMIN_ID, "admin"))
    if q == "a%00":
        problem(response, 422, "q")
    else:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_deeply_nested_json_is_400(client: FlaskClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/workspaces/ws-x/tickets",
        data=b"[" * 100_000,
        headers={**auth("alice"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"


def test_a_huge_number_is_422_not_500(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = alices_ticket
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/rating",
        data=b'{"score": ' + b"9" * 5000 + b"}",
        headers={**auth("alice"), "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "alice", "role": ["admin"]},
        {"sub": "alice", "role": {"admin": True}},
        {"sub": ["alice"]},
        {"sub": "alice", "name": ["Alice"]},
        {"sub": "al ice"},
        {"sub": "a\u0000b"},
        {"sub": "x" * 129},
        {"sub": "alice", "name": "A\u0000"},
        {"sub": "alice", "exp": "9999999999"},
        {"sub": "alice", "exp": True},
    ],
)
def test_tokens_whose_claims_have_other_types_are_401(
    client: FlaskClient, claims: dict[str, Any]
) -> None:
    token = jwt.encode({"exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")
    response = client.get("/api/v1/me/tickets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.get_json()
    assert response.content_type == "application/problem+json"


def test_unknown_query_parameters_are_422_naming_them(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("alice")
    response = client.get(f"/api/v1/workspaces/{ws}/tickets?stauts=closed", headers=auth("alice"))
    problem(response, 422, "stauts")


def test_every_api_operation_knows_its_documented_query_parameters(flask_app: Flask) -> None:
    from api.parsing import openapi_path

    documented = flask_app.extensions["query_parameters"]
    for rule in flask_app.url_map.iter_rules():
        documentation = ("/api/v1/docs", "/api/v1/openapi")
        if not rule.rule.startswith("/api/v1/") or rule.rule.startswith(documentation):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (openapi_path(rule.rule), method) in documented, (method, rule.rule)
