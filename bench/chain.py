"""The hash chain's audit: how long ``audit verify`` takes to walk a million events.

A scratch store gets ``--tickets`` tickets in bulk (``bench/history.py``: two events each, as
a submission stores them, chained by the trigger as any write), then, in the same run:

1. the rows read alone, in store order and in the walk's batches (the floor of any walk);
2. the whole chain walked and every digest recomputed (``workers.chain_audit.verify_chain``);
3. the walk from a checkpoint 10,000 events before the head (``--from-position``).

Target (issue 27): a million events verified in at most 60 s on this machine; printed beside
the time is its ratio to reading the rows alone.

    .venv/bin/python bench/chain.py [--tickets 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.chain import Checkpoint, stored_rows
from application.config import Settings
from bench.history import load_history
from bench.http_path import machine_score
from bench.support import scratch_database
from domain.actors import Actor, Role
from projections.view import TicketingEventLog
from workers.chain_audit import verify_chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine score: {machine_score():.1f} (million iterations a second of a fixed loop)")
    with scratch_database() as url:
        app = build_app(Settings(database_url=url, default_assignee="lead"))
        try:
            member = Actor("bench-user", Role.USER, "B")
            app.platform.member_joined("chained", member.account_id, str(uuid4()))
            started = time.perf_counter()
            load_history(app, "chained", member, args.tickets)
            print(f"stored {args.tickets:,} tickets in {time.perf_counter() - started:.0f} s")
        finally:
            app.store.close()
        event_log = TicketingEventLog(build_app(Settings(database_url=url)).store.env)
        try:
            started = time.perf_counter()
            with event_log.datastore.transaction(commit=False) as curs:
                read = sum(1 for _ in stored_rows(curs, "ticketing_events", 0))
            reading = time.perf_counter() - started
            started = time.perf_counter()
            report = verify_chain(event_log, [], None)
            walking = time.perf_counter() - started
            assert report.passed, report.breaks
            with event_log.datastore.transaction(commit=False) as curs:
                row = curs.execute(
                    "SELECT notification_id, chain_digest FROM ticketing_events "
                    "ORDER BY notification_id DESC OFFSET 10000 LIMIT 1"
                ).fetchone()
            assert row is not None
            checkpoint = Checkpoint(
                int(row["notification_id"]), bytes(row["chain_digest"]), datetime.now(UTC)
            )
            started = time.perf_counter()
            tail = verify_chain(event_log, [checkpoint], report.head)
            incremental = time.perf_counter() - started
            assert tail.passed, tail.breaks
        finally:
            event_log.close()
    print(f"\nrows read alone:       {read:,} in {reading:.1f} s")
    print(
        f"whole chain verified:  {report.checked:,} in {walking:.1f} s "
        f"({walking / reading:.2f} x reading alone; "
        f"{walking * 1_000_000 / report.checked:.0f} s a million, target <= 60)"
    )
    print(f"from a checkpoint:     {tail.checked:,} in {incremental:.2f} s")


if __name__ == "__main__":
    main()
