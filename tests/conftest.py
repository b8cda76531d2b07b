"""Shared fixtures: a real PostgreSQL (embedded unless TICKETING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.embedded_postgres import scratch_database

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh, empty database for this test session, dropped afterwards."""
    with scratch_database(
        os.environ.get("TICKETING_TEST_DATABASE_URL"),
        ROOT / "var" / "test-postgres",
        "ticketing_test",
    ) as url:
        yield url
