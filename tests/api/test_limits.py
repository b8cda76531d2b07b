"""Per-account limits of users (CONTRACT.md §2.0), shared by every API process: 429 with
Retry-After and RateLimit-* headers beyond a limit; staff are not limited."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.app import create_app
from application.bootstrap import build_app
from application.clock import SystemClock
from application.config import Settings
from application.limits import Limit, LimitExceeded, RateLimits
from application.tickets import TicketingApp
from tests.api.conftest import ADMIN_ID, Auth, new_ticket

BODY = {"type": "bug", "title": "Limited", "description": "again"}


@pytest.fixture
def limited(api_settings: Settings) -> Iterator[Callable[[], Flask]]:
    """API processes (each its own application and pool) with small limits."""
    settings = dataclasses.replace(
        api_settings,
        limit_submissions_per_minute=3,
        limit_messages_per_minute=2,
        limit_upload_mib_per_hour=1,
        limit_exports_per_minute=2,
    )
    built = []

    def process() -> Flask:
        app = build_app(settings, clock=SystemClock())
        built.append(app)
        return create_app({"SETTINGS": settings, "TICKETING_APP": app, "TESTING": True})

    yield process
    for app in built:
        app.store.close()


def submit(client: FlaskClient, auth: Auth, account: str, ws: str) -> Any:
    return client.post(f"/api/v1/workspaces/{ws}/tickets", json=BODY, headers=auth(account))


def test_a_users_submissions_past_the_limit_are_429_across_processes(
    limited: Callable[[], Flask], auth: Auth, member: Callable[..., str]
) -> None:
    account = f"eager-{uuid4().hex[:6]}"
    ws = member(account)
    first, second = limited().test_client(), limited().test_client()
    answers = [submit(first, auth, account, ws), submit(second, auth, account, ws)]
    answers.append(submit(first, auth, account, ws))
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    refused = submit(second, auth, account, ws)
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    retry = int(refused.headers["Retry-After"])
    assert 1 <= retry <= 60
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert int(refused.headers["RateLimit-Reset"]) == retry
    other = f"calm-{uuid4().hex[:6]}"
    assert submit(first, auth, other, member(other)).status_code == 201


def test_racing_submissions_get_exactly_the_limit_through(
    limited: Callable[[], Flask], auth: Auth, member: Callable[..., str]
) -> None:
    account = f"racer-{uuid4().hex[:6]}"
    ws = member(account)
    apps = [limited() for _ in range(2)]

    def one(n: int) -> int:
        return int(submit(apps[n % 2].test_client(), auth, account, ws).status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(one, range(10)))
    assert statuses == [201] * 3 + [429] * 7


def test_messages_are_limited_for_users_and_not_for_staff(
    limited: Callable[[], Flask], client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    account = f"talker-{uuid4().hex[:6]}"
    ticket = new_ticket(client, auth, account, member(account))
    api = limited().test_client()
    path = f"/api/v1/tickets/{ticket['id']}/messages"
    said = [api.post(path, json={"body": f"{n}"}, headers=auth(account)) for n in range(3)]
    assert [s.status_code for s in said] == [201, 201, 429]
    admin = auth(ADMIN_ID, "admin")
    assert api.post(f"/api/v1/tickets/{ticket['id']}/accept", headers=admin).status_code == 200
    staff = [api.post(path, json={"body": f"a{n}"}, headers=admin) for n in range(4)]
    assert [s.status_code for s in staff] == [201] * 4
    assert "RateLimit-Limit" not in staff[0].headers


def test_uploads_are_limited_by_the_bytes_of_an_hour(
    limited: Callable[[], Flask], auth: Auth
) -> None:
    api = limited().test_client()
    account = f"uploader-{uuid4().hex[:6]}"
    text = b"x" * 600_000

    def upload() -> int:
        files = {"files": (io.BytesIO(text), "notes.txt")}
        answer = api.post("/api/v1/attachments", data=files, headers=auth(account))
        return answer.status_code

    assert upload() == 201
    assert upload() == 429  # 1.2 MB within the hour, against 1 MiB


def test_a_refused_submission_spends_nothing(
    limited: Callable[[], Flask], auth: Auth, member: Callable[..., str]
) -> None:
    account = f"outsider-{uuid4().hex[:6]}"
    api = limited().test_client()
    elsewhere = member(f"someone-{uuid4().hex[:6]}")
    refused = [submit(api, auth, account, elsewhere) for _ in range(5)]  # not a member: 403
    assert [a.status_code for a in refused] == [403] * 5
    assert all("RateLimit-Remaining" not in a.headers for a in refused)  # nothing counted
    ws = member(account)
    answers = [submit(api, auth, account, ws) for _ in range(3)]
    assert [a.status_code for a in answers] == [201] * 3
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]


def test_the_limit_holds_across_a_minutes_edge(ticketing: TicketingApp) -> None:
    """Fixed windows let 3 through at 12:00:59 and 3 more at 12:01:00; a bucket refills."""
    limits = RateLimits(ticketing.store.datastore)
    limit = Limit("edge", 3, timedelta(minutes=1))
    account = f"edgy-{uuid4().hex[:6]}"
    before = datetime(2026, 12, 8, 12, 0, 59, tzinfo=UTC)
    spent = [limits.spend(account, limit, 1, before) for _ in range(3)]
    assert [s.remaining for s in spent] == [2, 1, 0]
    after = before + timedelta(seconds=2)
    with pytest.raises(LimitExceeded) as refused:
        limits.spend(account, limit, 1, after)
    assert refused.value.retry_after == 18  # one more in 20 s from the last spend
    assert limits.spend(account, limit, 1, before + timedelta(seconds=20)).remaining == 0
    full = limits.spend(account, limit, 1, before + timedelta(minutes=5))
    assert (full.remaining, full.reset_seconds) == (2, 20)


def test_exports_are_limited_for_every_account_and_a_refused_one_spends_nothing(
    limited: Callable[[], Flask], auth: Auth, member: Callable[..., str]
) -> None:
    api = limited().test_client()
    reader, lead = f"exporter-{uuid4().hex[:6]}", f"lead-{uuid4().hex[:6]}"
    path = f"/api/v1/workspaces/{member(reader, lead)}/tickets/export?format=csv"

    def export(account: str, role: str = "user") -> tuple[int, dict[str, str]]:
        answer = api.get(path, headers=auth(account, role))
        answer.get_data()  # read to its end: a streamed export holds its request till then
        return answer.status_code, dict(answer.headers)

    stranger = f"stranger-{uuid4().hex[:6]}"
    member(stranger)
    refused = [export(stranger) for _ in range(3)]  # not a member: 403
    assert [status for status, _ in refused] == [403] * 3
    assert "RateLimit-Remaining" not in refused[0][1]
    assert export(stranger)[0] == 403  # the refusals spent nothing: not 429
    for who in ((reader, "user"), (lead, "admin")):
        answers = [export(*who) for _ in range(3)]
        assert [status for status, _ in answers] == [200, 200, 429], who
        assert [headers.get("RateLimit-Remaining") for _, headers in answers[:2]] == ["1", "0"]
        assert answers[2][1]["Content-Type"] == "application/problem+json"
        assert int(answers[2][1]["Retry-After"]) >= 1
