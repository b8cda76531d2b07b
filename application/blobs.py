"""Where attachment bytes live: content-addressed by sha256, behind a small interface.

PostgreSQL is the default (one store to back up); a filesystem directory is the second
implementation (``TICKETING_ATTACHMENT_STORE=filesystem``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from eventsourcing.postgres import PostgresDatastore


class BlobStore(Protocol):
    """Stores and returns file contents by their sha256."""

    def put(self, sha256: str, content: bytes) -> None:
        """Store content (storing the same content twice is harmless)."""
        ...

    def get(self, sha256: str) -> bytes:
        """The content, or KeyError."""
        ...

    def delete(self, sha256: str) -> None:
        """Forget content nothing refers to any more."""
        ...


class PostgresBlobStore:
    """Blobs in a table of the service's database."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore  # the table is created with the event store's tables

    def put(self, sha256: str, content: bytes) -> None:
        """Store content once per hash."""
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO attachment_blobs (sha256, content) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                (sha256, content),
            )

    def get(self, sha256: str) -> bytes:
        """The content of a hash."""
        with self._datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT content FROM attachment_blobs WHERE sha256 = %s", (sha256,)
            ).fetchone()
        if row is None:
            raise KeyError(sha256)
        return bytes(row["content"])

    def delete(self, sha256: str) -> None:
        """Remove the content of a hash."""
        with self._datastore.transaction(commit=True) as curs:
            curs.execute("DELETE FROM attachment_blobs WHERE sha256 = %s", (sha256,))


class FilesystemBlobStore:
    """Blobs as files ``<root>/<sha256[:2]>/<sha256>``, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise KeyError(sha256)
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, content: bytes) -> None:
        """Write the file unless it is there already."""
        path = self._path(sha256)
        if path.exists():
            return
        path.parent.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)

    def get(self, sha256: str) -> bytes:
        """Read the file."""
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def delete(self, sha256: str) -> None:
        """Remove the file if it is there."""
        self._path(sha256).unlink(missing_ok=True)
