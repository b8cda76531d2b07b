"""Platform facts, gates and idempotency through the application, on in-memory persistence."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from application.errors import IdempotencyKeyReused
from application.plumbing import WorkerPlumbing
from application.records import ConsumedOffset
from application.tickets import IdempotencyKey, TicketingApp
from domain.errors import NotAllowed
from domain.status import CloseReason
from tests.people import ADMIN, submit, user, workspace_with


def test_an_offset_commits_with_its_effect_and_a_duplicate_only_moves_it(
    app: TicketingApp,
) -> None:
    alice = user()
    plumbing = WorkerPlumbing(app.store)
    event_id = str(uuid4())
    first = ConsumedOffset("group", "platform.workspaces", 0, 1)
    assert app.platform.member_joined("ws-1", alice.account_id, event_id, first) is True
    assert plumbing.consumer_offsets("group") == {("platform.workspaces", 0): 1}

    again = ConsumedOffset("group", "platform.workspaces", 0, 2)
    assert app.platform.member_joined("ws-1", alice.account_id, event_id, again) is False
    assert plumbing.consumer_offsets("group") == {("platform.workspaces", 0): 2}
    plumbing.skip_message(ConsumedOffset("group", "platform.workspaces", 0, 1))
    assert plumbing.consumer_offsets("group")[("platform.workspaces", 0)] == 2, "never back"
    assert app.is_member("ws-1", alice.account_id)


def test_a_dissolved_workspace_closes_its_tickets_and_its_gate(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    tickets = [str(submit(app, alice, ws).ticket.id) for _ in range(3)]
    assert app.platform.workspace_dissolved(ws, str(uuid4())) is True
    assert {app.ticket(ADMIN, t).close_reason for t in tickets} == {CloseReason.WORKSPACE_DISSOLVED}
    with pytest.raises(NotAllowed):
        submit(app, alice, ws)
    assert not app.is_member(ws, alice.account_id)


def test_a_dissolution_delivered_again_reads_none_of_its_tickets(
    app: TicketingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    for _ in range(3):
        submit(app, alice, ws)
    event_id = str(uuid4())
    assert app.platform.workspace_dissolved(ws, event_id) is True
    loaded: list[object] = []
    get_ticket = app.store.get_ticket

    def counting(ticket_id: Any) -> Any:
        loaded.append(ticket_id)
        return get_ticket(ticket_id)

    monkeypatch.setattr(app.store, "get_ticket", counting)
    again = ConsumedOffset("group", "platform.workspaces", 0, 7)
    assert app.platform.workspace_dissolved(ws, event_id, again) is False
    assert loaded == [], "the sweep was done: no ticket is read again"
    assert WorkerPlumbing(app.store).consumer_offsets("group") == {("platform.workspaces", 0): 7}


def test_a_repeated_request_gets_the_first_outcome(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    key = IdempotencyKey("key-1", "fingerprint-a")
    first = submit(app, alice, ws, idempotency=key)
    again = submit(app, alice, ws, idempotency=key)
    assert again.replayed
    assert not first.replayed
    assert (again.ticket.id, again.position) == (first.ticket.id, first.position)
    with pytest.raises(IdempotencyKeyReused):
        submit(app, alice, ws, idempotency=IdempotencyKey("key-1", "fingerprint-b"))

    reply_key = IdempotencyKey("key-2", "fingerprint-c")
    replied = app.reply(alice, str(first.ticket.id), "more", idempotency=reply_key)
    repeated = app.reply(alice, str(first.ticket.id), "more", idempotency=reply_key)
    assert repeated.message_id == replied.message_id
    assert len(app.ticket(alice, str(first.ticket.id)).messages) == 2  # acknowledgement + one
