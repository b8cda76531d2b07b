"""The attachment index in PostgreSQL: uploads' metadata beside the event store's tables."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from application.ports import Record, StoredAttachment


class PostgresAttachmentIndex:
    """Uploads in the ``attachments`` table; where each is attached in
    ``attachment_references`` (written by the recorder with the attaching command)."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore  # the tables are created with the event store's tables

    def add(self, record: Record, uploader_id: str, at: datetime) -> None:
        """Index a new upload."""
        with self._datastore.transaction(commit=True) as curs:
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

    def find(self, attachment_id: UUID) -> StoredAttachment | None:
        """An upload and where it is attached, if it exists."""
        with self._datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT a.*, r.ticket_id, r.staff_only FROM attachments a "
                "LEFT JOIN attachment_references r ON r.attachment_id = a.id WHERE a.id = %s",
                (attachment_id,),
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
        return StoredAttachment(
            record, row["uploader_id"], row["ticket_id"], bool(row["staff_only"])
        )

    def delete_unattached(self, uploaded_before: datetime) -> tuple[int, set[str]]:
        """Forget uploads never attached; how many, and the hashes nothing uses any more."""
        with self._datastore.transaction(commit=True) as curs:
            rows = curs.execute(
                "DELETE FROM attachments a WHERE a.uploaded_at < %s AND NOT EXISTS "
                "(SELECT 1 FROM attachment_references r WHERE r.attachment_id = a.id) "
                "RETURNING a.sha256",
                (uploaded_before,),
            ).fetchall()
            hashes = {row["sha256"] for row in rows}
            still_used = {
                row["sha256"]
                for row in curs.execute(
                    "SELECT DISTINCT sha256 FROM attachments WHERE sha256 = ANY(%s)",
                    (list(hashes),),
                ).fetchall()
            }
        return len(rows), hashes - still_used
