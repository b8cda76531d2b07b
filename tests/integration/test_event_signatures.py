"""Events signed with a key the database does not hold (issue 42): an event appended with SQL
(which the chain's trigger chains like any other) and an event edited after the last
checkpoint are both named by ``audit verify``; a store written without a key says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg.conninfo import make_conninfo

from application.bootstrap import build_app
from application.config import Settings
from application.database import drop_database, ensure_database
from application.tickets import TicketingApp
from tests.integration.conftest import ADMIN, submit, user, workspace_with
from workers.stored_audit import audit_signatures

KEY = "signing-key-for-tests-0123456789abcdef"


@pytest.fixture
def signed(database_url: str) -> Iterator[TicketingApp]:
    """An application signing its events, on a database of its own (the session's holds
    events of applications without the key)."""
    url = make_conninfo(database_url, dbname=f"signed_{id(object())}")
    ensure_database(url)
    app = build_app(Settings(database_url=url, default_assignee="admin", signing_key=KEY))
    try:
        yield app
    finally:
        app.store.close()
        drop_database(url)


def test_appended_and_edited_events_are_named(
    signed: TicketingApp, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = user()
    ws = workspace_with(signed, alice)
    ticket_id = submit(signed, alice, ws).ticket.id
    signed.accept(ADMIN, str(ticket_id))
    signed.reply(alice, str(ticket_id), "Still broken")
    assert audit_signatures(signed, KEY.encode())
    assert "every event from position 1 on is signed" in capsys.readouterr().out
    with signed.store.datastore.transaction(commit=True) as curs:
        # an insider copies the last reply onto the ticket again, as its next version
        appended = curs.execute(
            "INSERT INTO ticketing_events (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version + 1, topic, state FROM ticketing_events "
            "WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1 "
            "RETURNING notification_id",
            (ticket_id,),
        ).fetchone()
        # ... and edits an earlier event's state
        edited = curs.execute(
            "UPDATE ticketing_events SET state = overlay(state PLACING 'Refund me 5k'::bytea "
            "FROM position('Still broken'::bytea IN state) FOR 12) WHERE originator_id = %s "
            "AND position('Still broken'::bytea IN state) > 0 AND notification_id < %s "
            "RETURNING notification_id",
            (ticket_id, appended["notification_id"] if appended else 0),
        ).fetchone()
    assert appended is not None
    assert edited is not None
    assert not audit_signatures(signed, KEY.encode())
    printed = capsys.readouterr().out
    assert f"position {appended['notification_id']:,}: no signature" in printed
    assert f"position {edited['notification_id']:,}: its signature does not hold" in printed
    assert not audit_signatures(signed, b"another key entirely")


def test_without_a_key_verify_says_what_is_not_proven(
    app: TicketingApp, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit_signatures(app, b"")
    assert "TICKETING_SIGNING_KEY is not set" in capsys.readouterr().out
