"""The in-memory ledger's turn-taking, as the PostgreSQL one behaves (tests/integration)."""

from __future__ import annotations

import pytest

from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from tests.people import user


def test_one_turn_at_a_time_and_a_failed_turn_moves_nothing(app: TicketingApp) -> None:
    plumbing = WorkerPlumbing(app.store)
    with plumbing.publisher_turn("p") as turn:
        assert turn is not None
        with plumbing.publisher_turn("p") as second:
            assert second is None
        turn.advance(5)
    with pytest.raises(RuntimeError), plumbing.publisher_turn("p") as turn:
        raise RuntimeError(f"died at {turn}")
    assert plumbing.publisher_position("p") == 5


def test_outbox_claims_are_disjoint_and_kept_on_failure(app: TicketingApp) -> None:
    plumbing = WorkerPlumbing(app.store)
    for n in range(2):
        app.verifications.request(user(), f"p{n}@example.com")
    with plumbing.claimed_outbox(1) as first, plumbing.claimed_outbox(10) as second:
        assert len(first) == len(second) == 1
        assert first[0].id != second[0].id
    assert plumbing.outbox_batch(10) == [], "the first two were sent"
    app.verifications.request(user(), "p2@example.com")
    with pytest.raises(RuntimeError), plumbing.claimed_outbox(10) as third:
        raise RuntimeError(f"broker down with {len(third)} to send")
    assert len(plumbing.outbox_batch(10)) == 1, "not sent: kept"
