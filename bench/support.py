"""What every benchmark needs: a real PostgreSQL database for the run, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

from psycopg.conninfo import make_conninfo

from application.database import drop_database, ensure_database
from workers.embedded_postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database on TICKETING_BENCH_DATABASE_URL's server, or on an embedded one."""
    server_url = os.environ.get("TICKETING_BENCH_DATABASE_URL")
    embedded = None
    if not server_url:
        embedded = EmbeddedPostgres(ROOT / "var" / "bench-postgres")
        server_url = embedded.start()
    url = make_conninfo(server_url, dbname=f"ticketing_bench_{uuid4().hex[:12]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)
        if embedded is not None:
            embedded.stop()
