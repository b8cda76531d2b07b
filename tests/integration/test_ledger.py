"""The workers' bookkeeping in PostgreSQL: publishers take turns, outbox rows go to one."""

from __future__ import annotations

import pytest

from application.plumbing import WorkerPlumbing
from application.tickets import TicketingApp
from tests.integration.conftest import AppFactory, user


def test_outbox_messages_are_claimed_by_one_publisher_and_kept_if_sending_fails(
    make_app: AppFactory,
) -> None:
    first, second = make_app(), make_app()
    for n in range(3):
        first.verifications.request(user(), f"person{n}@example.com")
    one, other = WorkerPlumbing(first.store), WorkerPlumbing(second.store)
    with one.claimed_outbox(1000) as mine:
        assert mine, "the messages just written"
        with other.claimed_outbox(1000) as theirs:
            assert not {m.id for m in mine} & {m.id for m in theirs}, "never both"
            with pytest.raises(ConnectionError), other.claimed_outbox(1000):
                raise ConnectionError("broker down")  # nothing sent: the messages stay
    assert not {m.id for m in mine} & {m.id for m in one.outbox_batch(100_000)}, "sent, gone"


def test_a_publisher_that_dies_in_its_turn_leaves_the_position_to_the_next(
    app: TicketingApp, make_app: AppFactory
) -> None:
    plumbing, other = WorkerPlumbing(app.store), WorkerPlumbing(make_app().store)

    def die_halfway() -> None:
        with plumbing.publisher_turn("turns-test") as turn:
            assert turn is not None
            turn.advance(42)
            raise RuntimeError("killed while sending")

    with pytest.raises(RuntimeError):
        die_halfway()
    with other.publisher_turn("turns-test") as turn:
        assert turn is not None
        assert turn.position == 0, "an unfinished turn moves nothing"
        turn.advance(7)
    assert plumbing.publisher_position("turns-test") == 7
