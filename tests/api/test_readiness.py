"""Readiness, projection health and metrics: a stalled projection is seen, not only felt
(CONTRACT.md §2.6 and §4)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from application.config import Settings
from projections import maintenance, summaries
from tests.api.conftest import Auth, auditor_headers, new_ticket
from workers.maintenance import print_status, run_audit

pytestmark = pytest.mark.usefixtures("projecting")
WAIT = 30.0


def until(check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def ready(client: FlaskClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.get_json()


def test_ready_once_the_read_models_are_current(client: FlaskClient) -> None:
    until(lambda: ready(client)[0] == 200)
    assert ready(client)[1]["checks"] == {"database": "ok", "broker": "ok", "read_models": "ok"}
    metrics = client.get("/metrics", headers=auditor_headers()).get_data(as_text=True)
    assert 'ticketing_projection_lag_events{projection="read_models"}' in metrics
    assert 'ticketing_projection_stalled{projection="read_models"} 0.0' in metrics


def test_a_projection_that_fails_on_an_event_shows_everywhere_and_recovers(
    client: FlaskClient,
    auth: Auth,
    member: Callable[..., str],
    api_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    until(lambda: ready(client)[0] == 200)
    apply_event = summaries.apply_event

    def fail(*args: Any) -> None:
        # only in the projection worker's threads: the audit below replays in this one
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("cannot apply this event")
        apply_event(*args)

    monkeypatch.setattr(maintenance, "apply_event", fail)
    new_ticket(client, auth, "alice", member("alice"))

    until(lambda: ready(client)[0] == 503)
    _status, body = ready(client)
    assert body["checks"]["read_models"] == "stalled"
    assert client.get("/healthz").status_code == 200, "the process itself is fine"
    metrics = client.get("/metrics", headers=auditor_headers()).get_data(as_text=True)
    assert 'ticketing_projection_stalled{projection="read_models"} 1.0' in metrics
    assert 'ticketing_projection_failures_total{projection="read_models"}' in metrics

    capsys.readouterr()
    assert print_status(api_settings) == 1
    shown = capsys.readouterr().out
    assert "stalled" in shown
    assert "cannot apply this event" in shown
    assert run_audit(api_settings, catch_up=0) == 1
    assert "events not projected" in capsys.readouterr().out

    monkeypatch.setattr(maintenance, "apply_event", apply_event)
    until(lambda: ready(client)[0] == 200)
    assert print_status(api_settings) == 0
    assert run_audit(api_settings) == 0
