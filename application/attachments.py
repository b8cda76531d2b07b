"""Attachments: uploads, references from submissions and replies, downloads, clean-up.

Events record only an attachment's metadata ``{id, filename, content_type, size, sha256}``;
the bytes live in a content-addressed blob store. An upload may be attached once, by its
uploader; one never attached is deleted after a while by the worker.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from application.blobs import BlobStore
from application.errors import AttachmentNotFound, TicketNotFound
from application.store import TicketingStore
from domain.actors import Actor, Role
from domain.attachments import MAX_FILES, check_file, safe_filename
from domain.errors import NotAllowed, ValidationFailed

log = logging.getLogger(__name__)
Record = dict[str, Any]


@dataclass(frozen=True)
class StoredAttachment:
    """An upload's metadata, who uploaded it, and where it is attached (if it is)."""

    record: Record
    uploader_id: str
    ticket_id: UUID | None


class Attachments(TicketingStore):
    """Uploading, attaching and downloading files."""

    blobs: BlobStore

    def upload_attachments(self, actor: Actor, files: Sequence[tuple[str, bytes]]) -> list[Record]:
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
        now = self.clock.now()
        records = []
        for filename, content_type, content in checked:
            sha256 = hashlib.sha256(content).hexdigest()
            self.blobs.put(sha256, content)
            record = {
                "id": str(uuid4()),
                "filename": filename,
                "content_type": content_type,
                "size": len(content),
                "sha256": sha256,
            }
            self._insert_attachment(record, actor.account_id, now)
            records.append(record)
        log.info("%s uploaded %d attachments", actor.account_id, len(records))
        return records

    def attachment_download(self, actor: Actor, attachment_id: str) -> tuple[Record, bytes]:
        """Metadata and bytes, for the uploader or anyone who sees a ticket using it."""
        stored = self._stored(attachment_id)
        if stored is None:
            raise AttachmentNotFound(attachment_id)
        if stored.uploader_id != actor.account_id:
            if stored.ticket_id is None:
                raise AttachmentNotFound(attachment_id)
            try:
                self._visible_ticket(actor, str(stored.ticket_id))
            except TicketNotFound:
                raise AttachmentNotFound(attachment_id) from None
        return stored.record, self.blobs.get(stored.record["sha256"])

    def delete_unattached(self, older_than: timedelta) -> int:
        """Delete uploads never attached for ``older_than``; returns how many."""
        cutoff = self.clock.now() - older_than
        with self.datastore.transaction(commit=True) as curs:
            rows = curs.execute(
                "DELETE FROM attachments a WHERE a.uploaded_at < %s AND NOT EXISTS "
                "(SELECT 1 FROM attachment_references r WHERE r.attachment_id = a.id) "
                "RETURNING a.sha256",
                (cutoff,),
            ).fetchall()
            hashes = {row["sha256"] for row in rows}
            still_used = {
                row["sha256"]
                for row in curs.execute(
                    "SELECT DISTINCT sha256 FROM attachments WHERE sha256 = ANY(%s)",
                    (list(hashes),),
                ).fetchall()
            }
        for sha256 in hashes - still_used:
            self.blobs.delete(sha256)
        if rows:
            log.info("deleted %d attachments never attached", len(rows))
        return len(rows)

    def _resolve_attachments(self, actor: Actor, attachment_ids: Sequence[object]) -> list[Record]:
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
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT a.*, r.ticket_id FROM attachments a "
                "LEFT JOIN attachment_references r ON r.attachment_id = a.id WHERE a.id = %s",
                (key,),
            ).fetchone()
        if row is None:
            return None
        record = {
            "id": str(row["id"]),
            "filename": row["filename"],
            "content_type": row["content_type"],
            "size": row["size"],
            "sha256": row["sha256"],
        }
        return StoredAttachment(record, row["uploader_id"], row["ticket_id"])

    def _insert_attachment(self, record: Record, uploader_id: str, at: datetime) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO attachments (id, uploader_id, filename, content_type, size, sha256, "
                "uploaded_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    UUID(record["id"]),
                    uploader_id,
                    record["filename"],
                    record["content_type"],
                    record["size"],
                    record["sha256"],
                    at,
                ),
            )
