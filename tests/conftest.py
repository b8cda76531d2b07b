"""Shared fixtures: a real PostgreSQL (embedded unless TICKETING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from psycopg.conninfo import make_conninfo

from application.database import drop_database, ensure_database
from workers.embedded_postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty database for this test session, dropped afterwards."""
    server_url = os.environ.get("TICKETING_TEST_DATABASE_URL")
    embedded = None
    if not server_url:
        embedded = EmbeddedPostgres(ROOT / "var" / "test-postgres")
        server_url = embedded.start()
    url = make_conninfo(server_url, dbname=f"ticketing_test_{uuid4().hex[:12]}")
    ensure_database(url)
    try:
        yield url
    finally:
        drop_database(url)
        if embedded is not None:
            embedded.stop()
