"""A client generated from the served OpenAPI document runs a ticket's whole life on its own.

openapi-python-client (pinned) turns ``/api/v1/openapi.json`` into a typed package; the test
then submits with an attachment and an ``Idempotency-Key``, reads details, accepts with
``If-Match``, replies, closes, rates, lists with filters and cursors, reads the history and
exports, through that package alone, reading every field through its types. If the document
stops describing what the service does, this fails.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask
from werkzeug.serving import make_server

from application.tickets import TicketingApp
from application.tokens import issue_token
from domain.attachments import CONTENT_TYPES
from tests.api.conftest import ADMIN_ID, SECRET

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e1b6e60000000049454e44ae426082"
)
# every file is read as bytes: the generator knows none of the attachment and Office types, and
# reads text/csv as str into a bytes buffer
FILE_TYPES = sorted({"text/csv", XLSX, DOCX, *CONTENT_TYPES.values()})
CONFIG = "content_type_overrides:\n" + "".join(
    f"  {content_type}: application/octet-stream\n" for content_type in FILE_TYPES
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Flask], ModuleType]]:
    """``generated(app)`` → the ``ticketing_client`` package generated from app's document."""
    folder = tmp_path_factory.mktemp("generated")
    made: dict[str, ModuleType] = {}

    def generate(app: Flask) -> ModuleType:
        if "client" in made:
            return made["client"]
        document = folder / "openapi.json"
        document.write_text(json.dumps(app.test_client().get("/api/v1/openapi.json").get_json()))
        (folder / "config.yml").write_text(CONFIG)
        bin_dir = str(Path(sys.executable).parent)
        result = subprocess.run(  # noqa: S603 - our own interpreter and document
            [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document),
             "--output-path", str(folder / "out"), "--meta", "none",
             "--config", str(folder / "config.yml"), "--overwrite"],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "WARNING" not in result.stdout + result.stderr, result.stdout + result.stderr
        (folder / "pkg").mkdir()
        (folder / "out").rename(folder / "pkg" / "ticketing_client")
        sys.path.insert(0, str(folder / "pkg"))
        made["client"] = importlib.import_module("ticketing_client")
        return made["client"]

    yield generate
    sys.path[:] = [entry for entry in sys.path if not entry.startswith(str(folder))]
    for name in [name for name in sys.modules if name.startswith("ticketing_client")]:
        del sys.modules[name]


@pytest.fixture
def served(flask_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_runs_the_whole_life_cycle(
    generated: Callable[[Flask], ModuleType],
    served: str,
    flask_app: Flask,
    ticketing: TicketingApp,
    projecting: None,
) -> None:
    package = generated(flask_app)
    models = _module(package, "models")
    types = _module(package, "types")
    tickets = {n: _module(package, f"api.tickets.{n}") for n in (
        "submit_ticket", "get_ticket", "accept_ticket", "reply_to_ticket", "close_ticket",
        "rate_ticket", "get_ticket_history", "revoke_ticket",
    )}  # fmt: skip
    lists = {n: _module(package, f"api.lists.{n}") for n in (
        "list_workspace_tickets", "list_my_tickets", "list_handler_tickets", "export_tickets",
        "export_chosen_tickets",
    )}  # fmt: skip
    upload = _module(package, "api.attachments.upload_attachments")
    download = _module(package, "api.attachments.download_attachment")

    ava, ws = f"ava-{uuid4().hex[:6]}", f"ws-{uuid4().hex[:6]}"
    ticketing.platform.member_joined(ws, ava, str(uuid4()))
    user = package.AuthenticatedClient(
        base_url=served, token=issue_token(SECRET, ava, "user", name="Ava Martin")
    )
    admin = package.AuthenticatedClient(
        base_url=served, token=issue_token(SECRET, ADMIN_ID, "admin", name="Admin")
    )

    # an attachment, then a submission that is safe to retry
    uploaded = upload.sync_detailed(client=user, body=models.AttachmentUpload(files=[
        types.File(payload=io.BytesIO(PNG), file_name="chart.png", mime_type="image/png")
    ]))  # fmt: skip
    assert uploaded.status_code == 201
    [attachment] = uploaded.parsed
    assert (attachment.filename, attachment.size) == ("chart.png", len(PNG))
    body = models.TicketSubmission(
        type_=models.TicketTypeCode.BUG, title="Charts are empty",
        description="Since nine.", attachment_ids=[attachment.id],
    )  # fmt: skip
    key = f"submit-{uuid4().hex}"
    first = tickets["submit_ticket"].sync_detailed(ws, client=user, body=body, idempotency_key=key)
    again = tickets["submit_ticket"].sync_detailed(ws, client=user, body=body, idempotency_key=key)
    assert first.status_code == again.status_code == 201
    ticket = first.parsed
    assert isinstance(ticket, models.Ticket)
    assert again.parsed.id == ticket.id
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ticket.status is models.TicketStatus.WAITING_FOR_ASSIGNMENT
    assert ticket.queue_state is models.QueueState.PENDING
    assert ticket.rating is None
    assert ticket.closed_at is None
    assert ticket.verified_email is None
    assert ticket.assignee is not None
    assert ticket.assignee.account_id == ADMIN_ID
    assert isinstance(ticket.sla.first_response_due_at, datetime)
    assert ticket.sla.first_responded_at is None
    assert ticket.attachments[0].sha256
    assert ticket.messages[0].automatic is True
    assert ticket.messages[0].author.role is models.AuthorRole.SYSTEM
    assert set(ticket.allowed_actions) == {models.TicketAction.REPLY, models.TicketAction.REVOKE}
    position = int(first.headers["X-Ticketing-Position"])

    # another key with the same body is a new ticket; a wrong If-Match is a typed 412
    stale = tickets["accept_ticket"].sync_detailed(ticket.id, client=admin, if_match='"99"')
    assert stale.status_code == 412
    assert isinstance(stale.parsed, models.Problem)
    assert (stale.parsed.status, stale.parsed.title) == (412, stale.parsed.title)
    details = tickets["get_ticket"].sync_detailed(ticket.id, client=admin)
    accepted = tickets["accept_ticket"].sync_detailed(
        ticket.id, client=admin, if_match=details.headers["ETag"]
    )
    assert accepted.status_code == 200
    assert accepted.parsed.status is models.TicketStatus.WAITING_FOR_FEEDBACK
    assert accepted.headers["ETag"] == f'"{accepted.parsed.version}"'

    answer = tickets["reply_to_ticket"].sync_detailed(
        ticket.id, client=admin, body=models.NewMessage(body="Which dashboard?")
    )
    assert answer.status_code == 201
    assert answer.parsed.author.role is models.AuthorRole.ADMIN
    reply = tickets["reply_to_ticket"].sync_detailed(
        ticket.id, client=user, body=models.NewMessage(body="Production."),
        idempotency_key=f"reply-{uuid4().hex}",
    )  # fmt: skip
    assert reply.status_code == 201
    tickets["reply_to_ticket"].sync_detailed(
        ticket.id, client=admin, body=models.NewMessage(body="Fixed, please check.")
    )
    closed = tickets["close_ticket"].sync_detailed(ticket.id, client=user)
    assert closed.parsed.status is models.TicketStatus.CLOSED
    assert closed.parsed.close_reason is models.CloseReason.SUBMITTER
    assert isinstance(closed.parsed.closed_at, datetime)
    refused = tickets["revoke_ticket"].sync_detailed(ticket.id, client=user)
    assert refused.status_code == 409
    assert refused.parsed.status == 409
    assert refused.parsed.detail
    rated = tickets["rate_ticket"].sync_detailed(
        ticket.id, client=user, body=models.NewRating(score=5, comment="Quick.")
    )
    assert rated.parsed.rating is not None
    assert (rated.parsed.rating.score, rated.parsed.rating.comment) == (5, "Quick.")
    position = int(rated.headers["X-Ticketing-Position"])

    invalid = tickets["rate_ticket"].sync_detailed(
        ticket.id, client=user, body=models.NewRating(score=9)
    )
    assert invalid.status_code in (409, 422)
    assert isinstance(invalid.parsed, models.Problem)

    # lists: filters, read-your-writes, cursors
    more = [
        tickets["submit_ticket"].sync_detailed(ws, client=user, body=models.TicketSubmission(
            type_=models.TicketTypeCode.USAGE, title=f"question {n}", description="how?"))
        for n in range(3)
    ]  # fmt: skip
    position = max(int(m.headers["X-Ticketing-Position"]) for m in more)
    page = lists["list_workspace_tickets"].sync_detailed(
        ws, client=user, type_=[models.TicketTypeCode.USAGE], limit=2,
        x_ticketing_position=position,
    )  # fmt: skip
    assert page.status_code == 200
    assert "X-Ticketing-Stale" not in page.headers
    assert [item.type_ for item in page.parsed.items] == [models.TicketTypeCode.USAGE] * 2
    assert page.parsed.next_cursor
    rest = lists["list_workspace_tickets"].sync_detailed(
        ws, client=user, type_=[models.TicketTypeCode.USAGE], limit=2,
        cursor=page.parsed.next_cursor,
    )  # fmt: skip
    assert len(rest.parsed.items) == 1
    assert rest.parsed.next_cursor is None
    closed_only = lists["list_my_tickets"].sync_detailed(
        client=user, status=[models.TicketStatus.CLOSED], x_ticketing_position=position
    )
    [summary] = closed_only.parsed.items
    assert summary.id == ticket.id
    assert summary.assignee.account_id == ADMIN_ID
    assert summary.sla is not None
    assert summary.sla.first_responded_at is not None
    queue = lists["list_handler_tickets"].sync_detailed(
        client=admin, queue_state=[models.QueueState.COMPLETED],
        sort=models.QueueOrder.DUE, x_ticketing_position=position,
    )  # fmt: skip
    assert ticket.id in [item.id for item in queue.parsed.items]

    # history: typed entries, told apart by their type
    history = tickets["get_ticket_history"].sync_detailed(ticket.id, client=user).parsed
    kinds = [type(entry).__name__ for entry in history]
    assert kinds[0] == "TicketSubmittedEntry"
    assert kinds[-1] == "TicketRatedEntry"
    assert "TicketAcceptedEntry" in kinds
    assert "UserRepliedEntry" in kinds
    assert history[0].data.title == "Charts are empty"
    assert history[0].data.attachments[0].filename == "chart.png"
    assert history[-1].data.score == 5
    assert history[-1].actor.role is models.AuthorRole.USER

    # exports and downloads are bytes
    exported = lists["export_tickets"].sync_detailed(
        ws, client=user, format_=models.ExportFormat.CSV, status=[models.TicketStatus.CLOSED]
    )
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [row["Ticket id"] for row in rows] == [ticket.id]
    chosen = lists["export_chosen_tickets"].sync_detailed(
        ws,
        client=user,
        body=models.ExportRequest(format_=models.ExportFormat.XLSX, ids=[ticket.id]),
    )
    assert chosen.status_code == 200
    assert chosen.content[:2] == b"PK"
    file = download.sync_detailed(attachment.id, client=user)
    assert file.content == PNG
