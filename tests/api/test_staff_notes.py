"""Staff notes over HTTP (CONTRACT.md §7): staff write and read them, and to a user they do not
exist in any answer of any endpoint the user can call."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from api.openapi_tables import STREAM_OPERATION_ID
from tests.api.conftest import ADMIN_ID, Auth, new_ticket
from tests.api.test_attachments_api import uploaded_id

ADMIN = ("api-root", "admin")


def accepted(client: FlaskClient, auth: Auth, ticket: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/api/v1/tickets/{ticket['id']}/accept", headers=auth(*ADMIN))
    assert answer.status_code == 200
    document: dict[str, Any] = answer.get_json()
    return document


def test_a_note_is_for_staff_changes_nothing_a_user_sees_and_keeps_their_version(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = accepted(client, auth, alices_ticket)
    path = f"/api/v1/tickets/{ticket['id']}"
    before = client.get(path, headers=auth("alice"))
    attachment = uploaded_id(client, auth, ADMIN_ID, "billing.png")
    body = {"body": "Refund approved by billing", "attachment_ids": [attachment]}
    added = client.post(f"{path}/notes", json=body, headers=auth(*ADMIN))
    assert added.status_code == 201, added.get_json()
    note = added.get_json()
    assert note["body"] == "Refund approved by billing"
    assert note["author"] == {"account_id": ADMIN_ID, "name": "Api-Root", "role": "admin"}
    assert [a["filename"] for a in note["attachments"]] == ["billing.png"]
    assert added.headers["ETag"] == f'"{ticket["version"] + 1}"'

    staff = client.get(path, headers=auth(*ADMIN)).get_json()
    assert staff["notes"] == [note]
    assert staff["can_add_note"] is True
    assert staff["status"] == ticket["status"] == "waiting_for_feedback"
    assert staff["version"] == ticket["version"] + 1
    auditor = client.get(path, headers=auth("audrey", "auditor")).get_json()
    assert auditor["notes"] == [note]
    assert auditor["can_add_note"] is False

    after = client.get(path, headers=auth("alice"))
    assert after.get_json() == before.get_json()
    assert after.headers["ETag"] == before.headers["ETag"]
    # the user's If-Match names the version they know: a note in between is no conflict
    reply = client.post(
        f"{path}/messages",
        json={"body": "Any news?"},
        headers=auth("alice", **{"If-Match": before.headers["ETag"]}),
    )
    assert reply.status_code == 201, reply.get_json()
    # the user counts on without a gap where the note stands (staff: one more)
    assert reply.headers["ETag"] == f'"{ticket["version"] + 1}"'
    assert client.get(path, headers=auth(ADMIN_ID, "admin")).headers["ETag"] == (
        f'"{ticket["version"] + 2}"'
    )

    download = f"/api/v1/attachments/{attachment}"
    assert client.get(download, headers=auth("alice")).status_code == 404
    assert client.get(download, headers=auth("audrey", "auditor")).status_code == 200

    history = client.get(f"{path}/history", headers=auth("alice")).get_json()
    assert "StaffNoteAdded" not in {entry["type"] for entry in history}
    assert [entry["version"] for entry in history] == list(range(1, len(history) + 1))
    assert history[-1]["version"] == ticket["version"] + 1  # the reply, where staff see +2
    staff_history = client.get(f"{path}/history", headers=auth("audrey", "auditor")).get_json()
    [entry] = [e for e in staff_history if e["type"] == "StaffNoteAdded"]
    assert entry["data"]["body"] == "Refund approved by billing"
    assert entry["actor"]["account_id"] == ADMIN_ID


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (("alice", "user"), 403),
        (("audrey", "auditor"), 403),
        (("stranger-handler", "handler"), 404),
    ],
)
def test_users_auditors_and_handlers_who_do_not_see_the_ticket_add_no_note(
    client: FlaskClient,
    auth: Auth,
    alices_ticket: dict[str, Any],
    who: tuple[str, str],
    status: int,
) -> None:
    ticket = accepted(client, auth, alices_ticket)
    answer = client.post(
        f"/api/v1/tickets/{ticket['id']}/notes", json={"body": "x"}, headers=auth(*who)
    )
    assert answer.status_code == status
    assert answer.content_type == "application/problem+json"


def test_notes_are_refused_before_acceptance_and_welcome_after_the_close(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    path = f"/api/v1/tickets/{alices_ticket['id']}"
    details = client.get(path, headers=auth(*ADMIN)).get_json()
    assert details["can_add_note"] is False
    early = client.post(f"{path}/notes", json={"body": "not yet"}, headers=auth(*ADMIN))
    assert early.status_code == 409
    accepted(client, auth, alices_ticket)
    assert client.post(f"{path}/complete", headers=auth(*ADMIN)).status_code == 200
    late = client.post(f"{path}/notes", json={"body": "for the record"}, headers=auth(*ADMIN))
    assert late.status_code == 201
    assert client.get(path, headers=auth(*ADMIN)).get_json()["can_add_note"] is True


def test_a_repeated_note_with_its_idempotency_key_is_recorded_once(
    client: FlaskClient, auth: Auth, alices_ticket: dict[str, Any]
) -> None:
    ticket = accepted(client, auth, alices_ticket)
    path = f"/api/v1/tickets/{ticket['id']}/notes"
    key = {"Idempotency-Key": uuid4().hex}
    first = client.post(path, json={"body": "once"}, headers=auth(*ADMIN, **key))
    again = client.post(path, json={"body": "once"}, headers=auth(*ADMIN, **key))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    notes = client.get(f"/api/v1/tickets/{ticket['id']}", headers=auth(*ADMIN)).get_json()["notes"]
    assert [n["body"] for n in notes] == ["once"]


# ------------------------------------------------------------ nothing of a note reaches a user

PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def _texts(answer: Any) -> str:
    """Everything an answer says, an XLSX workbook's sheets included."""
    data: bytes = answer.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as workbook:
            return "\n".join(workbook.read(name).decode() for name in workbook.namelist())
    return data.decode(errors="replace") + "\n" + str(dict(answer.headers))


def test_no_answer_to_a_user_tells_a_notes_text_or_its_files_names(
    client: FlaskClient,
    auth: Auth,
    member: Callable[..., str],
    projecting: None,
    derive: Callable[[], None],
) -> None:
    secret = f"zebra{uuid4().hex[:10]}"
    filename = f"{secret}-invoice.png"
    workspace = member("alice")
    ticket = accepted(
        client, auth, new_ticket(client, auth, "alice", workspace, title="Invoice wrong")
    )
    path = f"/api/v1/tickets/{ticket['id']}"
    attachment = uploaded_id(client, auth, ADMIN_ID, filename)
    note = {"body": f"Customer {secret} owes us", "attachment_ids": [attachment]}
    added = client.post(f"{path}/notes", json=note, headers=auth(*ADMIN))
    assert added.status_code == 201
    client.post(f"{path}/messages", json={"body": "We are on it"}, headers=auth(*ADMIN))
    derive()  # the notifications of the note and of the reply
    reply = client.post(
        "/api/v1/admin/canned-replies",
        json={"title": "Thanks", "body": "Thanks, {{submitter.name}}", "shared": True},
        headers=auth(*ADMIN),
    ).get_json()
    waited = added.headers["X-Ticketing-Position"]

    spec = client.get("/api/v1/openapi.json").get_json()
    values = {
        "ticket_id": ticket["id"],
        "workspace_id": workspace,
        "attachment_id": attachment,
        "reply_id": reply["id"],
        "account_id": ADMIN_ID,
    }
    schemas = spec["components"]["schemas"]
    asked: list[str] = []
    queries = {
        "exportTickets": ["format=csv", "format=xlsx", f"format=csv&q={secret}"],
        "getTicket": ["", "version=1", f"as_of={datetime.now(UTC).isoformat()}"],
    }
    user = auth("alice", **{"X-Ticketing-Position": waited})
    # reads first, then the user's commands (which may close the ticket), each with its
    # document's example body
    operations = sorted(
        (
            (method != "get", path_pattern, method, operation)
            for path_pattern, item in spec["paths"].items()
            for method, operation in item.items()
            if method in ("get", "post", "put", "patch", "delete")
        ),
        key=lambda entry: entry[:3],
    )
    for _, pattern, method, operation in operations:
        if operation["operationId"] == STREAM_OPERATION_ID:
            continue  # tests/e2e/test_streams.py reads the user's stream
        url = _filled(pattern, values)
        body = _example_body(operation, schemas)
        for query in queries.get(operation["operationId"], ["", f"q={secret}"]):
            answer = client.open(
                f"{url}?{query}" if query else url, method=method.upper(), json=body, headers=user
            )
            asked.append(f"{method.upper()} {pattern}?{query} {answer.status_code}")
            text = _texts(answer)
            assert secret not in text, asked[-1]
            assert filename not in text, asked[-1]
    called = {entry.split("?")[0] for entry in asked}
    every = {
        f"{method.upper()} {pattern}"
        for pattern, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        and operation["operationId"] != STREAM_OPERATION_ID
    }
    assert called == every
    # the user did see their ticket, its reply and its notification: the checks had matter
    seen = client.get(path, headers=auth("alice")).get_json()
    assert "We are on it" in [m["body"] for m in seen["messages"]]
    told = client.get("/api/v1/me/notifications", headers=auth("alice")).get_json()
    assert "handler_replied" in {n["kind"] for n in told["items"]}
    found = client.get(f"/api/v1/workspaces/{workspace}/tickets?q={secret}", headers=user)
    assert found.get_json()["items"] == []


def _filled(pattern: str, values: dict[str, str]) -> str:
    """The path with each ``{name}`` filled in."""
    return PATH_PARAMETER.sub(lambda m: values[m.group(1)], pattern)


def _example_body(operation: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """The example of the operation's JSON request body in the document, if it has one."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    reference = schema.get("$ref", "")
    return schemas.get(reference.rsplit("/", 1)[-1], {}).get("example", schema.get("example"))
