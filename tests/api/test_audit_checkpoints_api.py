"""The hash chain's checkpoints over HTTP (issue 27): auditors and admins read them, newest
first, page by page; the digests are the ones the worker published."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from application.bootstrap import build_app
from application.chain import Checkpoint
from application.clock import SystemClock
from application.config import Settings
from application.tickets import TicketingApp
from tests.api.conftest import Auth
from workers.checkpoints import CheckpointPublisher

CHECKPOINTS = "/api/v1/audit/checkpoints"


@pytest.mark.parametrize(
    ("role", "status"), [("user", 403), ("handler", 403), ("admin", 200), ("auditor", 200)]
)
def test_checkpoints_are_for_auditors_and_admins(
    client: FlaskClient, auth: Auth, role: str, status: int
) -> None:
    assert client.get(CHECKPOINTS, headers=auth("someone", role)).status_code == status


def test_checkpoints_come_newest_first_page_by_page(
    client: FlaskClient, auth: Auth, ticketing: TicketingApp, api_settings: Settings
) -> None:
    base = random.randrange(10**12, 10**13)  # positions of this test's own
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    kept = [Checkpoint(base + n, bytes([n]) * 32, at + timedelta(minutes=n)) for n in range(3)]
    publisher = CheckpointPublisher(ticketing, api_settings)
    for checkpoint in kept:
        publisher.keep(checkpoint)
    auditor = auth("audrey", "auditor")
    first = client.get(f"{CHECKPOINTS}?limit=2&before={base + 3}", headers=auditor).get_json()
    assert [item["position"] for item in first["items"]] == [base + 2, base + 1]
    assert first["items"][0]["digest"] == (bytes([2]) * 32).hex()
    assert datetime.fromisoformat(first["items"][0]["at"]) == at + timedelta(minutes=2)
    assert first["next_before"] == base + 1
    rest = client.get(f"{CHECKPOINTS}?limit=1&before={first['next_before']}", headers=auditor)
    assert [item["position"] for item in rest.get_json()["items"]] == [base]


def test_a_bad_page_request_is_refused_by_name(client: FlaskClient, auth: Auth) -> None:
    answer = client.get(f"{CHECKPOINTS}?limit=0&before=x", headers=auth("audrey", "auditor"))
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]) >= {"limit", "before"}


def test_a_checkpoint_made_up_or_changed_in_the_database_is_not_served(
    auth: Auth, api_settings: Settings
) -> None:
    settings = dataclasses.replace(api_settings, signing_key="checkpoint-signing-key-0123456789")
    app = build_app(settings, clock=SystemClock())
    try:
        client = create_app({"SETTINGS": settings, "TICKETING_APP": app, "TESTING": True})
        base = random.randrange(10**12, 10**13)
        at = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
        publisher = CheckpointPublisher(app, settings)
        for n in range(3):
            publisher.keep(Checkpoint(base + n, bytes([n]) * 32, at + timedelta(minutes=n)))
        with app.store.datastore.transaction(commit=True) as curs:
            # an insider adds one, and changes the digest of another
            curs.execute(
                "INSERT INTO audit_checkpoints (position, digest, at) VALUES (%s, %s, %s)",
                (base + 3, bytes([9]) * 32, at + timedelta(minutes=3)),
            )
            curs.execute(
                "UPDATE audit_checkpoints SET digest = %s WHERE position = %s",
                (bytes([7]) * 32, base + 1),
            )
        answer = client.test_client().get(
            f"{CHECKPOINTS}?limit=10&before={base + 4}", headers=auth("audrey", "auditor")
        )
        assert [item["position"] for item in answer.get_json()["items"]] == [base + 2, base]
    finally:
        app.store.close()
