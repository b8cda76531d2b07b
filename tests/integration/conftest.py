"""Fixtures for tests through the application against the real database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
from eventsourcing.utils import Environment
from psycopg.conninfo import make_conninfo

from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.database import (
    TicketingPostgresFactory,
    drop_database,
    ensure_database,
    eventsourcing_env,
)
from application.recorder import TicketingRecorder
from application.tickets import TicketingApp
from projections.view import ReadModelView, TicketingEventLog
from tests.conftest import START
from tests.people import ADMIN, AUDITOR, HANDLER, submit, user, workspace_with

__all__ = ["ADMIN", "AUDITOR", "HANDLER", "submit", "user", "workspace_with"]


AppFactory = Callable[[], TicketingApp]


class Running:
    """A worker part running in a thread until stopped."""

    def __init__(self, target: Callable[[threading.Event], None]) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=target, args=(self.stop,))
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


Runner = Callable[[Callable[[threading.Event], None]], Running]


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def make_app(database_url: str, clock: SettableClock) -> Iterator[AppFactory]:
    """Builds applications on the session database (each one a separate connection pool)."""
    apps: list[TicketingApp] = []

    def make() -> TicketingApp:
        settings = Settings(database_url=database_url, default_assignee=ADMIN.account_id)
        apps.append(build_app(settings, clock=clock))
        return apps[-1]

    yield make
    for app in apps:
        app.store.close()


@pytest.fixture
def app(make_app: AppFactory) -> TicketingApp:
    return make_app()


def caught_up(app: TicketingApp, timeout: float = 60) -> ReadModelView:
    """The read models (with the app's SLA settings), once they reached the newest event.

    Needs a projection running (the ``projecting`` fixture); creating the tables first means
    waiting never races the projection's own start-up.
    """
    view = ReadModelView(app.store.datastore, service_level=app.store.service_level)
    view.create_table()
    assert view.wait_for(app.store.recorder.max_notification_id() or 0, timeout), "caught up"
    return view


@pytest.fixture
def settings(broker: str, database_url: str) -> Settings:
    """Settings with topics and a consumer group of this test's own."""
    from tests.integration.kafka_support import settings_for

    return settings_for(broker, database_url)


@pytest.fixture
def run() -> Iterator[Runner]:
    """Starts worker parts in threads; stops whatever is still running afterwards."""
    started: list[Running] = []

    def start(target: Callable[[threading.Event], None]) -> Running:
        started.append(Running(target))
        return started[-1]

    yield start
    for part in started:
        if not part.stop.is_set():
            part.close()


def run_together(*calls: Callable[[], object]) -> list[object]:
    """Start the calls at the same moment in threads; each result or exception is returned."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait(timeout=10)
        try:
            return call()
        except Exception as error:  # collected for the assertions
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls, timeout=60))


@pytest.fixture
def own_database(database_url: str) -> Iterator[str]:
    """A database of this test's own on the session's server, dropped afterwards: what the test
    replays and audits is its own history, not everything the session stored before it."""
    url = make_conninfo(database_url, dbname=f"own_{uuid4().hex[:10]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def tools(database_url: str) -> Iterator[tuple[ReadModelView, TicketingEventLog]]:
    event_log = TicketingEventLog(eventsourcing_env(database_url, 2))
    view = ReadModelView(event_log.datastore)
    view.create_table()
    yield view, event_log
    event_log.close()


@pytest.fixture
def one_connection_recorder(database_url: str) -> Iterator[TicketingRecorder]:
    """The service's recorder on the service's connection pool, of one connection, over an
    events table of its own (the session's audit reads the service's table)."""
    env = eventsourcing_env(database_url, pool_size=1) | {"POSTGRES_MAX_OVERFLOW": "0"}
    factory = TicketingPostgresFactory(Environment(env=env))
    try:
        table = f"events_{uuid4().hex[:12]}"
        recorder = TicketingRecorder(factory.datastore, events_table_name=table)
        recorder.create_table()
        yield recorder
    finally:
        factory.close()
