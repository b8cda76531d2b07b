"""Any text or id the service accepts, every part of it can store and show (CONTRACT.md §1).

Hypothesis draws titles, descriptions and ids from all of Unicode (control characters and
unpaired surrogates included). What the API refuses must be a 422 naming the field; what it
accepts must come back exactly in the details and the lists, go into a CSV and an XLSX
export, and out on ``tickets.events``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from application.config import Settings
from application.tickets import TicketingApp
from domain.content import identifier_fault, text_fault
from domain.errors import ValidationFailed
from tests.api.conftest import Auth
from tests.integration.kafka_support import read_topic, settings_for
from workers.publisher import TicketEventPublisher

pytestmark = pytest.mark.usefixtures("projecting")
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
# all of Unicode, unpaired surrogates included, and the characters that break things most
CHARACTERS = st.one_of(
    st.characters(exclude_categories=()),
    st.sampled_from(["\x00", "\x07", "\t", "\n", "\r", " ", "\ud800", "\udfff", "/", "%",
                     "?", "#", "=", "+", "@", "'", '"', ",", "\\", "é", "😀", "\u202e"]),
)  # fmt: skip
ANY_TEXT = st.text(CHARACTERS, min_size=1, max_size=60)
# ids: mostly ones the service accepts (to follow them everywhere), some it must refuse
IDS = st.one_of(
    st.text(CHARACTERS.filter(lambda c: identifier_fault(c) is None), min_size=1, max_size=128),
    st.text(CHARACTERS, min_size=0, max_size=130),
)


@pytest.fixture
def published(
    ticketing: TicketingApp, database_url: str, broker: str
) -> Iterator[tuple[Settings, list[tuple[str, str]]]]:
    """Topics of this test's own; (ticket id, title) pairs to look for on them afterwards."""
    settings_ = settings_for(broker, database_url)
    accepted: list[tuple[str, str]] = []
    yield settings_, accepted
    publisher = TicketEventPublisher(ticketing, settings_)
    stop = threading.Event()
    thread = threading.Thread(target=publisher.run, args=(stop,))
    thread.start()
    try:
        wanted = {ticket_id for ticket_id, _ in accepted}

        def arrived(records: list[Any]) -> bool:
            return wanted <= {json.loads(r.value)["ticket_id"] for r in records}

        records = read_topic(broker, settings_.topic_ticket_events, 0, timeout=120, until=arrived)
    finally:
        stop.set()
        thread.join(30)
    titles = {
        json.loads(r.value)["ticket_id"]: json.loads(r.value)["data"]["title"]
        for r in records
        if json.loads(r.value)["type"] == "TicketSubmitted"
    }
    assert {ticket_id: titles.get(ticket_id) for ticket_id, _ in accepted} == dict(accepted)


def exported(client: FlaskClient, token: dict[str, str], ws: str, fmt: str) -> list[str]:
    response = client.get(
        f"/api/v1/workspaces/{quote(ws, safe='')}/tickets/export?format={fmt}", headers=token
    )
    assert response.status_code == 200, response.get_data()[:300]
    if fmt == "csv":
        return [
            row["Title"] for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))
        ]
    rows = list(load_workbook(io.BytesIO(response.get_data())).active.iter_rows(values_only=True))
    return [unescape(str(row[1])) for row in rows[1:]]  # OOXML escapes, read as Excel reads


def test_any_text_the_api_accepts_is_stored_listed_exported_and_published(
    client: FlaskClient,
    auth: Auth,
    ticketing: TicketingApp,
    published: tuple[Settings, list[tuple[str, str]]],
) -> None:
    _, accepted = published

    @given(title=ANY_TEXT, description=ANY_TEXT)
    @PROPERTY_SETTINGS
    def submit_and_follow(title: str, description: str) -> None:
        account, ws = f"p-{uuid4().hex[:8]}", f"ws-{uuid4().hex[:8]}"
        ticketing.platform.member_joined(ws, account, str(uuid4()))
        token = auth(account)
        body = {"type": "bug", "title": title, "description": description}
        response = client.post(f"/api/v1/workspaces/{ws}/tickets", json=body, headers=token)
        if (
            text_fault(title)
            or text_fault(description)
            or not title.strip()
            or not description.strip()
        ):
            assert response.status_code == 422, response.get_json()
            faulty = {f for f, v in (("title", title), ("description", description))
                      if text_fault(v) or not v.strip()}  # fmt: skip
            assert faulty <= set(response.get_json()["errors"])
            return
        assert response.status_code == 201, response.get_json()
        ticket = response.get_json()
        assert (ticket["title"], ticket["description"]) == (title.strip(), description.strip())
        listed_headers = {**token, "X-Ticketing-Position": response.headers["X-Ticketing-Position"]}
        page = client.get(f"/api/v1/workspaces/{ws}/tickets", headers=listed_headers).get_json()
        assert [item["title"] for item in page["items"]] == [title.strip()]
        shown = title.strip()
        formula = ("=", "+", "-", "@", "\t", "\r")
        spreadsheet = "'" + shown if shown.startswith(formula) else shown
        # a CSV cell's fragments after , ; or tab are neutralised too (a reader may split there)
        split = re.sub(r"([,;\t])(?=[=+\-@\t\r])", r"\1'", shown)
        assert exported(client, token, ws, "csv") == [
            "'" + split if split.startswith(formula) else split
        ]
        assert exported(client, token, ws, "xlsx") == [spreadsheet]
        accepted.append((ticket["id"], title.strip()))

    submit_and_follow()


def test_any_id_the_service_accepts_can_be_used_everywhere(
    client: FlaskClient, auth: Auth, ticketing: TicketingApp
) -> None:
    @given(workspace=IDS)
    @PROPERTY_SETTINGS
    def join_and_use(workspace: str) -> None:
        account = f"p-{uuid4().hex[:8]}"
        if identifier_fault(workspace) is not None:
            with pytest.raises(ValidationFailed):
                ticketing.platform.member_joined(workspace, account, str(uuid4()))
            return
        ticketing.platform.member_joined(workspace, account, str(uuid4()))
        token = auth(account)
        path = f"/api/v1/workspaces/{quote(workspace, safe='')}/tickets"
        body = {"type": "bug", "title": "t", "description": "d"}
        created = client.post(path, json=body, headers=token)
        assert created.status_code == 201, (workspace, created.get_json())
        headers = {**token, "X-Ticketing-Position": created.headers["X-Ticketing-Position"]}
        page = client.get(path, headers=headers).get_json()  # (Hypothesis may repeat an id)
        listed = {item["id"]: item["workspace_id"] for item in page["items"]}
        assert listed[created.get_json()["id"]] == workspace
        mine = client.get("/api/v1/me/workspaces", headers=headers).get_json()
        assert {"workspace_id": workspace} in mine["items"]

    join_and_use()
