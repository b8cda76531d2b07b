"""Shared fixtures: a real PostgreSQL (embedded unless TICKETING_TEST_DATABASE_URL is set).

When the session ends, the read models are caught up with everything the suite stored and
audited against a full replay: the whole suite's history must project exactly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.dumping import CHECK_VARIABLE
from application.database import eventsourcing_env
from projections import maintenance
from projections.live import LiveProjection
from projections.view import ReadModelView, TicketingEventLog
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.embedded_postgres import scratch_database
from workers.projector import run_projections

# every answer the suite sees is dumped by its plan and by marshmallow, and must be the same
os.environ.setdefault(CHECK_VARIABLE, "1")

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def audit_whole_history(database_url: str) -> None:
    """Project every stored event, then compare the read models with a replay."""
    env = eventsourcing_env(database_url, 2)
    event_log = TicketingEventLog(env)
    try:
        view = ReadModelView(event_log.datastore)
        view.create_table()
        head = maintenance.head(event_log)
        with LiveProjection(env) as projection:
            projection.wait(head, timeout=120)
        position, differences = maintenance.audit(view, event_log)
    finally:
        event_log.close()
    assert position == head, "the read models caught up with the whole history"
    assert differences == [], f"read models differ from a replay: {differences[:5]}"


@pytest.fixture
def projecting(database_url: str) -> Iterator[None]:
    """The read-model projection running in a thread, as ``ticketing worker`` runs it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_projections, args=(database_url, stop))
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Kafka-protocol broker (Tansu) on a free loopback port for the session."""
    server = EmbeddedBroker(free_port(), tmp_path_factory.mktemp("tansu") / "broker.log")
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty database for this test session, audited and dropped afterwards."""
    with scratch_database(
        os.environ.get("TICKETING_TEST_DATABASE_URL"),
        # one embedded server per pytest-xdist worker (gw0, gw1, ...; none without xdist)
        ROOT
        / "var"
        / "-".join(filter(None, ["test-postgres", os.environ.get("PYTEST_XDIST_WORKER")])),
        "ticketing_test",
    ) as url:
        yield url
        audit_whole_history(url)
