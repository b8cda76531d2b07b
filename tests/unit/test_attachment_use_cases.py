"""Attachments through the application, on in-memory persistence: who may attach and read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.clock import SettableClock
from application.errors import AttachmentNotFound
from application.tickets import TicketingApp
from domain.errors import NotAllowed, ValidationFailed
from tests.fixtures import pdf, png
from tests.people import ADMIN, AUDITOR, submit, user, workspace_with


def test_an_upload_is_attached_once_by_its_uploader(app: TicketingApp) -> None:
    alice, bob = user(), user()
    ws = workspace_with(app, alice, bob)
    [upload] = app.attachments.upload(alice, [("screen.png", png())])

    with pytest.raises(ValidationFailed) as foreign:
        submit(app, bob, ws, attachment_ids=[upload["id"]])
    assert foreign.value.errors["attachment_ids"] == [f"unknown attachment {upload['id']}"]
    ticket = submit(app, alice, ws, attachment_ids=[upload["id"]]).ticket
    assert [a["id"] for a in ticket.attachments] == [upload["id"]]
    with pytest.raises(ValidationFailed) as again:
        app.reply(alice, str(ticket.id), "once more", attachment_ids=[upload["id"]])
    assert again.value.errors["attachment_ids"] == [
        f"attachment {upload['id']} is attached already"
    ]


def test_an_attached_file_is_read_by_whoever_sees_its_ticket(app: TicketingApp) -> None:
    alice, bob, mallory = user(), user(), user()
    ws = workspace_with(app, alice, bob)
    workspace_with(app, mallory)
    [upload] = app.attachments.upload(alice, [("report.pdf", pdf())])
    with pytest.raises(AttachmentNotFound):
        app.attachments.download(bob, upload["id"])  # not attached yet: the uploader's only

    ticket_id = str(submit(app, alice, ws).ticket.id)
    app.reply(alice, ticket_id, "the report", attachment_ids=[upload["id"]])
    for reader in (alice, bob, ADMIN, AUDITOR):
        record, content = app.attachments.download(reader, upload["id"])
        assert (record["filename"], content) == ("report.pdf", pdf())
    for outsider, attachment_id in ((mallory, upload["id"]), (alice, "not-a-uuid")):
        with pytest.raises(AttachmentNotFound):
            app.attachments.download(outsider, attachment_id)
    with pytest.raises(NotAllowed):
        app.attachments.upload(AUDITOR, [("a.png", png())])


def test_only_uploads_never_attached_are_cleaned_up(
    app: TicketingApp, clock: SettableClock
) -> None:
    alice = user()
    ws = workspace_with(app, alice)
    [used, copy, lone] = app.attachments.upload(
        alice, [("used.png", png()), ("copy.png", png()), ("lone.pdf", pdf())]
    )
    submit(app, alice, ws, attachment_ids=[used["id"]])
    clock.advance(timedelta(days=2))
    assert app.attachments.delete_unattached(timedelta(days=1)) == 2
    assert app.attachments.download(alice, used["id"])[1] == png(), "shared bytes stay"
    for gone in (copy, lone):
        with pytest.raises(AttachmentNotFound):
            app.attachments.download(alice, gone["id"])
    with pytest.raises(KeyError):
        app.store.blobs.get(lone["sha256"])
