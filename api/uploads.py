"""Request bodies that stop at their limits while they are still arriving.

Werkzeug spools each uploaded file to a temporary file as it parses; this request class
hands it a file that refuses to grow past 8 MiB, so an oversized upload is answered 413
without ever being buffered whole. A chunked body (no ``Content-Length``) is cut at the body
limit by Werkzeug without a word, which left a truncated JSON document (400); here what is
left past the limit makes it 413, as for a body that announced its length.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge

from domain.attachments import MAX_BYTES, MAX_FILES

UPLOAD_BODY_LIMIT = MAX_FILES * MAX_BYTES + 1024 * 1024  # five full files and the form around them


class _LimitedFile(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    """A spooled file that raises 413 past the per-file limit."""

    def __init__(self) -> None:
        super().__init__(max_size=1024 * 1024)
        self.written = 0

    def write(self, data: Any) -> int:
        self.written += len(data)
        if self.written > MAX_BYTES:
            raise RequestEntityTooLarge(f"each file may be at most {MAX_BYTES:,} bytes")
        return int(super().write(data))


class TicketingRequest(Request):
    """Flask's request, with files streamed into size-limited spools."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return _LimitedFile()

    def get_data(  # type: ignore[override]
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        """The body, or 413 if a chunked body goes on past the limit."""
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        limit = self.max_content_length
        cut = self.content_length is None and limit is not None and len(data) >= limit
        if cut and self.environ["wsgi.input"].read(1):  # the raw stream, past the limit
            raise RequestEntityTooLarge(f"the body may be at most {limit:,} bytes")
        return data.decode(errors="replace") if as_text else data
