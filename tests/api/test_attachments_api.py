"""Attachments through HTTP: every format, every refusal, who may download."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient

from application.tickets import TicketingApp
from domain.attachments import MAX_BYTES
from tests.api.conftest import ADMIN_ID, Auth
from tests.fixtures import SAMPLES, pdf, png
from workers.stored_audit import audit_attachments


def account() -> str:
    return f"acct-{uuid4().hex[:8]}"


def upload(client: FlaskClient, auth: Auth, who: str, *files: tuple[str, bytes]) -> Any:
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(
        "/api/v1/attachments", data=data, headers=auth(who), content_type="multipart/form-data"
    )


def uploaded_id(
    client: FlaskClient, auth: Auth, who: str, name: str = "shot.png", content: bytes | None = None
) -> str:
    response = upload(client, auth, who, (name, content if content is not None else png()))
    assert response.status_code == 201, response.get_json()
    attachment_id: str = response.get_json()[0]["id"]
    return attachment_id


@pytest.mark.parametrize("batch", [list(SAMPLES)[i : i + 5] for i in range(0, len(SAMPLES), 5)])
def test_every_accepted_format(client: FlaskClient, auth: Auth, batch: list[str]) -> None:
    response = upload(client, auth, account(), *[(name, SAMPLES[name]) for name in batch])
    assert response.status_code == 201, response.get_json()
    records = response.get_json()
    assert [r["filename"] for r in records] == batch
    for record, name in zip(records, batch, strict=True):
        assert record["size"] == len(SAMPLES[name])
        assert record["sha256"] == hashlib.sha256(SAMPLES[name]).hexdigest()
        assert set(record) == {"id", "filename", "content_type", "size", "sha256"}


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ([("shot.png", pdf())], 415),
        ([("invoice.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100)], 415),
        ([("tool.exe", b"MZ\x90\x00")], 415),
        ([("big.txt", b"a" * (MAX_BYTES + 1))], 413),
        ([(f"f{n}.png", png()) for n in range(6)], 422),
        ([], 422),
    ],
)
def test_upload_refusals(
    client: FlaskClient, auth: Auth, files: list[tuple[str, bytes]], status: int
) -> None:
    response = upload(client, auth, account(), *files)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"


def test_a_file_of_exactly_8_mib_is_accepted(client: FlaskClient, auth: Auth) -> None:
    assert upload(client, auth, account(), ("big.txt", b"a" * MAX_BYTES)).status_code == 201


def test_a_refused_batch_stores_nothing(
    client: FlaskClient, auth: Auth, ticketing: TicketingApp
) -> None:
    who = account()
    response = upload(client, auth, who, ("ok.png", png()), ("bad.png", pdf()))
    assert response.status_code == 415
    with ticketing.store.datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM attachments WHERE uploader_id = %s", (who,)
        ).fetchone()
    assert row is not None
    assert row["n"] == 0


def test_download_permissions_and_headers(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    alice, bob, mallory = account(), account(), account()
    ws = member(alice, bob)
    member(mallory)
    attachment = uploaded_id(client, auth, alice, "../../report.pdf", pdf())
    url = f"/api/v1/attachments/{attachment}"

    mine = client.get(url, headers=auth(alice))
    assert mine.status_code == 200
    assert mine.get_data() == pdf()
    assert mine.headers["X-Content-Type-Options"] == "nosniff"
    assert mine.headers["Content-Type"] == "application/pdf"
    assert "attachment; filename=report.pdf" in mine.headers["Content-Disposition"]
    assert client.get(url, headers=auth(bob)).status_code == 404, "not attached to anything yet"

    ticket = client.post(
        f"/api/v1/workspaces/{ws}/tickets",
        json={"type": "bug", "title": "t", "description": "d", "attachment_ids": [attachment]},
        headers=auth(alice),
    ).get_json()
    assert ticket["attachments"][0]["filename"] == "report.pdf"
    assert client.get(url, headers=auth(bob)).status_code == 200, "a member sees the ticket"
    assert client.get(url, headers=auth(ADMIN_ID, "admin")).status_code == 200
    assert client.get(url, headers=auth(mallory)).status_code == 404
    assert client.get(f"/api/v1/attachments/{uuid4()}", headers=auth(alice)).status_code == 404
    assert client.get("/api/v1/attachments/not-an-id", headers=auth(alice)).status_code == 404


def test_attachment_references_are_checked(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    alice, bob = account(), account()
    ws = member(alice, bob)
    url = f"/api/v1/workspaces/{ws}/tickets"
    bobs = uploaded_id(client, auth, bob)
    body = {"type": "bug", "title": "t", "description": "d"}

    others = client.post(url, json={**body, "attachment_ids": [bobs]}, headers=auth(alice))
    assert others.status_code == 422
    assert "attachment_ids" in others.get_json()["errors"]

    mine = uploaded_id(client, auth, alice)
    refused = client.post(
        url, json={**body, "title": "", "attachment_ids": [mine]}, headers=auth(alice)
    )
    assert refused.status_code == 422, "a refused submission attaches nothing"
    assert (
        client.post(url, json={**body, "attachment_ids": [mine]}, headers=auth(alice)).status_code
        == 201
    )
    reused = client.post(url, json={**body, "attachment_ids": [mine]}, headers=auth(alice))
    assert reused.status_code == 422
    assert "attached already" in reused.get_json()["errors"]["attachment_ids"][0]

    twice = uploaded_id(client, auth, alice)
    doubled = client.post(url, json={**body, "attachment_ids": [twice, twice]}, headers=auth(alice))
    assert doubled.status_code == 422
    six = [uploaded_id(client, auth, alice) for _ in range(6)]
    assert (
        client.post(url, json={**body, "attachment_ids": six}, headers=auth(alice)).status_code
        == 422
    )


def test_change_owner_with_the_downloaded_application_form(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    alice = account()
    ws = member(alice)
    form = client.get("/api/v1/ticket-types/change_owner/application-form")
    assert form.status_code == 200
    assert (
        form.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    url = f"/api/v1/workspaces/{ws}/tickets"
    body = {"type": "change_owner", "title": "New owner", "description": "Form attached"}
    assert client.post(url, json=body, headers=auth(alice)).status_code == 422
    attachment = uploaded_id(client, auth, alice, "application.docx", form.get_data())
    created = client.post(url, json={**body, "attachment_ids": [attachment]}, headers=auth(alice))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["attachments"][0]["content_type"].endswith(
        "wordprocessingml.document"
    )


def test_replies_carry_attachments(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    alice = account()
    ws = member(alice)
    ticket = client.post(
        f"/api/v1/workspaces/{ws}/tickets",
        json={"type": "bug", "title": "t", "description": "d"},
        headers=auth(alice),
    ).get_json()
    logs = uploaded_id(client, auth, ADMIN_ID, "logs.zip", SAMPLES["logs.zip"])
    client.post(f"/api/v1/tickets/{ticket['id']}/accept", headers=auth(ADMIN_ID, "admin"))
    message = client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "see logs", "attachment_ids": [logs]},
        headers=auth(ADMIN_ID, "admin"),
    )
    assert message.status_code == 201
    assert message.get_json()["attachments"][0]["filename"] == "logs.zip"
    assert client.get(f"/api/v1/attachments/{logs}", headers=auth(alice)).status_code == 200


def test_swapped_attachment_bytes_are_never_served_and_fail_the_audit(
    client: FlaskClient,
    auth: Auth,
    member: Callable[..., str],
    ticketing: TicketingApp,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice = account()
    ws = member(alice)
    original = f"the real notes {uuid4()}".encode()
    attachment = uploaded_id(client, auth, alice, "notes.txt", original)
    body = {"type": "bug", "title": "t", "description": "d", "attachment_ids": [attachment]}
    submitted = client.post(f"/api/v1/workspaces/{ws}/tickets", json=body, headers=auth(alice))
    assert submitted.status_code == 201
    url = f"/api/v1/attachments/{attachment}"
    assert client.get(url, headers=auth(alice)).get_data() == original
    digest = hashlib.sha256(original).hexdigest()
    forged = f"pay the invoice to account 666 {uuid4()}".encode()
    forged_digest = hashlib.sha256(forged).hexdigest()
    with ticketing.store.datastore.transaction(commit=True) as curs:
        # an insider swaps the bytes under the recorded digest
        curs.execute("UPDATE attachment_blobs SET content = %s WHERE sha256 = %s", (forged, digest))
    swapped = client.get(url, headers=auth(alice))
    assert swapped.status_code == 502
    assert forged not in swapped.get_data()
    capsys.readouterr()
    assert not audit_attachments(ticketing)
    assert (
        f"attachment {attachment}: its bytes are not the ones recorded" in capsys.readouterr().out
    )
    with ticketing.store.datastore.transaction(commit=True) as curs:
        # ... or stores other bytes under their own digest and points the index at them
        curs.execute(
            "UPDATE attachment_blobs SET content = %s WHERE sha256 = %s", (original, digest)
        )
        curs.execute(
            "INSERT INTO attachment_blobs (sha256, content) VALUES (%s, %s)",
            (forged_digest, forged),
        )
        curs.execute(
            "UPDATE attachments SET sha256 = %s WHERE id = %s", (forged_digest, attachment)
        )
    repointed = client.get(url, headers=auth(alice))
    assert repointed.status_code == 502
    assert forged not in repointed.get_data()
    assert not audit_attachments(ticketing)
    assert f"attachment {attachment}: the index names another digest" in capsys.readouterr().out
    with ticketing.store.datastore.transaction(commit=True) as curs:  # as it was, for the rest
        curs.execute("UPDATE attachments SET sha256 = %s WHERE id = %s", (digest, attachment))
        curs.execute("DELETE FROM attachment_blobs WHERE sha256 = %s", (forged_digest,))
    assert client.get(url, headers=auth(alice)).get_data() == original
    assert audit_attachments(ticketing)
