"""What the platform decided, kept beside the events: who may still submit, which tickets each
workspace and account owns, and which platform events were applied.

Workspaces and accounts used to keep every ticket id filed under them and every platform event
id they applied in their state, so each grew without bound (a 100,000-ticket workspace was a
3.7 MB snapshot) and every submission wrote both aggregates, so concurrent submissions in one
workspace conflicted. Three tables, written in the same transaction as the events, do it now:

- ``ticket_owners``: each ticket's workspace and submitting account (for closing them all).
- ``submission_gates``: one row per workspace and account, ``closed`` once it is dissolved or
  cancelled. A submission takes the rows of its workspace and account ``FOR SHARE`` and is
  refused if one is closed; closing a gate takes the row ``FOR UPDATE``, so it waits for the
  submissions in flight and every later one sees it closed. Tickets are then closed from
  ``ticket_owners``, which holds every ticket the gate let through. Submissions do not block
  each other (shared locks), so they no longer conflict.
- ``applied_platform_events``: the platform event ids applied, with their effect; a second
  delivery finds its id there (a concurrent one fails on the primary key and is retried).

The first start after this change fills the tables from the events already stored.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow

from application.records import Gate, TicketOwner
from domain.content import storable
from domain.errors import NotAllowed

log = logging.getLogger(__name__)
WORKSPACE, ACCOUNT = "workspace", "account"


def canonical_event_id(event_id: str) -> str:
    """A platform event id in the one spelling it is compared in (lower case, dashes)."""
    try:
        return str(UUID(event_id))
    except ValueError:
        return event_id


MIGRATION = "gates-from-events"
DDL = (
    "CREATE TABLE IF NOT EXISTS ticket_owners (ticket_id uuid PRIMARY KEY, "
    "workspace_id text NOT NULL, account_id text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ticket_owners_by_workspace ON ticket_owners (workspace_id)",
    "CREATE INDEX IF NOT EXISTS ticket_owners_by_account ON ticket_owners (account_id)",
    "CREATE TABLE IF NOT EXISTS submission_gates (kind text NOT NULL, key text NOT NULL, "
    "closed boolean NOT NULL DEFAULT false, PRIMARY KEY (kind, key))",
    "CREATE TABLE IF NOT EXISTS applied_platform_events (event_id text PRIMARY KEY, "
    "applied_at timestamptz NOT NULL DEFAULT now())",
    # ids are compared as UUIDs (CONTRACT.md §3): one applied before in another spelling
    # (capitals, no dashes, braces) is recorded in the canonical one too
    "INSERT INTO applied_platform_events (event_id) SELECT substr(h, 1, 8) || '-' || "
    "substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || "
    "substr(h, 21, 12) FROM (SELECT translate(lower(replace(event_id, 'urn:uuid:', '')), "
    "'-' || chr(123) || chr(125), '') AS h FROM applied_platform_events) AS spelt "
    "WHERE h ~ '^[0-9a-f]+$' AND length(h) = 32 ON CONFLICT DO NOTHING",
    "CREATE TABLE IF NOT EXISTS ticketing_migrations (name text PRIMARY KEY, "
    "done_at timestamptz NOT NULL DEFAULT now())",
    # one statement, so that it travels in the insert's pipeline without a round trip of its
    # own; a closed gate fails the transaction with a message the recorder recognises
    """CREATE OR REPLACE FUNCTION ticketing_file_ticket(ticket uuid, ws text, account text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    closed_kind text;
BEGIN
    INSERT INTO submission_gates (kind, key) VALUES ('workspace', ws), ('account', account)
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM submission_gates
    WHERE (kind = 'workspace' AND key = ws) OR (kind = 'account' AND key = account) FOR SHARE;
    SELECT kind INTO closed_kind FROM submission_gates
    WHERE ((kind = 'workspace' AND key = ws) OR (kind = 'account' AND key = account)) AND closed
    LIMIT 1;
    IF closed_kind IS NOT NULL THEN
        RAISE EXCEPTION 'gate closed: %', closed_kind;
    END IF;
    INSERT INTO ticket_owners (ticket_id, workspace_id, account_id) VALUES (ticket, ws, account);
END
$$""",
)
CLOSED_GATE = re.compile(r"gate closed: (workspace|account)")


class GateClosed(NotAllowed):
    """The workspace was dissolved or the account cancelled while the submission was made."""

    @classmethod
    def of(cls, kind: str) -> GateClosed:
        """The refusal for a closed gate of this kind."""
        return cls(
            "the workspace was dissolved" if kind == WORKSPACE else "the account has been cancelled"
        )


def file_ticket(curs: Cursor[DictRow], owner: TicketOwner) -> None:
    """Let a submission through both gates (their rows taken ``FOR SHARE``) and file it under
    its owners; a closed gate fails the transaction (:func:`closed_gate`)."""
    curs.execute(
        "SELECT ticketing_file_ticket(%s, %s, %s)",
        (owner.ticket_id, owner.workspace_id, owner.account_id),
    )


def closed_gate(error: BaseException) -> GateClosed | None:
    """The refusal a failed transaction stands for, if a closed gate failed it."""
    found = CLOSED_GATE.search(str(error))
    return None if found is None else GateClosed.of(found.group(1))


def close_gate(curs: Cursor[DictRow], gate: Gate) -> None:
    """Close a gate (in the transaction that records the dissolution or the cancellation)."""
    curs.execute(
        "INSERT INTO submission_gates (kind, key, closed) VALUES (%s, %s, true) "
        "ON CONFLICT (kind, key) DO UPDATE SET closed = true",
        (gate.kind, gate.key),
    )


def mark_applied(curs: Cursor[DictRow], event_id: str) -> None:
    """Record a platform event as applied (a duplicate raises a unique violation)."""
    curs.execute("INSERT INTO applied_platform_events (event_id) VALUES (%s)", (event_id,))


def was_applied(datastore: PostgresDatastore, event_id: str) -> bool:
    """Whether a platform event was applied before."""
    with datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT 1 FROM applied_platform_events WHERE event_id = %s", (event_id,)
        ).fetchone()
    return row is not None


def tickets_owned(datastore: PostgresDatastore, gate: Gate) -> list[UUID]:
    """Every ticket filed under a workspace or an account, oldest first."""
    column = "workspace_id" if gate.kind == WORKSPACE else "account_id"
    with datastore.get_connection() as conn:
        rows = conn.execute(
            f"SELECT ticket_id FROM ticket_owners WHERE {column} = %s",  # noqa: S608 - fixed
            (gate.key,),
        ).fetchall()
    return [row["ticket_id"] for row in rows]


def migrate(curs: Cursor[DictRow], events_table: str) -> None:
    """Fill the tables from the events stored before they existed (once)."""
    done = curs.execute(
        "INSERT INTO ticketing_migrations (name) VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
        (MIGRATION,),
    ).fetchone()
    if done is None:
        return
    owners: list[tuple[Any, ...]] = []
    applied: list[tuple[str]] = []
    names: dict[UUID, tuple[str, str]] = {}  # aggregate -> (gate kind, workspace or account id)
    closing: list[UUID] = []
    for row in _events(curs, events_table):
        state, topic = row["state"], row["topic"]
        kind = topic.rpartition(".")[2]
        if topic == "domain.ticket:Ticket.Submitted":
            submitter = state.get("submitter") or {}
            owners.append(
                (row["originator_id"], storable(str(state.get("workspace_id"))),
                 storable(str(submitter.get("account_id"))))
            )  # fmt: skip
        elif kind == "Registered":
            gate_kind = WORKSPACE if "workspace_id" in state else ACCOUNT
            names[row["originator_id"]] = (gate_kind, storable(str(state[f"{gate_kind}_id"])))
        elif "platform_event_id" in state:
            applied.append((canonical_event_id(storable(str(state["platform_event_id"]))),))
            if kind in ("Dissolved", "Cancelled"):
                closing.append(row["originator_id"])
    curs.executemany("INSERT INTO ticket_owners VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", owners)
    curs.executemany(
        "INSERT INTO applied_platform_events (event_id) VALUES (%s) ON CONFLICT DO NOTHING",
        applied,
    )
    for aggregate_id in closing:
        close_gate(curs, Gate(*names[aggregate_id]))
    log.info(
        "filled the gate tables from the store: %d tickets, %d platform events, %d closed",
        len(owners), len(applied), len(closing),
    )  # fmt: skip


def _events(curs: Cursor[DictRow], events_table: str) -> Iterator[DictRow]:
    topics: Sequence[str] = (
        "domain.ticket:Ticket.Submitted",
        "domain.platform:Workspace.Registered",
        "domain.platform:Workspace.MemberJoined",
        "domain.platform:Workspace.MemberLeft",
        "domain.platform:Workspace.Dissolved",
        "domain.platform:Account.Registered",
        "domain.platform:Account.Cancelled",
    )
    rows = curs.execute(
        f"SELECT originator_id, topic, state FROM {events_table} "  # noqa: S608 - our table
        "WHERE topic = ANY(%s) ORDER BY notification_id",
        (list(topics),),
    ).fetchall()
    for row in rows:
        yield {**row, "state": json.loads(bytes(row["state"]))}
