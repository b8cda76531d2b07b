"""``ticketing dev``: the whole service on one machine with no set-up.

Starts (or re-attaches to) an embedded PostgreSQL in ``<data-dir>/postgres`` and a
Kafka-compatible broker whose topics live in ``<data-dir>/broker``, runs the API and the worker
as child processes, writes the instance's settings to ``<data-dir>/ticketing.env``, and prints
the URLs, sign-in links for the admin and a demo user, and an admin token. It supervises
everything it started: a process that dies is restarted with back-off. Ctrl-C or SIGTERM
stops it all, in order: API, worker, broker, PostgreSQL.

Settings: a ``TICKETING_*`` variable in the environment wins over anything dev would choose or
has written before (``TICKETING_DATABASE_URL`` or ``TICKETING_KAFKA_BOOTSTRAP`` in the
environment means that server is used instead of an embedded one). The token secret and the
default assignee are otherwise kept from the previous ``ticketing.env``, so tokens stay valid.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from application.bootstrap import build_app
from application.config import ENV_FILE_VARIABLE, Settings
from application.database import ensure_database
from application.plumbing import WorkerPlumbing
from application.tokens import issue_token
from workers.embedded_broker import EmbeddedBroker
from workers.embedded_postgres import EmbeddedPostgres
from workers.emit import emit
from workers.kafka_clients import ensure_topics
from workers.supervisor import Child, Service, Watched, python_command

log = logging.getLogger(__name__)
START_TIMEOUT = 60.0
WATCH_INTERVAL = 0.2
ADMIN_TOKEN_TTL = 12 * 3600
DEMO_USER, DEMO_NAME, DEMO_WORKSPACE = "demo-user", "Demo User", "demo-workspace"
PREFIX = "TICKETING_"
# the embedded broker takes about session_timeout / 2 to let a consumer join
DEV_KAFKA_TIMINGS = {
    "TICKETING_KAFKA_SESSION_TIMEOUT_MS": "2000",
    "TICKETING_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    "TICKETING_KAFKA_MAX_POLL_INTERVAL_MS": "3000",
}


@dataclass(frozen=True)
class DevOptions:
    """What ``ticketing dev`` was asked for."""

    port: int
    kafka_port: int
    data_dir: Path


def read_env_file(path: Path) -> dict[str, str]:
    """The settings an earlier ``ticketing dev`` wrote (empty if none)."""
    if not path.exists():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def given_settings(environ: Mapping[str, str], env_file: Path) -> dict[str, str]:
    """The ``TICKETING_*`` variables the caller set.

    If ``TICKETING_ENV_FILE`` names dev's own settings file, the values every command loaded
    from it are what dev wrote before, not the caller's choice, and do not count.
    """
    own = environ.get(ENV_FILE_VARIABLE)
    written = read_env_file(env_file) if own and Path(own).resolve() == env_file else {}
    return {
        key: value
        for key, value in environ.items()
        if key.startswith(PREFIX) and key != ENV_FILE_VARIABLE and written.get(key) != value
    }


def effective_settings(
    given: Mapping[str, str], previous: Mapping[str, str], database_url: str, bootstrap: str
) -> dict[str, str]:
    """Every setting of this instance: the caller's, else the previous run's, else dev's own."""
    chosen = {
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_KAFKA_BOOTSTRAP": bootstrap,
        "TICKETING_JWT_SECRET": previous.get("TICKETING_JWT_SECRET") or secrets.token_urlsafe(32),
        "TICKETING_SIGNING_KEY": previous.get("TICKETING_SIGNING_KEY") or secrets.token_urlsafe(32),
        "TICKETING_DEFAULT_ASSIGNEE": previous.get("TICKETING_DEFAULT_ASSIGNEE") or "admin",
        **DEV_KAFKA_TIMINGS,
    }
    return {**chosen, **given}


def write_env_file(path: Path, settings: Mapping[str, str]) -> None:
    """Write the instance's settings so that ``TICKETING_ENV_FILE=<path> ticketing ...`` acts
    on it (readable by the owner only: it holds the token secret)."""
    lines = ["# written by `ticketing dev`; TICKETING_ENV_FILE=<this file> points commands here"]
    lines += [f"{key}='{value}'" for key, value in sorted(settings.items())]
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")


def _wait_until_healthy(url: str, api: Child) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not api.alive():
            raise RuntimeError(f"the API exited ({api.describe()})")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310 - our own loopback URL
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"the API did not answer on {url} within {START_TIMEOUT:.0f}s")


class DevRunner:
    """Runs, supervises and stops everything ``ticketing dev`` starts."""

    def __init__(self, options: DevOptions, environ: Mapping[str, str] | None = None) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.data_dir = options.data_dir.resolve()
        self.options = options
        self.env_file = self.data_dir / "ticketing.env"
        self.given = given_settings(self.environ, self.env_file)
        self.postgres = (
            None if "TICKETING_DATABASE_URL" in self.given
            else EmbeddedPostgres(self.data_dir / "postgres")
        )  # fmt: skip
        self.broker = (
            None if "TICKETING_KAFKA_BOOTSTRAP" in self.given
            else EmbeddedBroker(
                options.kafka_port, self.data_dir / "broker.log", self.data_dir / "broker"
            )
        )  # fmt: skip
        self.settings: dict[str, str] = {}
        self.children: list[Child] = []
        self.watched: list[Watched] = []
        self.stopping = False

    def run(self) -> int:
        """Run until Ctrl-C or SIGTERM; returns the exit status."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._request_stop)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start()
            while not self.stopping:
                for part in self.watched:
                    part.watch()
                time.sleep(WATCH_INTERVAL)
            return 0
        except RuntimeError as error:
            log.error("ticketing dev could not start: %s", error)
            return 1
        finally:
            self._stop()
            print("ticketing dev stopped", flush=True)

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info("ticketing dev: stopping (%s)", signal.Signals(signum).name)
        self.stopping = True

    def _start(self) -> None:
        database_url = self.given.get("TICKETING_DATABASE_URL") or self._start_postgres()
        ensure_database(database_url)
        fresh_broker = self.broker is not None and self.broker.storage_is_empty()
        bootstrap = self.given.get("TICKETING_KAFKA_BOOTSTRAP") or self._start_broker()
        previous = read_env_file(self.env_file)
        self.settings = effective_settings(self.given, previous, database_url, bootstrap)
        write_env_file(self.env_file, self.settings)
        settings = Settings.from_env(self.settings)
        ensure_topics(bootstrap, settings.all_topics)
        if fresh_broker:
            self._forget_broker_positions(settings)
        url = f"http://127.0.0.1:{self.options.port}"
        bind = f"127.0.0.1:{self.options.port}"
        api = Child("API", python_command("serve", "--bind", bind), self._child_env)
        worker = Child("worker", python_command("worker"), self._child_env)
        self.children = [api, worker]
        for child in self.children:
            child.start()
        self.watched += self.children
        _wait_until_healthy(url, api)
        self._announce(url, bootstrap, settings)

    def _start_postgres(self) -> str:
        assert self.postgres is not None
        postgres = self.postgres
        postgres.start()
        log.info("PostgreSQL running (pid %s) in %s", postgres.pid, postgres.pgdata)
        self.watched.append(
            Service("PostgreSQL", postgres.alive, postgres.ensure_running, lambda: postgres.pid)
        )
        return postgres.url("ticketing")

    def _start_broker(self) -> str:
        assert self.broker is not None
        broker = self.broker

        def revive() -> None:
            broker.start()
            ensure_topics(broker.bootstrap, Settings.from_env(self.settings).all_topics)

        self.watched.append(
            Service("Kafka broker", lambda: not broker.exited(), revive, lambda: broker.pid)
        )
        bootstrap = broker.start()
        log.info("Kafka broker running (pid %s), topics kept in %s", broker.pid, broker.storage)
        return bootstrap

    @staticmethod
    def _forget_broker_positions(settings: Settings) -> None:
        """The broker's storage is new: what the store remembers of broker logs is void."""
        app = build_app(settings)
        try:
            WorkerPlumbing(app.store).forget_broker_positions()
        finally:
            app.store.close()
        log.warning(
            "the broker's storage is new: every stored ticket event is published again and "
            "the platform topics are read from their start"
        )

    def _child_env(self) -> dict[str, str]:
        return {**self.environ, ENV_FILE_VARIABLE: str(self.env_file), **self.settings}

    def _welcome_demo_user(self, settings: Settings) -> None:
        """Make the demo user a member of the demo workspace, the way the platform would: a
        ``MemberJoined`` on the broker (a repeat on a later start changes nothing)."""
        try:
            emit(
                settings,
                "MemberJoined",
                [f"workspace_id={DEMO_WORKSPACE}", f"account_id={DEMO_USER}"],
            )
        except Exception as error:  # the console still works for the admin
            log.warning("could not publish the demo user's MemberJoined: %s", error)

    @staticmethod
    def _name_the_admin(url: str, admin_token: str, settings: Settings) -> None:
        """Put the admin, who new tickets go to, on the roster as "Admin" (an admin would do
        it first): customers then read "Assignee: Admin", not an account id. A later start
        finds it there and changes nothing."""
        entry = {"account_id": settings.default_assignee, "name": "Admin", "roles": ["admin"]}
        request = urllib.request.Request(  # noqa: S310 - the dev API on loopback
            f"{url}/api/v1/admin/handlers",
            data=json.dumps(entry).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310
                log.info("the admin %s is on the roster as Admin", settings.default_assignee)
        except urllib.error.HTTPError as error:
            if error.code != 409:  # 409: on the roster already
                log.warning("could not put the admin on the roster: HTTP %s", error.code)
        except OSError as error:
            log.warning("could not put the admin on the roster: %s", error)

    def _announce(self, url: str, bootstrap: str, settings: Settings) -> None:
        self._welcome_demo_user(settings)
        secret = settings.jwt_secret
        admin = issue_token(secret, settings.default_assignee, "admin", ADMIN_TOKEN_TTL, "Admin")
        self._name_the_admin(url, admin, settings)
        demo = issue_token(secret, DEMO_USER, "user", ADMIN_TOKEN_TTL, DEMO_NAME)
        print(
            f"ticketing dev is running (Ctrl-C stops it)\n"
            f"  console:      {url}/\n"
            f"  sign in as the admin ({settings.default_assignee}):\n"
            f"                {url}/#token={admin}\n"
            f"  sign in as the demo user ({DEMO_USER}, member of {DEMO_WORKSPACE}):\n"
            f"                {url}/#token={demo}\n"
            f"  API:          {url}/api/v1\n"
            f"  docs:         {url}/api/v1/docs\n"
            f"  OpenAPI:      {url}/api/v1/openapi.json\n"
            f"  health:       {url}/healthz  {url}/readyz  {url}/metrics\n"
            f"  Kafka:        {bootstrap}  (topics: {', '.join(settings.all_topics)})\n"
            f"  data folder:  {self.data_dir}\n"
            f"  settings:     {self.env_file}  (TICKETING_ENV_FILE={self.env_file} ticketing ...)\n"
            f"  admin token:  {admin}",
            flush=True,
        )

    def _stop(self) -> None:
        """API, worker, broker, PostgreSQL: each stops before what it depends on."""
        for child in self.children:
            child.stop()
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()


def run_dev(options: DevOptions) -> int:
    """Run until interrupted; returns the exit status."""
    return DevRunner(options).run()
