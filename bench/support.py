"""What every benchmark needs: a real PostgreSQL database for the run, dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workers.embedded_postgres import scratch_database as _scratch_database

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database on TICKETING_BENCH_DATABASE_URL's server, or on an embedded one."""
    with _scratch_database(
        os.environ.get("TICKETING_BENCH_DATABASE_URL"),
        ROOT / "var" / "bench-postgres",
        "ticketing_bench",
    ) as url:
        yield url


# the benchmarks measure the service, not the per-account limits of users (CONTRACT.md §2.0)
UNLIMITED = {
    "TICKETING_LIMIT_SUBMISSIONS_PER_MINUTE": "0",
    "TICKETING_LIMIT_MESSAGES_PER_MINUTE": "0",
    "TICKETING_LIMIT_UPLOAD_MIB_PER_HOUR": "0",
    "TICKETING_LIMIT_EXPORTS_PER_MINUTE": "0",
}
