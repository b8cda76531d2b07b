"""Long tickets are snapshotted; a snapshotted ticket equals the one replayed from events."""

from __future__ import annotations

from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate

from application.tickets import TicketingApp
from tests.integration.conftest import ADMIN, submit, user, workspace_with


def test_snapshotted_ticket_equals_replayed(app: TicketingApp) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = submit(app, alice, ws).ticket.id
    app.accept(ADMIN, str(ticket_id))
    for n in range(60):
        app.reply(ADMIN if n % 2 else alice, str(ticket_id), f"message {n}")

    assert app.store.snapshots is not None
    assert list(app.store.snapshots.get(ticket_id)), "a snapshot was taken"
    replayed: Aggregate = Repository(event_store=app.store.events).get(ticket_id)
    from_snapshot: Aggregate = app.store.repository.get(ticket_id)
    assert from_snapshot.version == replayed.version == 63
    assert vars(from_snapshot) == vars(replayed)
