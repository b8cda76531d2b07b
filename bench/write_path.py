"""Write path: commands per second through the application, against the bare eventsourcing
recorder and raw INSERT + COMMIT, and submissions into a short and a long history.

Each ticket takes five commands: submit, three replies from the submitter, and mark complete
by an admin. The recorder loop commits one stored event per transaction (the ceiling of
anything built on it), beside the same loop through the service's own recorder, whose insert
takes one round trip where the library's takes five; the raw loop is a psycopg single-row
INSERT + COMMIT. Target: application >= 0.6 x the library's recorder.

History: submissions into a workspace (and by an account) with 100 tickets and into one with
100,000 (loaded in bulk, ``bench/history.py``), alternating batches, in the same run. Target:
the second rate >= 0.8 x the first.

Then: eight threads in one workspace (write races), and two application instances replying in
turn to the same tickets (two API processes with their own caches), each with the retries the
commands took.

    .venv/bin/python bench/write_path.py [--tickets 300] [--history 100000] [--submissions 500]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.bootstrap import build_app
from application.config import Settings
from application.recorder import TicketingRecorder
from application.tickets import TicketingApp
from bench.history import load_history
from bench.support import scratch_database
from domain.actors import Actor, Role

COMMANDS_PER_TICKET = 5


def application_seconds(app: TicketingApp, tickets: int) -> float:
    """Seconds the application takes for ``tickets`` tickets' five commands each."""
    admin = Actor("bench-admin", Role.ADMIN, "Admin")
    alice = Actor("bench-alice", Role.USER, "Alice")
    workspace_id = f"bench-{uuid4().hex[:8]}"
    app.platform.member_joined(workspace_id, alice.account_id, str(uuid4()))
    started = time.perf_counter()
    for n in range(tickets):
        ticket_id = str(
            app.submit(
                alice, workspace_id, ticket_type="bug", title=f"Bench {n}", description="d"
            ).ticket.id
        )
        for reply in range(3):
            app.reply(alice, ticket_id, f"reply {reply}")
        app.complete(admin, ticket_id)
    return time.perf_counter() - started


def application_rate(database_url: str, tickets: int) -> float:
    """Commands per second through TicketingApp (profiling and other benchmarks)."""
    app = build_app(Settings(database_url=database_url, default_assignee="bench-admin"))
    try:
        return tickets * COMMANDS_PER_TICKET / application_seconds(app, tickets)
    finally:
        app.store.close()


def history_rates(database_url: str, long: int, submissions: int) -> tuple[float, float]:
    """Submissions per second into a 100-ticket and a ``long``-ticket workspace."""
    app = build_app(Settings(database_url=database_url, default_assignee="bench-admin"))
    try:
        short_ws, long_ws = f"short-{uuid4().hex[:6]}", f"long-{uuid4().hex[:6]}"
        submitters = {
            short_ws: Actor(f"few-{short_ws}", Role.USER, "Few"),
            long_ws: Actor(f"many-{long_ws}", Role.USER, "Many"),
        }
        for ws, submitter in submitters.items():
            app.platform.member_joined(ws, submitter.account_id, str(uuid4()))
        load_history(app, short_ws, submitters[short_ws], 100)
        started = time.perf_counter()
        load_history(app, long_ws, submitters[long_ws], long)
        print(f"loaded {long:,} tickets in {time.perf_counter() - started:.0f}s", flush=True)
        elapsed = dict.fromkeys(submitters, 0.0)
        batch = 50
        for _ in range(max(1, submissions // batch)):
            for ws, submitter in submitters.items():
                started = time.perf_counter()
                for n in range(batch):
                    app.submit(submitter, ws, ticket_type="bug", title=f"n{n}", description="d")
                elapsed[ws] += time.perf_counter() - started
        done = max(1, submissions // batch) * batch
        return done / elapsed[short_ws], done / elapsed[long_ws]
    finally:
        app.store.close()


def retry_rate(url: str, threads: int = 8, each: int = 60) -> tuple[float, float]:
    """Submissions (with a reply each) from ``threads`` threads into one workspace, and the
    retries they took per command (write races and stale reads)."""
    app = build_app(Settings(database_url=url, default_assignee="bench-admin"))
    try:
        workspace_id = f"busy-{uuid4().hex[:6]}"
        people = [Actor(f"busy-{n}", Role.USER, "Busy") for n in range(threads)]
        for person in people:
            app.platform.member_joined(workspace_id, person.account_id, str(uuid4()))

        def work(person: Actor) -> None:
            for n in range(each):
                ticket = app.submit(
                    person, workspace_id, ticket_type="bug", title=f"t{n}", description="d"
                ).ticket
                app.reply(person, str(ticket.id), "more")

        before = app.store.retries
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, people))
        commands = threads * each * 2
        return commands / (time.perf_counter() - started), (app.store.retries - before) / commands
    finally:
        app.store.close()


def recorder_seconds(recorder: PostgresApplicationRecorder, statements: int) -> float:
    """Seconds ``recorder`` alone takes for ``statements`` inserts of one stored event each:
    its insert locks the events table (so notification ids commit in order, which the
    projections and the Kafka publisher rely on) and notifies listeners. The library's
    recorder is the ceiling of any application built on it; the service's own
    (``TicketingRecorder``) sends the same insert in one round trip instead of five."""
    started = time.perf_counter()
    for _ in range(statements):
        recorder.insert_events(
            [StoredEvent(originator_id=uuid4(), originator_version=1, topic="bench", state=b"{}")]
        )
    return time.perf_counter() - started


def raw_seconds(conn: psycopg.Connection[Any], statements: int) -> float:
    """Seconds for single-row INSERT + COMMIT with plain psycopg."""
    started = time.perf_counter()
    for n in range(statements):
        conn.execute("INSERT INTO bench_raw (t) VALUES (%s)", (f"row {n}",))
    return time.perf_counter() - started


def chain_trigger(conn: psycopg.Connection[Any], enabled: bool) -> None:
    """Switch the hash chain's trigger on or off (issue 27: what it costs the write path)."""
    switch = "ENABLE" if enabled else "DISABLE"
    conn.execute(f"ALTER TABLE ticketing_events {switch} TRIGGER ticketing_events_chain")


def interleaved_rates(url: str, tickets: int, rounds: int = 5) -> dict[str, float]:
    """Application (with and without the hash chain, with and without signatures), recorder
    (the library's and the service's own) and raw rates, measured in alternating rounds so
    that the machine's changing speed during a run weighs on all alike."""
    app = build_app(Settings(database_url=url, default_assignee="bench-admin"))
    ours = app.store.recorder
    assert isinstance(ours, TicketingRecorder)  # the benchmark runs on PostgreSQL
    library = PostgresApplicationRecorder(
        ours.datastore, events_table_name=ours.events_table_name
    )  # the same table, its trigger and its lock, through eventsourcing's own insert
    seconds = {
        "application": 0.0, "signed": 0.0, "unchained": 0.0, "recorder": 0.0, "ours": 0.0,
        "raw": 0.0,
    }  # fmt: skip
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, t text)")
            raw_seconds(conn, 200)  # warm the server up
            per_round = max(1, tickets // rounds)
            commands = per_round * COMMANDS_PER_TICKET
            for _ in range(rounds):
                seconds["application"] += application_seconds(app, per_round)
                ours.signing_key = b"bench signing key"  # every event signed (issue 42)
                try:
                    seconds["signed"] += application_seconds(app, per_round)
                finally:
                    ours.signing_key = b""
                chain_trigger(conn, enabled=False)
                try:
                    seconds["unchained"] += application_seconds(app, per_round)
                finally:
                    chain_trigger(conn, enabled=True)
                seconds["recorder"] += recorder_seconds(library, commands)
                seconds["ours"] += recorder_seconds(ours, commands)
                seconds["raw"] += raw_seconds(conn, commands)
    finally:
        app.store.close()
    total = rounds * per_round * COMMANDS_PER_TICKET
    return {name: total / spent for name, spent in seconds.items()}


def taking_turns(url: str, tickets: int = 100, rounds: int = 12) -> tuple[float, float]:
    """Replies to the same tickets from two application instances in turn (two API processes
    behind a load balancer, each with its own cache), and the retries they took per reply."""
    apps = [build_app(Settings(database_url=url, default_assignee="bench-admin")) for _ in range(2)]
    try:
        alice = Actor("turns-alice", Role.USER, "Alice")
        workspace_id = f"turns-{uuid4().hex[:6]}"
        apps[0].platform.member_joined(workspace_id, alice.account_id, str(uuid4()))
        ticket_ids = [
            str(apps[0].submit(alice, workspace_id, ticket_type="bug", title="t",
                               description="d").ticket.id)
            for _ in range(tickets)
        ]  # fmt: skip
        before = sum(app.store.retries for app in apps)
        started = time.perf_counter()
        for turn in range(rounds):
            for ticket_id in ticket_ids:
                apps[turn % 2].reply(alice, ticket_id, f"turn {turn}")
        replies = tickets * rounds
        retries = sum(app.store.retries for app in apps) - before
        return replies / (time.perf_counter() - started), retries / replies
    finally:
        for app in apps:
            app.store.close()


def main() -> None:
    """Run both loops on one scratch database and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--history", type=int, default=100_000, help="tickets of the long one")
    parser.add_argument("--submissions", type=int, default=500, help="into each workspace")
    args = parser.parse_args()
    with scratch_database() as url:
        rates = interleaved_rates(url, args.tickets)
        app, recorder, raw = rates["application"], rates["recorder"], rates["raw"]
        short, long = history_rates(url, args.history, args.submissions)
        busy, retries = retry_rate(url)
        turns, turn_retries = taking_turns(url)
    print(f"application:   {app:8.1f} commands/s ({args.tickets} tickets x {COMMANDS_PER_TICKET})")
    print(f"recorder only: {recorder:8.1f} commits/s (eventsourcing insert_events, 1 event)")
    print(f"our recorder:  {rates['ours']:8.1f} commits/s (TicketingRecorder: one round trip)")
    print(f"raw insert:    {raw:8.1f} commits/s")
    print(f"without chain: {rates['unchained']:8.1f} commands/s (the hash chain's trigger off)")
    print(f"app/recorder:  {app / recorder:8.2f} (target >= 0.6)")
    print(f"app/ours:      {app / rates['ours']:8.2f} (against the service's own recorder)")
    print(f"chained/not:   {app / rates['unchained']:8.2f} (target >= 0.9, issue 27)")
    print(f"signed/not:    {rates['signed'] / app:8.2f} (target >= 0.9, issue 42)")
    print(f"app/raw:       {app / raw:8.2f}")
    print(f"submissions:   {short:8.1f}/s with 100 tickets, {long:8.1f}/s with {args.history:,}")
    print(f"long/short:    {long / short:8.2f} (target >= 0.8)")
    print(f"8 threads, one workspace: {busy:.1f} commands/s, {retries:.3f} retries per command")
    print(f"2 processes in turn on 100 tickets: {turns:.1f} replies/s, "
          f"{turn_retries:.3f} retries per reply")  # fmt: skip


if __name__ == "__main__":
    main()
