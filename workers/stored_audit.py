"""``ticketing audit verify``, the parts beside the chain: what else the database holds and the
service serves. Snapshots must carry a seal that holds, or (taken before sealing) equal what
their events give (``application.sealing``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from psycopg.sql import SQL, Identifier

from application.sealing import SealedSnapshots, snapshot_finding
from application.tickets import TicketingApp

BATCH = 200  # snapshots read at once (each may be large: a ticket's whole conversation)


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
    if not findings:
        print(f"snapshots passed: {checked:,} sealed, or equal to what their events give")
        return True
    print(f"snapshots FAILED: {len(findings):,} of {checked:,} (each is passed over when served)")
    for finding in findings[:shown]:
        print(f"  {finding}")
    return False
