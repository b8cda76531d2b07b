"""Application tests on in-memory persistence: the use cases as the API calls them, no
PostgreSQL, no broker (the integration tests run the same paths on the real database)."""

from __future__ import annotations

import pytest

from application.bootstrap import build_in_memory_app
from application.clock import SettableClock
from application.tickets import TicketingApp
from tests.conftest import START
from tests.people import ADMIN


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def app(clock: SettableClock) -> TicketingApp:
    return build_in_memory_app(clock=clock, default_assignee=ADMIN.account_id)
