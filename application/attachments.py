"""Attachments: uploads, references from submissions and replies, downloads, clean-up.

Events record only an attachment's metadata ``{id, filename, content_type, size, sha256}``;
the bytes live in a content-addressed blob store. An upload may be attached once, by its
uploader; one never attached is deleted after a while by the worker.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID, uuid4

from application.errors import AttachmentDamaged, AttachmentNotFound, TicketNotFound
from application.ports import Record, StoredAttachment
from application.store import TicketingStore
from domain import permissions
from domain.actors import Actor, Role
from domain.attachments import MAX_FILES, check_file, safe_filename
from domain.errors import NotAllowed, ValidationFailed
from domain.ticket import Ticket

log = logging.getLogger(__name__)


class Attachments:
    """Uploading, attaching and downloading files."""

    def __init__(self, store: TicketingStore) -> None:
        self.store = store

    def upload(self, actor: Actor, files: Sequence[tuple[str, bytes]]) -> list[Record]:
        """Store 1-5 files after checking each one; all or none are stored."""
        if actor.role is Role.AUDITOR:
            raise NotAllowed("auditors change nothing")
        if not 1 <= len(files) <= MAX_FILES:
            raise ValidationFailed({"files": [f"send 1 to {MAX_FILES} files"]})
        checked = []
        for raw_name, content in files:
            filename = safe_filename(raw_name)
            content_type = check_file(filename, content)
            checked.append((filename, content_type, content))
        now = self.store.clock.now()
        records = []
        for filename, content_type, content in checked:
            sha256 = hashlib.sha256(content).hexdigest()
            self.store.blobs.put(sha256, content)
            record = {
                "id": str(uuid4()),
                "filename": filename,
                "content_type": content_type,
                "size": len(content),
                "sha256": sha256,
            }
            self.store.attachment_index.add(record, actor.account_id, now)
            records.append(record)
        log.info("%s uploaded %d attachments", actor.account_id, len(records))
        return records

    def download(self, actor: Actor, attachment_id: str) -> tuple[Record, bytes]:
        """Metadata and bytes, for the uploader or anyone who sees a ticket using it (a staff
        note's file: staff who see the ticket; to a user it does not exist)."""
        stored = self._stored(attachment_id)
        if stored is None:
            raise AttachmentNotFound(attachment_id)
        if stored.uploader_id != actor.account_id:
            if stored.ticket_id is None:
                raise AttachmentNotFound(attachment_id)
            if stored.staff_only and not permissions.sees_notes(actor):
                raise AttachmentNotFound(attachment_id)
            try:
                self.store.visible_ticket(actor, str(stored.ticket_id))
            except TicketNotFound:
                raise AttachmentNotFound(attachment_id) from None
        digest = stored.record["sha256"]
        if stored.ticket_id is not None:  # the event's record is the proof; the index a copy
            recorded = recorded_digests(self.store.get_ticket(stored.ticket_id))
            if recorded.get(attachment_id) != digest:
                raise AttachmentDamaged(attachment_id)
        content = self.store.blobs.get(digest)
        if hashlib.sha256(content).hexdigest() != digest:
            raise AttachmentDamaged(attachment_id)
        return stored.record, content

    def delete_unattached(self, older_than: timedelta) -> int:
        """Delete uploads never attached for ``older_than``; returns how many."""
        count, unused = self.store.attachment_index.delete_unattached(
            self.store.clock.now() - older_than
        )
        for sha256 in unused:
            self.store.blobs.delete(sha256)
        if count:
            log.info("deleted %d attachments never attached", count)
        return count

    def resolve(self, actor: Actor, attachment_ids: Sequence[object]) -> list[Record]:
        """The metadata of the caller's own uploads not attached yet, in the order given."""
        records, problems = [], []
        for raw in attachment_ids:
            stored = self._stored(raw) if isinstance(raw, str) else None
            if stored is None or stored.uploader_id != actor.account_id:
                problems.append(f"unknown attachment {raw}")
            elif stored.ticket_id is not None:
                problems.append(f"attachment {raw} is attached already")
            else:
                records.append(stored.record)
        if problems:
            raise ValidationFailed({"attachment_ids": problems})
        return records

    def _stored(self, attachment_id: str) -> StoredAttachment | None:
        try:
            key = UUID(attachment_id)
        except ValueError:
            return None
        return self.store.attachment_index.find(key)


def recorded_digests(ticket: Ticket) -> dict[str, str]:
    """Attachment id -> the sha256 the ticket's events recorded: of its submission, its
    messages and its notes."""
    said = [
        attachment
        for entry in (*ticket.messages, *ticket.notes)
        for attachment in entry.get("attachments", ())
    ]
    return {attachment["id"]: attachment["sha256"] for attachment in (*ticket.attachments, *said)}
