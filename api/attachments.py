"""Attachments (CONTRACT.md §2.4): upload 1-5 files, download one."""

from __future__ import annotations

import io
from typing import Any

from flask import Response, request, send_file
from werkzeug.datastructures import FileStorage

from api.auth import current_actor
from api.http import ticketing
from api.limits import UPLOADS, spending
from api.parsing import Blueprint
from api.schemas import AttachmentSchema, AttachmentUploadSchema
from api.uploads import UPLOAD_BODY_LIMIT
from domain.attachments import CONTENT_TYPES

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Attachments")


@blp.before_request
def allow_uploads() -> None:
    # the API's 1 MiB body limit does not fit five files of 8 MiB
    if request.endpoint == "attachments.upload":
        request.max_content_length = UPLOAD_BODY_LIMIT


@blp.route("/attachments", methods=["POST"])
@blp.doc(
    description="Each file at most 8 MiB, checked on its bytes (415 if it is not what its "
    "extension says, 413 if too large); attach them by id to a submission or a reply. "
    "Accepted: " + " ".join(f".{extension}" for extension in CONTENT_TYPES) + "."
)
@blp.arguments(AttachmentUploadSchema, location="files")
@blp.response(201, AttachmentSchema(many=True))
def upload(form: dict[str, Any]) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    """Upload 1-5 files (field ``files``)."""
    files: list[FileStorage] = form.get("files", [])
    contents = [(stored.filename or "", stored.read()) for stored in files]
    with spending(UPLOADS, sum(len(content) for _, content in contents)) as spent:
        return ticketing().attachments.upload(current_actor(), contents), 201, spent


@blp.route("/attachments/<attachment_id>", methods=["GET"])
@blp.response(200, content_type="application/octet-stream")
def download(attachment_id: str) -> Response:
    """The file, for its uploader or anyone who can see a ticket that uses it (else 404)."""
    record, content = ticketing().attachments.download(current_actor(), attachment_id)
    response = send_file(
        io.BytesIO(content),
        mimetype=record["content_type"],
        as_attachment=True,
        download_name=record["filename"],
        etag=record["sha256"],
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # an attachment never changes (its ETag is its digest): the caller's browser may keep it
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
