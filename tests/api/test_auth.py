"""Identity: which tokens are accepted (CONTRACT.md §2.1)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import jwt
import pytest
from flask.testing import FlaskClient

from tests.api.conftest import SECRET

URL = "/api/v1/tickets/00000000-0000-0000-0000-000000000000"


def unsigned(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


FUTURE = int(time.time()) + 3600
BAD_TOKENS = {
    "alg none": unsigned({"sub": "alice", "exp": FUTURE}),
    "other key": jwt.encode(
        {"sub": "alice", "exp": FUTURE},
        "another-secret-that-is-long-enough-for-hs256-and-hs512-alike-0123456789",
        algorithm="HS256",
    ),
    "other algorithm": jwt.encode({"sub": "alice", "exp": FUTURE}, SECRET, algorithm="HS512"),
    "expired": jwt.encode(
        {"sub": "alice", "exp": int(time.time()) - 10}, SECRET, algorithm="HS256"
    ),
    "no exp": jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256"),
    "no sub": jwt.encode({"exp": FUTURE}, SECRET, algorithm="HS256"),
    "unknown role": jwt.encode(
        {"sub": "alice", "exp": FUTURE, "role": "root"}, SECRET, algorithm="HS256"
    ),
    "garbage": "not.a.token",
}


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_tokens_are_401(client: FlaskClient, token: str) -> None:
    response = client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer "])
def test_missing_tokens_are_401(client: FlaskClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    assert client.post("/api/v1/workspaces/w/tickets", json={}, headers=headers).status_code == 401


def test_role_defaults_to_user(client: FlaskClient) -> None:
    token = jwt.encode({"sub": "alice", "exp": FUTURE}, SECRET, algorithm="HS256")
    response = client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


@pytest.mark.parametrize("claim", ["exp", "nbf"])
def test_a_token_verified_once_is_still_refused_outside_its_times(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, claim: str
) -> None:
    now = time.time()
    claims = {"sub": "alice", "exp": int(now) + 60, "nbf": int(now) - 5}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(URL, headers=headers).status_code == 404, "valid now: verified"
    # the same token later (past exp) or earlier (before nbf): refused as on first sight
    moved = now + 120 if claim == "exp" else now - 60
    monkeypatch.setattr("api.auth.time.time", lambda: moved)
    monkeypatch.setattr("jwt.api_jwt.datetime", _frozen_at(moved))
    response = client.get(URL, headers=headers)
    assert response.status_code == 401
    expected = "expired" if claim == "exp" else "not yet valid"
    assert expected in response.get_json()["detail"]


def _frozen_at(moment: float) -> type:
    """``datetime`` for PyJWT whose ``now()`` is ``moment``."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Frozen:
            return cls.fromtimestamp(moment, UTC)

    return Frozen
