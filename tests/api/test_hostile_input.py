"""No input may produce a 500: hostile bodies against every endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import ADMIN_ID, Auth, new_ticket

HOSTILE_JSON: list[object] = [
    None,
    [],
    "string",
    12,
    {"type": 5, "title": ["x"], "description": {"a": 1}},
    {"body": None, "automatic": "yes", "attachment_ids": "nope"},
    {"score": "5", "comment": 9},
    {"score": 10**40},
    {"handler_id": {"$ne": 1}},
    {"title": "x" * 300_000},
    {"a": {"b": {"c": {"d": [[[[[]]]]]}}}},
    {"verification": "code"},
    {"account_id": 1, "roles": [None], "active": "true"},
]
HOSTILE_RAW: list[bytes] = [b"\xff\xfe\xfd", b'{"title": "\xc3\x28"}', b"{" * 5000, b"", b"null"]


def routes(flask_app: Flask) -> list[tuple[str, str]]:
    """Every (method, path) of the API with sample ids filled in."""
    found = []
    for rule in flask_app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            path = rule.rule.replace("<workspace_id>", "{ws}").replace("<ticket_id>", "{ticket}")
            path = path.replace("<account_id>", "someone")
            found.append((method, path))
    return found


@pytest.mark.parametrize("role", ["user", "admin"])
def test_no_hostile_body_causes_a_500(
    flask_app: Flask, client: FlaskClient, auth: Auth, member: Callable[..., str], role: str
) -> None:
    ws = member("alice")
    ticket = new_ticket(client, auth, "alice", ws)
    headers = auth("alice" if role == "user" else ADMIN_ID, role)
    checked = 0
    for method, template in routes(flask_app):
        if "<" in template or template == "/readyz":  # readiness reads no body, may be 503
            continue
        path = template.format(ws=ws, ticket=ticket["id"])
        for body in HOSTILE_JSON:
            response = client.open(path, method=method, json=body, headers=headers)
            assert response.status_code < 500, (method, path, body, response.get_json())
            checked += 1
        for raw in HOSTILE_RAW:
            response = client.open(
                path,
                method=method,
                data=raw,
                headers={**headers, "Content-Type": "application/json"},
            )
            assert response.status_code < 500, (method, path, raw)
            checked += 1
    assert checked > 200


@pytest.mark.parametrize(
    "query",
    ["version=abc", "version=-1", "as_of=yesterday", "as_of=2026-01-01T00:00:00", "version=1.5"],
)
def test_bad_queries_are_4xx(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any], query: str
) -> None:
    ticket = alices_ticket
    response = client.get(
        f"/api/v1/tickets/{ticket['id']}?{query}", headers=auth(ADMIN_ID, "admin")
    )
    assert response.status_code in (404, 422)
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("if_match", ['"abc"', '"1"', '"99999999999999999999999"'])
def test_if_match_is_judged_after_who_may_do_what_with_which_input(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any], if_match: str
) -> None:
    url = f"/api/v1/tickets/{alices_ticket['id']}"
    hidden = client.post(f"{url}/revoke", headers=auth("mallory", **{"If-Match": if_match}))
    assert hidden.status_code == 404
    forbidden = client.post(f"{url}/accept", headers=auth("alice", **{"If-Match": if_match}))
    assert forbidden.status_code == 403
    empty = client.post(
        f"{url}/messages", json={"body": "  "}, headers=auth("alice", **{"If-Match": if_match})
    )
    assert empty.status_code == 422
    stale = client.post(f"{url}/revoke", headers=auth("alice", **{"If-Match": if_match}))
    assert stale.status_code == 412
    assert client.get(url, headers=auth("alice")).get_json()["status"] != "revoked"


@pytest.mark.parametrize("if_match", ['"abc"', "W/", '"-3"', "1, 2"])
def test_bad_if_match_is_412(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any], if_match: str
) -> None:
    ticket = alices_ticket
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/revoke", headers=auth("alice", **{"If-Match": if_match})
    )
    assert response.status_code == 412


# What the libraries parse of a request with patterns of their own (werkzeug's headers, the
# router, marshmallow's dates): each gets the largest a client can send (gunicorn takes header
# lines up to 8,190 bytes) and must answer at once.
LONG = 8_000
HEADERS_AND_QUERIES: list[tuple[str, dict[str, str]]] = [
    ("?as_of=2026-" + "1" * LONG, {}),
    ("?as_of=" + "2026-12-08T10:00:00" + "0" * LONG + "Z", {}),
    ("", {"Accept": "a/b;q=0.5," * (LONG // 10)}),
    ("", {"Accept-Language": "en;q=0." + "9" * LONG}),
    ("", {"If-None-Match": '"x",' * (LONG // 4)}),
    ("", {"If-Match": "W/" * (LONG // 2)}),
    ("", {"Range": "bytes=" + "0-1," * (LONG // 4)}),
    ("", {"Cookie": "a=" + ";" * LONG}),
    ("", {"Content-Type": "application/json; charset=" + "x" * LONG}),
    ("", {"Forwarded": "for=" + "," * LONG}),
]


@pytest.mark.parametrize(("query", "headers"), HEADERS_AND_QUERIES)
def test_library_parsers_answer_hostile_headers_and_dates_at_once(
    client: FlaskClient,
    auth: Auth,
    alices_ticket: dict[str, Any],
    query: str,
    headers: dict[str, str],
) -> None:
    for path in (f"/api/v1/tickets/{alices_ticket['id']}", "/api/v1/me/tickets"):
        started = time.perf_counter()
        answer = client.get(path + query, headers=auth(ADMIN_ID, "admin", **headers))
        assert time.perf_counter() - started < 0.5, (path, query[:20], list(headers))
        assert answer.status_code < 500, answer.get_json()
