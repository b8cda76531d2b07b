"""Blob stores (PostgreSQL and filesystem) and the clean-up of uploads never attached."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from application.blobs import BlobStore, FilesystemBlobStore, PostgresBlobStore
from application.bootstrap import build_app
from application.clock import SettableClock
from application.config import Settings
from application.errors import AttachmentNotFound
from application.tickets import TicketingApp
from tests.fixtures import pdf, png
from tests.integration.conftest import submit, user, workspace_with


@pytest.fixture(params=["postgres", "filesystem"])
def blobs(request: pytest.FixtureRequest, app: TicketingApp, tmp_path: Path) -> BlobStore:
    if request.param == "postgres":
        return PostgresBlobStore(app.store.datastore)
    return FilesystemBlobStore(tmp_path / "blobs")


def test_blob_store_contract(blobs: BlobStore) -> None:
    content = png()
    sha = hashlib.sha256(content).hexdigest()
    blobs.put(sha, content)
    blobs.put(sha, content)  # the same content twice is harmless
    assert blobs.get(sha) == content
    blobs.delete(sha)
    with pytest.raises(KeyError):
        blobs.get(sha)
    with pytest.raises(KeyError):
        blobs.get("../../etc/passwd")


def test_unattached_uploads_are_deleted_after_the_ttl(
    app: TicketingApp, clock: SettableClock
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    [kept] = app.attachments.upload(alice, [("kept.png", png())])
    [same_bytes] = app.attachments.upload(alice, [("copy.png", png())])
    unique = pdf() + uuid4().hex.encode()  # content no other test has uploaded
    [dropped] = app.attachments.upload(alice, [("dropped.pdf", unique)])
    submit(app, alice, ws, attachment_ids=[kept["id"]])

    clock.advance(timedelta(hours=23))
    app.attachments.delete_unattached(timedelta(hours=24))
    assert app.attachments.download(alice, dropped["id"])[1] == unique, "not old enough yet"

    clock.advance(timedelta(hours=2))
    assert app.attachments.delete_unattached(timedelta(hours=24)) >= 2
    for gone in (dropped, same_bytes):
        with pytest.raises(AttachmentNotFound):
            app.attachments.download(alice, gone["id"])
    assert app.attachments.download(alice, kept["id"])[1] == png(), "shared content stays"
    with pytest.raises(KeyError):
        app.store.blobs.get(dropped["sha256"])


def test_the_filesystem_store_is_used_when_configured(database_url: str, tmp_path: Path) -> None:
    settings = dataclasses.replace(
        Settings(),
        database_url=database_url,
        attachment_store="filesystem",
        attachment_dir=str(tmp_path),
    )
    app = build_app(settings)
    try:
        [record] = app.attachments.upload(user(), [("scan.pdf", pdf())])
        sha = record["sha256"]
        assert (tmp_path / sha[:2] / sha).read_bytes() == pdf()
    finally:
        app.store.close()
