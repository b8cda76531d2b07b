"""``ticketing audit verify``, the parts beside the chain: what else the database holds and the
service serves. Snapshots must carry a seal that holds, or (taken before sealing) equal what
their events give (``application.sealing``); every attached file's bytes must have the sha256
its ticket's events recorded, and the attachment index must name that digest
(``application.attachments.recorded_digests``); every event from the first signed one on must
carry a signature that holds (``application.signatures``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from application.attachments import recorded_digests
from application.sealing import SealedSnapshots, snapshot_finding
from application.signatures import SIGNATURES_TABLE, signature
from application.tickets import TicketingApp

BATCH = 200  # snapshots read at once (each may be large: a ticket's whole conversation)
EVENT_BATCH = 1_000  # events read at once


def stored_snapshots(app: TicketingApp) -> Iterator[StoredEvent]:
    """Every stored snapshot, in batches by (aggregate, version)."""
    snapshots = cast(SealedSnapshots, app.store.snapshots)
    recorder = cast(PostgresAggregateRecorder, snapshots.recorder)
    statement = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        "WHERE (originator_id, originator_version) > (%s, %s) "
        "ORDER BY originator_id, originator_version LIMIT %s"
    ).format(Identifier(recorder.events_table_name))
    after: tuple[UUID, int] = (UUID(int=0), -1)
    while True:
        with app.store.datastore.transaction(commit=False) as curs:
            rows = curs.execute(statement, (*after, BATCH)).fetchall()
        for row in rows:
            yield StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        if len(rows) < BATCH:
            return
        after = (rows[-1]["originator_id"], rows[-1]["originator_version"])


def audit_snapshots(app: TicketingApp, shown: int = 20) -> bool:
    """Check every snapshot; print what was found."""
    snapshots = cast(SealedSnapshots, app.store.snapshots)
    checked, findings = 0, []
    for stored in stored_snapshots(app):
        checked += 1
        finding = snapshot_finding(snapshots.key, stored, app.store.mapper, app.store.events)
        if finding is not None:
            findings.append(finding)
    return _report(
        "snapshots",
        findings,
        f"{checked:,} sealed, or equal to what their events give",
        f"of {checked:,} (each is passed over when served)",
        shown,
    )


def audit_attachments(app: TicketingApp, shown: int = 20) -> bool:
    """Check the bytes of every attached file against its ticket's events; print what was
    found."""
    with app.store.datastore.transaction(commit=False) as curs:
        rows = curs.execute(
            "SELECT a.id, a.sha256, r.ticket_id FROM attachments a "
            "JOIN attachment_references r ON r.attachment_id = a.id ORDER BY r.ticket_id"
        ).fetchall()
    findings: list[str] = []
    recorded: dict[str, str] = {}
    ticket_id: UUID | None = None
    for row in rows:
        if row["ticket_id"] != ticket_id:
            ticket_id = row["ticket_id"]
            recorded = recorded_digests(app.store.get_ticket(row["ticket_id"]))
        attachment, digest = str(row["id"]), row["sha256"]
        if recorded.get(attachment) != digest:
            findings.append(
                f"attachment {attachment}: the index names another digest than its event"
            )
        elif hashlib.sha256(app.store.blobs.get(digest)).hexdigest() != digest:
            findings.append(f"attachment {attachment}: its bytes are not the ones recorded")
    return _report(
        "attachments",
        findings,
        f"{len(rows):,} attached files have the recorded sha256",
        f"of {len(rows):,} (none of them is served)",
        shown,
    )


def audit_signatures(app: TicketingApp, key: bytes, shown: int = 20) -> bool:
    """Check every event's signature (``application.signatures``); print what was found."""
    if not key:
        print(
            "signatures not checked: TICKETING_SIGNING_KEY is not set (events written after "
            "the last checkpoint are then proven by nothing outside the database)"
        )
        return True
    recorder = cast(PostgresAggregateRecorder, app.store.recorder)
    statement = SQL(
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
        "s.signature FROM {events} e LEFT JOIN {signatures} s "
        "ON s.originator_id = e.originator_id AND s.originator_version = e.originator_version "
        "WHERE e.notification_id > %s ORDER BY e.notification_id LIMIT %s"
    ).format(events=Identifier(recorder.events_table_name), signatures=Identifier(SIGNATURES_TABLE))
    checked, after = 0, 0
    first_signed: int | None = None
    findings: list[tuple[int, str]] = []
    unsigned_since: list[int] = []  # unsigned positions after the first signed one
    while True:
        with app.store.datastore.transaction(commit=False) as curs:
            rows = curs.execute(statement, (after, EVENT_BATCH)).fetchall()
        for row in rows:
            checked += 1
            position = int(row["notification_id"])
            if row["signature"] is None:
                if first_signed is not None:
                    unsigned_since.append(position)
                continue
            first_signed = position if first_signed is None else first_signed
            expected = signature(
                key,
                row["originator_id"],
                row["originator_version"],
                row["topic"],
                bytes(row["state"]),
            )
            if not hmac.compare_digest(expected, bytes(row["signature"])):
                findings.append((position, "its signature does not hold (edited)"))
        if len(rows) < EVENT_BATCH:
            break
        after = int(rows[-1]["notification_id"])
    findings += [(p, "no signature (not written by the service)") for p in unsigned_since]
    if first_signed is None:
        print(f"signatures: none of {checked:,} events is signed (stored before signing began)")
        return True
    return _report(
        "signatures",
        [f"position {position:,}: {finding}" for position, finding in sorted(findings)],
        f"every event from position {first_signed:,} on is signed",
        f"of {checked:,} events",
        shown,
    )


def _report(part: str, findings: list[str], passed: str, failed: str, shown: int) -> bool:
    """Print one part's verdict (and its first ``shown`` findings); whether it passed."""
    if not findings:
        print(f"{part} passed: {passed}")
        return True
    print(f"{part} FAILED: {len(findings):,} {failed}")
    for finding in findings[:shown]:
        print(f"  {finding}")
    return False
