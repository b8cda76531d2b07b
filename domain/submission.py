"""What a submission must carry to open a ticket: every field checked, every problem named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain import content
from domain.actors import Actor, Role
from domain.errors import NotAllowed
from domain.ticket_types import TYPE_INFO

Record = dict[str, Any]
ACKNOWLEDGEMENT = (
    "Thank you for contacting support. We have received your ticket and will reply "
    "as soon as possible within our service hours."
)


@dataclass(frozen=True)
class CheckedSubmission:
    """A submission's fields as the ticket records them."""

    ticket_type: str
    title: str
    description: str
    attachments: list[Record]
    verified_email: str | None


def check_submission(
    submitter: Actor,
    *,
    ticket_type: object,
    title: object,
    description: object,
    attachments: Sequence[Record],
    verified_email: str | None,
) -> CheckedSubmission:
    """The cleaned fields, or :class:`ValidationFailed` naming every bad one at once."""
    if submitter.role is not Role.USER:
        raise NotAllowed("only workspace members with the user role may submit tickets")
    errors: content.Errors = {}
    code = content.ticket_type(errors, ticket_type)
    clean_title = content.trimmed_text(errors, "title", title, content.TITLE_MAX)
    clean_description = content.trimmed_text(
        errors, "description", description, content.DESCRIPTION_MAX
    )
    records = content.attachments(errors, "attachment_ids", attachments)
    info = TYPE_INFO.get(code)
    if info is not None and info.requires_attachment and not records:
        errors.setdefault("attachment_ids", []).append(
            f"a {info.name} ticket needs at least one attachment (the application form)"
        )
    if info is not None and info.requires_verified_email and not verified_email:
        errors.setdefault("verification", []).append(
            f"a {info.name} ticket needs a verified e-mail address"
        )
    content.raise_if_any(errors)
    keeps_email = info is not None and info.requires_verified_email
    return CheckedSubmission(
        code, clean_title, clean_description, records, verified_email if keeps_email else None
    )
