"""What answers reveal, and tokens that should not pass (CONTRACT.md §2.0; issue 23)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from application.config import Settings
from application.tickets import TicketingApp
from tests.api.conftest import ADMIN_ID, SECRET, Auth
from workers.platform_messages import PlatformEvent, parse

NOW = int(time.time())


def token(**claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}


def test_every_answer_is_neither_sniffed_nor_kept(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    answers = [
        client.get("/api/v1/me", headers=auth("alice")),
        client.get(f"/api/v1/tickets/{alices_ticket['id']}", headers=auth("alice")),
        client.get("/api/v1/tickets/00000000-0000-0000-0000-000000000000", headers=auth("bo")),
        client.post(f"/api/v1/tickets/{alices_ticket['id']}/close", headers=auth("alice")),
        client.get("/api/v1/openapi.json"),
        client.get("/healthz"),
    ]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.request.path
        assert answer.headers["Cache-Control"] == "no-store", answer.request.path
    docs = client.get("/api/v1/docs")
    assert docs.headers["X-Content-Type-Options"] == "nosniff"
    assert docs.headers["Referrer-Policy"] == "no-referrer"


def test_metrics_are_for_admins_and_auditors_or_the_metrics_port(
    client: FlaskClient, auth: Auth, ticketing: TicketingApp, api_settings: Settings
) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth("alice")).status_code == 403
    assert client.get("/metrics", headers=auth("hank", "handler")).status_code == 403
    assert client.get("/metrics", headers=auth(ADMIN_ID, "admin")).status_code == 200
    assert client.get("/metrics", headers=auth("audrey", "auditor")).status_code == 200
    settings = Settings(**{**vars(api_settings), "metrics_bind": "127.0.0.1:9464"})
    scraped: Flask = create_app({"SETTINGS": settings, "TICKETING_APP": ticketing})
    on_port = scraped.test_client().get("/metrics", environ_overrides={"SERVER_PORT": "9464"})
    assert on_port.status_code == 200
    elsewhere = scraped.test_client().get("/metrics", environ_overrides={"SERVER_PORT": "80"})
    assert elsewhere.status_code == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "x\u202eadmin", "exp": NOW + 600},  # shown as "xnimda"
        {"sub": "al\u200bice", "exp": NOW + 600},  # a zero-width space
        {"sub": "alice", "exp": 10**20},  # never expires
        {"sub": "alice", "iat": NOW, "exp": NOW + 25 * 3600},
        {"sub": "alice", "exp": NOW + 25 * 3600},  # no iat: from now
    ],
    ids=["right-to-left override", "zero-width space", "exp 10^20", "25 h after iat", "25 h"],
)
def test_tokens_with_format_characters_or_too_long_a_life_are_refused(
    client: FlaskClient, claims: dict[str, Any]
) -> None:
    answer = client.get("/api/v1/me", headers=token(**claims))
    assert answer.status_code == 401, answer.get_json()


def test_a_token_of_up_to_a_day_is_accepted(client: FlaskClient) -> None:
    day = token(sub="alice", iat=NOW, exp=NOW + 24 * 3600)
    assert client.get("/api/v1/me", headers=day).status_code == 200


def test_an_id_with_a_format_character_is_refused_in_a_path(
    client: FlaskClient, auth: Auth
) -> None:
    answer = client.get("/api/v1/workspaces/ws\u202e1/tickets", headers=auth("alice"))
    assert answer.status_code == 422


def test_a_csv_cell_cannot_be_split_into_a_formula(
    client: FlaskClient, auth: Auth, member: Callable[..., str], projecting: None
) -> None:
    ws = member("mallory")
    title = "a;=cmd|' /C calc'!A0;b,@SUM(1)\t+1"
    body = {"type": "bug", "title": title, "description": "d"}
    submitted = client.post(f"/api/v1/workspaces/{ws}/tickets", json=body, headers=auth("mallory"))
    assert submitted.status_code == 201
    waited = auth("mallory", **{"X-Ticketing-Position": submitted.headers["X-Ticketing-Position"]})
    text = client.get(
        f"/api/v1/workspaces/{ws}/tickets/export?format=csv", headers=waited
    ).get_data(as_text=True)
    header, row = text.splitlines()[:2]
    assert header.startswith('"Number","Title"')  # every field quoted
    assert row.startswith('"')
    [cells] = [line for line in csv.DictReader(io.StringIO(text))]
    assert cells["Title"] == "a;'=cmd|' /C calc'!A0;b,'@SUM(1)\t'+1"
    for separator in (",", ";", "\t"):
        for fragment in cells["Title"].split(separator):
            assert not fragment.startswith(("=", "+", "-", "@")), (separator, fragment)


def test_an_event_id_is_one_whatever_its_case_or_dashes() -> None:
    event_id = "5F0C2B7E-9A8D-4C1F-8E2A-1B2C3D4E5F60"
    types: dict[str, tuple[str, ...]] = {"MemberJoined": ("workspace_id", "account_id")}
    forms = (event_id, event_id.lower(), event_id.replace("-", ""), "{" + event_id + "}")

    def message(form: str) -> bytes:
        data = {"workspace_id": "w", "account_id": "a"}
        body = {"event_id": form, "type": "MemberJoined", "occurred_at": "2026-01-05T09:00:00Z"}
        return json.dumps({**body, "data": data}).encode()

    parsed = [parse(message(form), types) for form in forms]
    assert all(isinstance(each, PlatformEvent) for each in parsed)
    assert {each.event_id for each in parsed if isinstance(each, PlatformEvent)} == {
        event_id.lower()
    }
