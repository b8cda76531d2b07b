"""Races: concurrent writers, numbers, and submissions racing cancellation or dissolution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from psycopg.conninfo import make_conninfo

from application.bootstrap import build_app
from application.config import Settings
from application.database import drop_database, ensure_database, eventsourcing_env
from application.tickets import TicketingApp
from domain.errors import NotAllowed
from domain.status import CloseReason, Status
from projections.view import ReadModelView, TicketingEventLog
from tests.integration.conftest import (
    ADMIN,
    AppFactory,
    run_together,
    submit,
    user,
    workspace_with,
)


def test_concurrent_replies_are_all_recorded_with_consecutive_versions(
    make_app: AppFactory,
) -> None:
    apps = [make_app() for _ in range(4)]
    alice = user()
    ws = workspace_with(apps[0], alice)
    ticket_id = str(submit(apps[0], alice, ws).ticket.id)
    apps[0].accept(ADMIN, ticket_id)

    results = run_together(
        *[
            (lambda a=a, n=n: a.reply(ADMIN if n % 2 else alice, ticket_id, f"message {n}"))
            for n, a in enumerate(apps * 3)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)]
    history = apps[0].history(alice, ticket_id)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    bodies = {e.data["body"] for e in history if e.type.endswith("Replied")}
    assert {f"message {n}" for n in range(12)} <= bodies


def test_numbers_are_unique_under_concurrent_submissions(make_app: AppFactory) -> None:
    apps = [make_app() for _ in range(3)]
    members = [user() for _ in range(6)]
    ws = workspace_with(apps[0], *members)
    results = run_together(
        *[(lambda a=apps[n % 3], m=m: submit(a, m, ws)) for n, m in enumerate(members * 2)]
    )
    numbers = [r.ticket.number for r in results]  # type: ignore[attr-defined]
    assert len(set(numbers)) == len(numbers) == 12
    assert all(n > 0 for n in numbers)


RACES: dict[str, tuple[Callable[[TicketingApp, str, str], object], CloseReason]] = {
    "account cancelled": (
        lambda app, account_id, _: app.platform.account_cancelled(account_id, str(uuid4())),
        CloseReason.ACCOUNT_CANCELLED,
    ),
    "workspace dissolved": (
        lambda app, _, workspace_id: app.platform.workspace_dissolved(workspace_id, str(uuid4())),
        CloseReason.WORKSPACE_DISSOLVED,
    ),
}


@pytest.mark.parametrize("round_", range(5))
@pytest.mark.parametrize("race", RACES)
def test_submission_racing_the_platform_is_refused_or_closed(
    make_app: AppFactory, race: str, round_: int
) -> None:
    platform_effect, reason = RACES[race]
    writer, platform = make_app(), make_app()
    alice = user()
    ws = workspace_with(writer, alice)
    submitted, _ = run_together(
        lambda: submit(writer, alice, ws),
        lambda: platform_effect(platform, alice.account_id, ws),
    )
    if isinstance(submitted, NotAllowed):
        return
    assert not isinstance(submitted, Exception), submitted
    ticket = writer.ticket(ADMIN, str(submitted.ticket.id))  # type: ignore[attr-defined]
    assert (ticket.status, ticket.close_reason) == (Status.CLOSED, reason)


def test_both_outcomes_of_the_race_occur_and_each_is_consistent(app: TicketingApp) -> None:
    """Sequential forms of the race: cancellation first refuses, submission first closes."""
    alice, bob = user(), user()
    ws = workspace_with(app, alice, bob)
    app.platform.account_cancelled(alice.account_id, str(uuid4()))
    with pytest.raises(NotAllowed):
        submit(app, alice, ws)
    ticket_id = str(submit(app, bob, ws).ticket.id)
    app.platform.account_cancelled(bob.account_id, str(uuid4()))
    assert app.ticket(ADMIN, ticket_id).close_reason == CloseReason.ACCOUNT_CANCELLED


def test_processes_starting_together_create_the_schema_once(database_url: str) -> None:
    """An API and a worker starting at once on an empty database both come up."""
    fresh = make_conninfo(database_url, dbname=f"fresh_{uuid4().hex[:10]}")
    ensure_database(fresh)
    started: list[Any] = []
    try:
        settings = Settings(database_url=fresh)

        def application() -> object:
            started.append(build_app(settings).store)
            return started[-1]

        def projection() -> object:
            log = TicketingEventLog(eventsourcing_env(fresh, 2))
            started.append(log)
            ReadModelView(log.datastore).create_table()
            return log

        results = run_together(
            application, application, application, projection, projection, projection
        )
        assert [r for r in results if isinstance(r, Exception)] == []
    finally:
        for app in started:
            app.close()
        drop_database(fresh)
