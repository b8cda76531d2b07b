"""Fixtures for tests through the application against the real database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest

from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.tickets import CommandResult, TicketingApp
from domain.actors import Actor, Role
from projections.view import ReadModelView
from tests.conftest import START

ADMIN = Actor("root-admin", Role.ADMIN, "Root")
HANDLER = Actor("hank", Role.HANDLER, "Hank")
AUDITOR = Actor("audrey", Role.AUDITOR, "Audrey")

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
        app.close()


@pytest.fixture
def app(make_app: AppFactory) -> TicketingApp:
    return make_app()


def user(name: str = "") -> Actor:
    """A new account with the user role."""
    account_id = name or f"user-{uuid4().hex[:8]}"
    return Actor(account_id, Role.USER, account_id.title())


def workspace_with(app: TicketingApp, *members: Actor) -> str:
    """A new workspace whose members are the given accounts."""
    workspace_id = f"ws-{uuid4().hex[:8]}"
    for member in members:
        app.member_joined(workspace_id, member.account_id, str(uuid4()))
    return workspace_id


def caught_up(app: TicketingApp, timeout: float = 60) -> ReadModelView:
    """The read models (with the app's SLA settings), once they reached the newest event.

    Needs a projection running (the ``projecting`` fixture); creating the tables first means
    waiting never races the projection's own start-up.
    """
    view = ReadModelView(app.datastore, service_level=app.service_level)
    view.create_table()
    assert view.wait_for(app.recorder.max_notification_id() or 0, timeout), "caught up"
    return view


def submit(app: TicketingApp, actor: Actor, workspace_id: str, **fields: object) -> CommandResult:
    """Submit a bug report unless the fields say otherwise."""
    values: dict[str, object] = {
        "ticket_type": "bug",
        "title": "Dashboard crashes",
        "description": "It crashes when opened.",
    }
    values.update(fields)
    return app.submit(actor, workspace_id, **values)  # type: ignore[arg-type]


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
