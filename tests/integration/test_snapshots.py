"""Long tickets are snapshotted; a snapshotted ticket equals the one replayed from events."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import UUID

import pytest
from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate

from application.sealing import SEAL_LENGTH
from application.tickets import TicketingApp
from domain.errors import NotAllowed
from domain.platform import Workspace
from domain.ticket import Ticket
from tests.integration.conftest import ADMIN, submit, user, workspace_with
from workers.stored_audit import audit_snapshots


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


@pytest.fixture(autouse=True)
def _forgeries_removed(app: TicketingApp) -> Iterator[None]:
    """Snapshots are a cache: the ones these tests edit are deleted after each, so that other
    tests' ``audit verify`` on the same database finds none of them."""
    yield
    with app.store.datastore.transaction(commit=True) as curs:
        curs.execute("DELETE FROM ticketing_snapshots WHERE originator_id = ANY(%s)", (FORGED,))
    FORGED.clear()


FORGED: list[UUID] = []


def _forge(app: TicketingApp, aggregate_id: UUID, old: bytes, new: bytes) -> int:
    """Edit the snapshot of an aggregate with SQL, as a database insider would (its seal, if
    any, stays as it was); the rows changed."""
    FORGED.append(aggregate_id)
    with app.store.datastore.transaction(commit=True) as curs:
        curs.execute(
            "UPDATE ticketing_snapshots SET state = overlay(state PLACING %s FROM "
            "position(%s IN state) FOR %s) WHERE originator_id = %s AND position(%s IN state) > 0",
            (new, old, len(old), aggregate_id, old),
        )
        return curs.rowcount


def test_an_edited_ticket_snapshot_is_never_served(
    app: TicketingApp, make_app: Callable[[], TicketingApp]
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    ticket_id = submit(app, alice, ws).ticket.id
    app.accept(ADMIN, str(ticket_id))
    for n in range(60):
        app.reply(ADMIN, str(ticket_id), f"Reply number {n:02d}")
    assert _forge(app, ticket_id, b"Reply number 07", b"Refund 5000 EUR") == 1
    ticket: Ticket = make_app().store.repository.get(ticket_id)  # a process caching nothing
    bodies = [message["body"] for message in ticket.messages]
    assert "Refund 5000 EUR" not in bodies
    assert "Reply number 07" in bodies
    assert ticket.version == 63


def test_an_edited_workspace_snapshot_lets_nobody_in(
    app: TicketingApp, make_app: Callable[[], TicketingApp]
) -> None:
    members = [user() for _ in range(51)]
    ws = workspace_with(app, *members)  # 51 joins: a snapshot at 50
    mallory = user()
    old = members[0].account_id.encode()
    assert len(mallory.account_id) == len(old)
    assert _forge(app, Workspace.create_id(ws), old, mallory.account_id.encode()) == 1
    fresh = make_app()
    with pytest.raises(NotAllowed):
        submit(fresh, mallory, ws)
    assert submit(fresh, members[0], ws).ticket.number > 0


def _unseal(app: TicketingApp, aggregate_id: UUID) -> None:
    """Strip the seal, as a snapshot taken before sealing has none."""
    FORGED.append(aggregate_id)
    with app.store.datastore.transaction(commit=True) as curs:
        curs.execute(
            "UPDATE ticketing_snapshots SET state = substring(state FROM 1 FOR "
            "length(state) - %s) WHERE originator_id = %s",
            (SEAL_LENGTH, aggregate_id),
        )


def test_audit_verify_names_every_snapshot_that_does_not_hold(
    app: TicketingApp, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    tickets = [submit(app, alice, ws).ticket.id for _ in range(3)]
    for ticket_id in tickets:
        app.accept(ADMIN, str(ticket_id))
        for n in range(50):
            app.reply(ADMIN, str(ticket_id), f"Answer {n:02d}")
    assert audit_snapshots(app)
    edited, legacy, forged = tickets
    _forge(app, edited, b"Answer 07", b"Refund 5k")  # sealed, then edited
    _unseal(app, legacy)  # taken before sealing: it equals its events
    _unseal(app, forged)
    _forge(app, forged, b"Answer 07", b"Refund 5k")  # unsealed, and edited
    capsys.readouterr()
    assert not audit_snapshots(app)
    printed = capsys.readouterr().out
    for bad in (edited, forged):
        assert f"snapshot of {bad} at version 50: not what its events give" in printed
    assert str(legacy) not in printed
