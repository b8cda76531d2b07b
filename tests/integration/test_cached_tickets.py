"""Commands take the ticket from the process's cache, and a stale copy costs one retry.

Two application instances stand for two API processes with caches of their own, taking turns
on the same tickets as a load balancer makes them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.errors import DomainError
from tests.integration.conftest import AppFactory, submit, user, workspace_with


def test_a_process_replying_on_its_own_ticket_reads_nothing_fresh(make_app: AppFactory) -> None:
    app = make_app()
    alice = user()
    submitted = submit(app, alice, workspace_with(app, alice)).ticket
    ticket_id = str(submitted.id)
    reads = app.store.events.get
    counted: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted.append(args)
        return reads(*args, **kwargs)

    app.store.events.get = counting  # type: ignore[method-assign]
    for n in range(1, 4):
        assert app.reply(alice, ticket_id, f"more {n}").ticket.version == submitted.version + n
    assert counted == [], "the ticket came from the cache"
    assert app.store.retries == 0


def test_a_stale_copy_is_retried_once_then_read_fresh(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()
    alice = user()
    submitted = submit(first, alice, workspace_with(first, alice)).ticket
    ticket_id = str(submitted.id)
    versions = []
    for turn in range(1, 9):  # each process writes after the other: its copy is always stale
        versions.append((first, second)[turn % 2].reply(alice, ticket_id, f"turn {turn}"))
    expected = list(range(submitted.version + 1, submitted.version + 9))
    assert [result.ticket.version for result in versions] == expected, "none lost"
    # one lost race in each process that had the ticket cached, then fresh reads there
    assert (first.store.retries, second.store.retries) == (1, 1)


def test_a_refusal_is_decided_on_the_stored_ticket(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()
    alice = user()
    ticket_id = str(submit(first, alice, workspace_with(first, alice)).ticket.id)
    replied = first.reply(alice, ticket_id, "cached here, open").ticket
    revoked = second.revoke(alice, ticket_id).ticket  # the first process's copy says open
    with pytest.raises(DomainError):
        first.reply(alice, ticket_id, "too late")
    assert first.store.get_ticket(UUID(ticket_id)).version == revoked.version > replied.version
