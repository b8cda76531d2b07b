"""A randomised fault run judged by a history checker (issue 28): Jepsen's method, for this service.

Real processes: an embedded PostgreSQL, a durable Tansu broker, ``ticketing serve`` (a master
and two API processes) and two ``ticketing worker``s. Client threads run a mixed workload over
HTTP: submissions with an ``Idempotency-Key``, replies from both sides, accept, forward, close,
rate, uploads attached to replies, each retried (same key) on a timeout, a lost connection or
a 503. Platform events go to Kafka: joins, leaves, an account cancelled, a workspace dissolved,
exact redeliveries and poison messages. Meanwhile a schedule drawn from the seed injects
faults by process id: SIGKILL of an API process, of the API's master or of a worker (then a
restart), SIGSTOP/SIGCONT of PostgreSQL for 1 to 15 s, the broker stopped and started, a
worker's connections terminated from PostgreSQL (``pg_terminate_backend``), and the sweeps'
clock jumped eight days ahead (``ticketing autoclose --now``: the only clock the design lets
an operator move).

Then the checker reads only what the clients saw and what the service published (the topics
from the broker's store, see ``stored_values``; a platform event counts as sent once the broker
acknowledged it), and prints each anomaly with the seed that reproduces it; its last line is
``anomalies: N (seed S)``:

- every acknowledged message (2xx) is in its ticket's history exactly once, in the order the
  ticket's client was answered; an unacknowledged one appears at most once (its retries carry
  the same key) and only if a retry may have been stored;
- every acknowledged submission is one ticket; every acknowledged accept, forward, close and
  rate is in the history;
- every stored ticket event is on ``tickets.events`` (duplicates only with the same
  ``event_id``), in each ticket's version order;
- every platform event has exactly one effect (its id applied once; the cancelled account's and
  the dissolved workspace's tickets closed once); poison goes to the dead-letter topic;
- every notification is on ``notifications.accounts`` once per id (a duplicate only as the same
  document);
- ``ticketing audit verify`` passes (the hash chain and its checkpoints, the read models against
  a replay);
- the lists show every acknowledged ticket with its final status within 5 s of the last fault.

    .venv/bin/python bench/chaos.py [--duration 90] [--seed S] [--clients 4]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import psycopg
from kafka import KafkaProducer
from kafka.record.memory_records import MemoryRecords
from psycopg.conninfo import make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.config import Settings
from application.tokens import issue_token
from workers.embedded_broker import EmbeddedBroker, free_port
from workers.embedded_postgres import EmbeddedPostgres
from workers.kafka_clients import ensure_topics

ROOT = Path(__file__).resolve().parent.parent
SECRET = "chaos-secret-that-is-long-enough-for-hs256"  # noqa: S105 - a scratch cluster's
LEAD, HANDLER, AUDITOR = "chaos-lead", "chaos-handler", "chaos-auditor"
WORKSPACE, DOOMED = "chaos-ws", "chaos-doomed"
CANCELLED = "chaos-cancelled"
TIMEOUT = 8.0  # seconds a client waits for an answer before it retries
SETTLE = 5.0  # lists must converge within this many seconds of the last fault
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


# ---------------------------------------------------------------------------- the cluster


class Cluster:
    """PostgreSQL, the broker, ``ticketing serve`` and two workers, each restartable by pid."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.postgres = EmbeddedPostgres(folder / "postgres")
        self.broker = EmbeddedBroker(free_port(), folder / "broker.log", storage=folder / "kafka")
        self.port = free_port()
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None, None]
        self.database = ""
        self.stopped_postgres = False

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, role: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/"),
            "TICKETING_DATABASE_URL": make_conninfo(self.database, application_name=role),
            "TICKETING_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "TICKETING_JWT_SECRET": SECRET,
            "TICKETING_DEFAULT_ASSIGNEE": LEAD,
            "TICKETING_BIND": f"127.0.0.1:{self.port}",
            "TICKETING_LOG_LEVEL": "WARNING",
            "TICKETING_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "TICKETING_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "TICKETING_KAFKA_MAX_POLL_INTERVAL_MS": "3000",
            "TICKETING_AUDIT_CHECKPOINT_SECONDS": "5",
            "TICKETING_LIMIT_SUBMISSIONS_PER_MINUTE": "0",
            "TICKETING_LIMIT_MESSAGES_PER_MINUTE": "0",
            "TICKETING_LIMIT_UPLOAD_MIB_PER_HOUR": "0",
        }

    def _spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        out = (self.folder / f"{role}.log").open("ab")
        return subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "workers.cli", *args], env=self.env(role), cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def start(self) -> None:
        base = self.postgres.start()
        self.database = self.postgres.url("chaos")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS chaos")
            conn.execute("CREATE DATABASE chaos")
        self.broker.start()
        ensure_topics(self.broker.bootstrap, Settings().all_topics)
        self.start_api()
        for n in range(2):
            self.start_worker(n)
        self.wait_ready()

    def start_api(self) -> None:
        self.api = self._spawn("api", "serve", "--workers", "2")

    def start_worker(self, n: int) -> None:
        self.workers[n] = self._spawn(f"worker-{n}", "worker")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=3) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise RuntimeError("the cluster did not become ready")

    def api_children(self) -> list[psutil.Process]:
        if self.api is None or self.api.poll() is not None:
            return []
        children: list[psutil.Process] = psutil.Process(self.api.pid).children()
        return children

    def postgres_pids(self) -> list[int]:
        pid = self.postgres.pid
        if pid is None:
            return []
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]

    def stop(self) -> None:
        if self.stopped_postgres:
            self.signal_postgres(signal.SIGCONT)
        for process in [self.api, *self.workers]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [self.api, *self.workers]:
            if process is not None:
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.broker.stop()
        self.postgres.stop()

    def signal_postgres(self, sig: signal.Signals) -> None:
        for pid in self.postgres_pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
        self.stopped_postgres = sig == signal.SIGSTOP


# ------------------------------------------------------------------------------ the faults


@dataclass
class Fault:
    """One scheduled fault: when (seconds into the run), what, and for how long."""

    at: float
    kind: str
    seconds: float = 0.0
    target: int = 0


FAULTS = (
    "kill-api-process", "kill-api-master", "kill-worker", "stop-postgres", "restart-broker",
    "terminate-worker-connections", "clock-jump",
)  # fmt: skip


def schedule(rng: random.Random, duration: float) -> list[Fault]:
    """Faults drawn from the seed: one every 4 to 12 s, none in the last 10 s."""
    faults, at = [], rng.uniform(3, 8)
    while at < duration - 10:
        kind = rng.choice(FAULTS)
        seconds = rng.uniform(1, 15) if kind == "stop-postgres" else rng.uniform(1, 6)
        faults.append(Fault(round(at, 1), kind, round(seconds, 1), rng.randrange(2)))
        at += seconds + rng.uniform(4, 12)
    return faults


def inject(cluster: Cluster, fault: Fault, stop: threading.Event) -> None:
    """Do one fault and undo it (restart, SIGCONT), by process id."""
    if fault.kind == "kill-api-process":
        children = cluster.api_children()
        if children:
            children[fault.target % len(children)].kill()  # gunicorn starts another
    elif fault.kind == "kill-api-master":
        if cluster.api is not None:
            for child in cluster.api_children():
                child.kill()
            cluster.api.kill()
            cluster.api.wait(30)
        stop.wait(fault.seconds)
        cluster.start_api()
    elif fault.kind == "kill-worker":
        process = cluster.workers[fault.target]
        if process is not None:
            process.kill()
            process.wait(30)
        stop.wait(fault.seconds)
        cluster.start_worker(fault.target)
    elif fault.kind == "stop-postgres":
        cluster.signal_postgres(signal.SIGSTOP)
        try:
            stop.wait(fault.seconds)
        finally:
            cluster.signal_postgres(signal.SIGCONT)
    elif fault.kind == "restart-broker":
        cluster.broker.stop()
        stop.wait(fault.seconds)
        cluster.broker.start()
    elif fault.kind == "terminate-worker-connections":
        with psycopg.connect(cluster.database, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (f"worker-{fault.target}",),
            )
    elif fault.kind == "clock-jump":
        now = (datetime.now(UTC) + timedelta(days=8)).isoformat()
        subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "workers.cli", "autoclose", "--now", now],
            env=cluster.env("sweep"), cwd=ROOT, capture_output=True, timeout=120, check=False,
        )  # fmt: skip


# ---------------------------------------------------------------------------- the clients


@dataclass
class Op:
    """One logical command a client sent (with every retry of it)."""

    client: int
    kind: str
    ticket: str | None
    key: str  # the Idempotency-Key, and the text that finds it in a history
    acked: bool = False
    status: int = 0  # the last answer's status (0: no answer)
    attempts: int = 0
    done_at: float = 0.0
    ticket_after: str | None = None


@dataclass
class Journal:
    """What every client saw, in the order it saw it."""

    ops: list[Op] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: Op) -> None:
        with self.lock:
            self.ops.append(op)


def request(
    base: str, method: str, path: str, account: str, role: str, body: Any = None,
    headers: dict[str, str] | None = None, raw: bytes | None = None, content_type: str = "",
) -> tuple[int, Any]:  # fmt: skip
    """One HTTP request; status 0 for no answer (timeout, refused, reset)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method)  # noqa: S310
    req.add_header("Authorization", f"Bearer {issue_token(SECRET, account, role, ttl=3600)}")
    req.add_header("Content-Type", content_type or "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:  # noqa: S310
            text = answer.read()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"null")
        except ValueError:
            return error.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return 0, None


def retried(op: Op, journal: Journal, stop: threading.Event, send: Any) -> Any:
    """Send until an answer that is not a timeout or a 503, at most 12 times; records the op."""
    journal.add(op)
    while op.attempts < 12:
        op.attempts += 1
        op.status, body = send()
        if op.status not in (0, 502, 503, 504):
            op.acked = 200 <= op.status < 300
            op.done_at = time.monotonic()
            return body
        time.sleep(min(0.5 * op.attempts, 3))
    return None


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def client(n: int, base: str, journal: Journal, rng: random.Random, stop: threading.Event) -> None:
    """One user and the lead handler working the user's tickets until ``stop``."""
    user = f"chaos-user-{n}"
    tickets: list[str] = []
    while not stop.is_set():
        choice = rng.random()
        if not tickets or choice < 0.25:
            key = f"submit-{n}-{uuid.uuid4().hex[:10]}"
            op = Op(n, "submit", None, key)
            body = {"type": "bug", "title": key, "description": "chaos"}
            answer = retried(op, journal, stop, partial(
                request, base, "POST", f"/workspaces/{WORKSPACE}/tickets", user, "user", body,
                {"Idempotency-Key": key},
            ))  # fmt: skip
            if op.acked and answer:
                op.ticket_after = answer["id"]
                tickets.append(answer["id"])
            continue
        ticket = rng.choice(tickets)
        kind = rng.choice(["user-reply", "lead-reply", "accept", "forward", "close", "rate",
                           "attach"])  # fmt: skip
        key = f"{kind}-{n}-{uuid.uuid4().hex[:10]}"
        op = Op(n, kind, ticket, key)
        path = f"/tickets/{ticket}"
        if kind in ("user-reply", "lead-reply"):
            who, role = (user, "user") if kind == "user-reply" else (LEAD, "admin")
            retried(op, journal, stop, partial(
                request, base, "POST", f"{path}/messages", who, role, {"body": key},
                {"Idempotency-Key": key},
            ))  # fmt: skip
        elif kind == "attach":
            raw, content_type = multipart(f"{key}.png", PNG)
            uploaded = request(base, "POST", "/attachments", user, "user", raw=raw,
                               content_type=content_type)  # fmt: skip
            if uploaded[0] == 201 and uploaded[1]:
                ids = [item["id"] for item in uploaded[1]]
                retried(op, journal, stop, partial(
                    request, base, "POST", f"{path}/messages", user, "user",
                    {"body": key, "attachment_ids": ids}, {"Idempotency-Key": key},
                ))  # fmt: skip
        elif kind == "accept":
            retried(
                op, journal, stop, partial(request, base, "POST", f"{path}/accept", LEAD, "admin")
            )
        elif kind == "forward":
            retried(op, journal, stop, partial(
                request, base, "POST", f"{path}/forward", LEAD, "admin", {"handler_id": HANDLER},
            ))  # fmt: skip
        elif kind == "close":
            retried(
                op, journal, stop, partial(request, base, "POST", f"{path}/close", user, "user")
            )
        elif kind == "rate":
            retried(op, journal, stop, partial(
                request, base, "POST", f"{path}/rating", user, "user", {"score": rng.randint(1, 5)},
            ))  # fmt: skip
        time.sleep(rng.uniform(0.0, 0.05))


# ------------------------------------------------------------------------ platform events


@dataclass
class Platform:
    """The platform events the broker acknowledged, by id (poison has none), and the ones it
    has not acknowledged yet (sent again until it does)."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    poison: int = 0
    pending: list[tuple[str, str, bytes, dict[str, Any] | None]] = field(default_factory=list)


class PlatformSender:
    """The platform's producer: a message counts as sent once the broker acknowledged it; one
    that is not (the broker down, or refusing the producer's sequence after a restart) is
    kept and sent again, as the platform would, with a new producer. Before, messages were
    sent without looking at the answer: after a broker restart the broker refused a producer's
    sequence numbers, every later message was lost, and the checker expected their effects
    (274 platform events and 71 poison of the first one-hour run)."""

    def __init__(self, bootstrap: str, platform: Platform) -> None:
        self.bootstrap = bootstrap
        self.platform = platform
        self.producer: KafkaProducer | None = None

    def send(self, topic: str, key: str, value: bytes, message: dict[str, Any] | None) -> None:
        """Queue one message (``message`` None: poison) and send what is queued."""
        self.platform.pending.append((topic, key, value, message))
        self.flush(timeout=10)

    def flush(self, timeout: float) -> bool:
        """Send every queued message, each acknowledged before the next; False if some remain."""
        deadline = time.monotonic() + timeout
        while self.platform.pending and time.monotonic() < deadline:
            topic, key, value, message = self.platform.pending[0]
            try:
                if self.producer is None:
                    self.producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
                self.producer.send(topic, key=key.encode(), value=value).get(timeout=10)
            except Exception as error:  # the broker is down or refused it: a new producer
                log(f"platform message not acknowledged ({type(error).__name__}), sending again")
                self.close()
                time.sleep(0.5)
                continue
            self.platform.pending.pop(0)
            if message is None:
                self.platform.poison += 1
            elif message not in self.platform.sent:  # sent twice on purpose: one event
                self.platform.sent.append(message)
        return not self.platform.pending

    def close(self) -> None:
        """Close the producer (a new one is made when needed)."""
        if self.producer is not None:
            with contextlib.suppress(Exception):
                self.producer.close(2)
            self.producer = None


def emit(sender: PlatformSender, topic: str, key: str, kind: str, data: dict[str, str],
         twice: bool = False) -> None:  # fmt: skip
    message = {"event_id": str(uuid.uuid4()), "type": kind,
               "occurred_at": datetime.now(UTC).isoformat(), "data": data}  # fmt: skip
    for _ in range(2 if twice else 1):
        sender.send(topic, key, json.dumps(message).encode(), message)


# ------------------------------------------------------------------------------ the checker


def stored_values(storage: Path, topic: str) -> list[bytes]:
    """Every record value of a topic as the broker stored it, each partition in offset order,
    read from the broker's object store (one Kafka record batch per ``<base offset>.batch``).
    Not through a consumer: this broker lists every object of a partition on each fetch, so
    reading a topic of 210,000 records from its start took longer than 15 minutes after the
    one-hour run (and its first fetch, longer than a reader's patience: the topic read as
    empty). What the broker stored is what any consumer would be given."""
    values: list[bytes] = []
    for partition in sorted(storage.glob(f"*/clusters/*/topics/{topic}/partitions/*")):
        batches = sorted((partition / "records").glob("*.batch"), key=lambda p: int(p.stem))
        for path in batches:
            records = MemoryRecords(path.read_bytes())
            while records.has_next():
                values.extend(record.value for record in records.next_batch())
    return values


@dataclass
class Observed:
    """What the checker read after the run: only what clients can read and what the service
    published (and, for the effects of platform events, the ids it recorded as applied)."""

    histories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)  # ticket -> status of its history
    titles: Counter[str] = field(default_factory=Counter)  # the submissions' keys, as listed
    stored: set[tuple[str, int]] = field(default_factory=set)  # (ticket, version) in the store
    published: list[dict[str, Any]] = field(default_factory=list)  # tickets.events, in order
    applied: Counter[str] = field(default_factory=Counter)  # platform event ids applied
    dead_letters: int = 0
    derived: set[str] = field(default_factory=set)  # notification ids derived
    notifications: list[bytes] = field(default_factory=list)  # notifications.accounts values
    audit: tuple[int, str] = (0, "")
    converged_after: float | None = None  # seconds after the last fault; None: never
    list_differences: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def judge(observed: Observed, journal: Journal, platform: Platform) -> list[str]:
    """Every anomaly in what was observed, given what the clients saw."""
    anomalies: list[str] = []
    for ticket, status in sorted(observed.unreadable.items()):
        anomalies.append(f"ticket {ticket}: its history answered {status}")
    # submissions: one ticket per acknowledged key; never two for one key
    for op in journal.ops:
        count = observed.titles[op.key] if op.kind == "submit" else 1
        if count > 1 or (op.acked and count != 1):
            anomalies.append(f"submission {op.key}: {count} tickets (acknowledged: {op.acked})")
    # messages: acknowledged exactly once, unacknowledged at most once, in acknowledged order
    by_ticket: dict[str, list[Op]] = defaultdict(list)  # one pass: an hour's run has 45,000
    for op in journal.ops:
        if op.ticket:
            by_ticket[op.ticket].append(op)
    for ticket, history in sorted(observed.histories.items()):
        bodies = [str((entry.get("data") or {}).get("body", "")) for entry in history]
        seen = Counter(bodies)
        mine = by_ticket[ticket]
        for op in mine:
            if op.kind not in ("user-reply", "lead-reply", "attach") or op.attempts == 0:
                continue
            if op.acked and seen[op.key] != 1:
                anomalies.append(f"{op.kind} {op.key} on {ticket}: acknowledged, "
                                 f"{seen[op.key]} times in the history")  # fmt: skip
            elif not op.acked and seen[op.key] > (0 if op.status else 1):
                # refused (4xx): never stored; no answer at all: perhaps stored, once at most
                anomalies.append(f"{op.kind} {op.key} on {ticket}: not acknowledged "
                                 f"({op.status or 'no answer'}), {seen[op.key]} times "
                                 "in the history")  # fmt: skip
        acked = sorted((op for op in mine if op.acked and op.key in seen), key=lambda o: o.done_at)
        order = [bodies.index(op.key) for op in acked]
        if order != sorted(order):
            anomalies.append(f"ticket {ticket}: messages stored in another order than acknowledged")
        kinds = {str(entry.get("type", "")) for entry in history}
        for op in mine:
            wanted = STATE_EVENTS.get(op.kind)
            if op.acked and wanted is not None and wanted not in kinds:
                anomalies.append(f"{op.kind} on {ticket}: acknowledged, no {wanted} in its history")
        closes = [entry for entry in history if entry.get("type") == "TicketClosed"]
        if len(closes) > 1:
            anomalies.append(f"ticket {ticket}: closed {len(closes)} times")
    # every stored ticket event on tickets.events, one event_id each, in version order
    ids: dict[tuple[str, int], set[str]] = defaultdict(set)
    versions: dict[str, list[int]] = defaultdict(list)
    for message in observed.published:
        pair = (str(message["ticket_id"]), int(message["version"]))
        ids[pair].add(str(message["event_id"]))
        versions[pair[0]].append(pair[1])
    for ticket, version in sorted(observed.stored - set(ids)):
        anomalies.append(f"event {ticket} v{version}: stored, never on tickets.events")
    for (ticket, version), event_ids in sorted(ids.items()):
        if len(event_ids) > 1:
            anomalies.append(f"event {ticket} v{version}: on tickets.events with "
                             f"{len(event_ids)} event ids")  # fmt: skip
    for ticket, seen_versions in sorted(versions.items()):
        first = list(dict.fromkeys(seen_versions))
        if first != sorted(first):
            anomalies.append(f"ticket {ticket}: its versions reached tickets.events out of order")
    # platform events: each applied exactly once (redeliveries included); poison dead-lettered
    for message in platform.sent:
        times = observed.applied[message["event_id"]]
        if times != 1:
            anomalies.append(f"platform event {message['type']} {message['event_id']}: "
                             f"applied {times} times")  # fmt: skip
    if observed.dead_letters < platform.poison:
        anomalies.append(f"poison: {platform.poison} sent, {observed.dead_letters} dead-lettered")
    # notifications: each derived one published, a duplicate only as the same document
    documents: dict[str, set[bytes]] = defaultdict(set)
    for value in observed.notifications:
        documents[str(json.loads(value)["notification_id"])].add(value)
    for notification in sorted(observed.derived - set(documents)):
        anomalies.append(f"notification {notification}: derived, never published")
    for notification, variants in sorted(documents.items()):
        if len(variants) > 1:
            anomalies.append(f"notification {notification}: published as {len(variants)} documents")
    if observed.audit[0] != 0:
        anomalies.append(f"audit verify failed: {observed.audit[1][-500:]}")
    if observed.converged_after is None or observed.converged_after > SETTLE:
        anomalies.append(f"lists did not reach the store's last write within {SETTLE:.0f} s "
                         "of the last fault")  # fmt: skip
    for ticket, (in_list, in_details) in sorted(observed.list_differences.items()):
        anomalies.append(f"ticket {ticket}: the list shows {in_list}, its details {in_details}")
    return anomalies


STATE_EVENTS = {
    "accept": "TicketAccepted", "forward": "TicketForwarded", "close": "TicketClosed",
    "rate": "TicketRated",
}  # fmt: skip


def observe(cluster: Cluster, journal: Journal, healthy_at: float) -> Observed:
    """Read the histories, the topics, the applied ids, the audit and the lists' convergence."""
    seen = Observed()
    base = cluster.base
    seen.converged_after = caught_up_after(cluster, healthy_at)
    tickets = {op.ticket_after for op in journal.ops if op.ticket_after}
    tickets |= {op.ticket for op in journal.ops if op.ticket}
    for ticket in sorted(t for t in tickets if t):
        status, body = request(base, "GET", f"/tickets/{ticket}/history", AUDITOR, "auditor")
        if status == 200 and isinstance(body, list):
            seen.histories[ticket] = body
        else:
            seen.unreadable[ticket] = status
    with psycopg.connect(cluster.database) as conn:
        seen.titles = Counter(
            str(row[0]) for row in conn.execute("SELECT title FROM ticket_summaries")
        )
        seen.stored = {
            (str(row[0]), int(row[1]))
            for row in conn.execute(
                "SELECT originator_id, originator_version FROM ticketing_events "
                "WHERE topic LIKE '%%Ticket.%%'"
            )
        }
        seen.applied = Counter(
            str(row[0]) for row in conn.execute("SELECT event_id FROM applied_platform_events")
        )
        seen.derived = {
            str(row[0]) for row in conn.execute("SELECT notification_id FROM notifications")
        }
    settings = Settings()
    storage = cluster.folder / "kafka"  # the durable broker's object store
    seen.published = [json.loads(v) for v in stored_values(storage, settings.topic_ticket_events)]
    seen.dead_letters = len(stored_values(storage, f"{settings.topic_workspaces}.dlq"))
    seen.notifications = stored_values(storage, settings.topic_notifications)
    audit = subprocess.run(
        [sys.executable, "-m", "workers.cli", "audit", "verify"], env=cluster.env("audit"),
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    seen.audit = (audit.returncode, audit.stdout.strip())
    final = {
        ticket: (request(base, "GET", f"/tickets/{ticket}", AUDITOR, "auditor")[1] or {}).get(
            "status"
        )
        for ticket in seen.histories
    }
    shown = listed(base) or {}
    seen.list_differences = {
        ticket: (shown.get(ticket), status)
        for ticket, status in final.items()
        if shown.get(ticket) != status
    }
    return seen


def caught_up_after(cluster: Cluster, healthy_at: float, limit: float = 60) -> float | None:
    """Seconds from ``healthy_at`` until the lists include the store's last write (asked with
    ``X-Ticketing-Position``, which answers without ``X-Ticketing-Stale`` once they do)."""
    with psycopg.connect(cluster.database) as conn:
        row = conn.execute("SELECT max(notification_id) FROM ticketing_events").fetchone()
    head = str(row[0] if row and row[0] is not None else 0)
    token = issue_token(SECRET, AUDITOR, "auditor", ttl=3600)
    while time.monotonic() < healthy_at + limit:
        req = urllib.request.Request(f"{cluster.base}/api/v1/admin/tickets?limit=1")  # noqa: S310
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("X-Ticketing-Position", head)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as answer:  # noqa: S310
                if answer.headers.get("X-Ticketing-Stale") is None:
                    return time.monotonic() - healthy_at
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    return None


def listed(base: str) -> dict[str, str] | None:
    """Every ticket's status as the admin list shows it (None if a page failed)."""
    statuses: dict[str, str] = {}
    cursor = None
    while True:
        query = "/admin/tickets?limit=100" + (f"&cursor={cursor}" if cursor else "")
        status, page = request(base, "GET", query, AUDITOR, "auditor")
        if status != 200:
            return None
        statuses.update({item["id"]: item["status"] for item in page["items"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return statuses


# ---------------------------------------------------------------------------------- the run


def run(duration: float, seed: int, clients: int) -> int:
    rng = random.Random(seed)
    faults = schedule(rng, duration)
    log(f"seed {seed}: {len(faults)} faults in {duration:.0f} s: "
        + ", ".join(f"{f.at:.0f}s {f.kind}" for f in faults))  # fmt: skip
    folder = ROOT / "var" / "chaos"  # the processes' logs stay here until the next run
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cluster = Cluster(folder)
    journal, platform = Journal(), Platform()
    try:
        cluster.start()
        settings = Settings()
        sender = PlatformSender(cluster.broker.bootstrap, platform)
        for n in range(clients):
            emit(sender, settings.topic_workspaces, WORKSPACE, "MemberJoined",
                 {"workspace_id": WORKSPACE, "account_id": f"chaos-user-{n}"})  # fmt: skip
        for member in (CANCELLED, "chaos-doomed-user"):
            emit(sender, settings.topic_workspaces, DOOMED, "MemberJoined",
                 {"workspace_id": DOOMED, "account_id": member})  # fmt: skip
        request(cluster.base, "POST", "/admin/handlers", LEAD, "admin",
                {"account_id": HANDLER, "name": "Hal", "roles": ["handler"]})  # fmt: skip
        stop = threading.Event()
        threads = [
            threading.Thread(target=client, args=(n, cluster.base, journal,
                             random.Random(seed * 100 + n), stop), daemon=True)
            for n in range(clients)
        ]  # fmt: skip
        # membership must be applied before the clients submit
        time.sleep(3)
        for thread in threads:
            thread.start()
        started = time.monotonic()
        platform_rng = random.Random(seed + 1)
        doomed_tickets = 0
        for fault in faults:
            while time.monotonic() - started < fault.at:
                if platform_rng.random() < 0.1:
                    account = f"chaos-visitor-{platform_rng.randrange(5)}"
                    kind = platform_rng.choice(["MemberJoined", "MemberLeft"])
                    emit(sender, settings.topic_workspaces, WORKSPACE, kind,
                         {"workspace_id": WORKSPACE, "account_id": account},
                         twice=platform_rng.random() < 0.3)  # fmt: skip
                    if platform_rng.random() < 0.2:
                        sender.send(settings.topic_workspaces, "x", b"{not json", None)
                if doomed_tickets < 3:
                    status, _ = request(cluster.base, "POST", f"/workspaces/{DOOMED}/tickets",
                                        CANCELLED, "user", {"type": "bug", "title": "doomed",
                                        "description": "d"})  # fmt: skip
                    doomed_tickets += status == 201
                time.sleep(0.2)
            log(f"fault: {fault.kind} ({fault.seconds:.1f} s, target {fault.target})")
            inject(cluster, fault, stop)
        emit(sender, settings.topic_accounts, CANCELLED, "AccountCancelled",
             {"account_id": CANCELLED}, twice=True)  # fmt: skip
        emit(sender, settings.topic_workspaces, DOOMED, "WorkspaceDissolved",
             {"workspace_id": DOOMED}, twice=True)  # fmt: skip
        while time.monotonic() - started < duration:
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(60)
        if cluster.api is None or cluster.api.poll() is not None:
            cluster.start_api()
        for n, worker in enumerate(cluster.workers):
            if worker is None or worker.poll() is not None:
                cluster.start_worker(n)
        cluster.wait_ready()
        healthy_at = time.monotonic()
        if not sender.flush(timeout=120):
            log(f"{len(platform.pending)} platform messages never acknowledged by the broker")
        sender.close()
        acked = sum(op.acked for op in journal.ops)
        log(f"{len(journal.ops)} commands sent, {acked} acknowledged; "
            f"{len(platform.sent)} platform events, {platform.poison} poison;"
            " checking")  # fmt: skip
        time.sleep(2)
        observed = observe(cluster, journal, healthy_at)
        anomalies = judge(observed, journal, platform)
        log(f"checked {len(observed.histories)} tickets' histories, "
            f"{len(observed.published)} messages on tickets.events, "
            f"{len(observed.notifications)} notifications, {len(platform.sent)} platform "
            f"events; lists converged after {observed.converged_after or 0:.1f} s")  # fmt: skip
    finally:
        cluster.stop()
    for anomaly in anomalies:
        print(f"ANOMALY (seed {seed}): {anomaly}")
    print(f"anomalies: {len(anomalies)} (seed {seed})")
    return 1 if anomalies else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=90)
    parser.add_argument("--seed", type=int, default=None, help="a new one when not given")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    sys.exit(run(args.duration, seed, args.clients))


if __name__ == "__main__":
    main()
