"""What the PostgreSQL event store adds under the use cases: state shared between processes."""

from __future__ import annotations

from tests.integration.conftest import ADMIN, AppFactory, submit, user, workspace_with


def test_a_new_application_instance_reads_the_same_state(make_app: AppFactory) -> None:
    first = make_app()
    alice = user()
    ws = workspace_with(first, alice)
    ticket_id = str(submit(first, alice, ws).ticket.id)
    first.accept(ADMIN, ticket_id)
    first.reply(ADMIN, ticket_id, "hello")

    again = make_app().ticket(alice, ticket_id)
    assert vars(again) == vars(first.ticket(alice, ticket_id))
