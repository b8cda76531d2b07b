"""Fixtures for API tests: Flask's test client on the real database, and token minting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from application.bootstrap import build_app
from application.clock import SystemClock
from application.config import Settings
from application.database import eventsourcing_env
from application.tickets import TicketingApp
from application.tokens import issue_token
from projections.notifications import NotificationFollower
from projections.view import TicketingEventLog
from tests.api.conformance import ConformingClient

SECRET = "test-secret-long-enough-for-every-hmac-algorithm-0123456789abcdef"
ADMIN_ID = "api-root"

Auth = Callable[..., dict[str, str]]


def auditor_headers() -> dict[str, str]:
    """What a metrics scraper sends (CONTRACT.md §2.0: /metrics for admins and auditors)."""
    return {"Authorization": f"Bearer {issue_token(SECRET, 'metrics-reader', 'auditor')}"}


@pytest.fixture
def api_settings(database_url: str, broker: str) -> Settings:
    return Settings(
        database_url=database_url,
        default_assignee=ADMIN_ID,
        jwt_secret=SECRET,
        kafka_bootstrap=broker,
        # the users of these tests submit and reply far more than a person would; the limits
        # have tests of their own (test_limits.py)
        limit_submissions_per_minute=0,
        limit_messages_per_minute=0,
        limit_upload_mib_per_hour=0,
        limit_exports_per_minute=0,
    )


@pytest.fixture
def ticketing(api_settings: Settings) -> Iterator[TicketingApp]:
    app = build_app(api_settings, clock=SystemClock())  # lists order by real submission times
    yield app
    app.store.close()


@pytest.fixture
def flask_app(ticketing: TicketingApp, api_settings: Settings) -> Flask:
    app = create_app({"SETTINGS": api_settings, "TICKETING_APP": ticketing, "TESTING": True})
    app.test_client_class = ConformingClient  # every answer is checked against the document
    return app


@pytest.fixture
def client(flask_app: Flask) -> FlaskClient:
    return flask_app.test_client()


@pytest.fixture
def auth() -> Auth:
    """``auth("alice")`` → headers with a bearer token for that account (role user)."""

    def headers(sub: str, role: str = "user", **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {issue_token(SECRET, sub, role, name=sub.title())}",
            **extra,
        }

    return headers


@pytest.fixture
def member(ticketing: TicketingApp) -> Callable[..., str]:
    """``member("alice", "bob")`` → a new workspace id with those members."""

    def make(*accounts: str) -> str:
        workspace_id = f"ws-{uuid4().hex[:8]}"
        for account in accounts:
            ticketing.platform.member_joined(workspace_id, account, str(uuid4()))
        return workspace_id

    return make


@pytest.fixture
def alices_ticket(client: FlaskClient, auth: Auth, member: Callable[..., str]) -> dict[str, Any]:
    """A ticket alice submitted through HTTP to a new workspace of hers."""
    return new_ticket(client, auth, "alice", member("alice"))


def new_ticket(
    client: FlaskClient, auth: Auth, account: str, workspace_id: str, **body: Any
) -> dict[str, Any]:
    """Submit through HTTP and return the ticket document."""
    payload = {"type": "bug", "title": "Crash", "description": "It crashes", **body}
    response = client.post(
        f"/api/v1/workspaces/{workspace_id}/tickets", json=payload, headers=auth(account)
    )
    assert response.status_code == 201, response.get_json()
    document: dict[str, Any] = response.get_json()
    return document


@pytest.fixture
def derive(database_url: str) -> Iterator[Callable[[], None]]:
    """Runs the notifications follower up to the store's newest event."""
    event_log = TicketingEventLog(eventsourcing_env(database_url, 2))
    follower = NotificationFollower(event_log, default_assignee=ADMIN_ID)

    def derive() -> None:
        follower.catch_up()

    yield derive
    event_log.close()
