"""Content rules: lengths, counts and ranges of what users type (CONTRACT.md §1, §2.4).

Each check appends messages to an error map instead of raising at once, so that a
refusal names every bad field together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.errors import ValidationFailed
from domain.ticket_types import TYPE_INFO

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
BODY_MAX = 10_000
RATING_COMMENT_MAX = 2_000
ATTACHMENTS_PER_MESSAGE_MAX = 5

Errors = dict[str, list[str]]


def trimmed_text(errors: Errors, field: str, value: object, maximum: int) -> str:
    """The text without surrounding white space, if it is 1..maximum characters long."""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("must be a string")
        return ""
    text = value.strip()
    if not text:
        errors.setdefault(field, []).append("must not be empty")
    elif len(text) > maximum:
        errors.setdefault(field, []).append(f"must be at most {maximum} characters")
    return text


def ticket_type(errors: Errors, value: object) -> str:
    """One of the eight type codes."""
    if not isinstance(value, str) or value not in TYPE_INFO:
        errors.setdefault("type", []).append("must be one of: " + ", ".join(TYPE_INFO))
        return ""
    return value


def attachments(
    errors: Errors, field: str, value: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """At most five attachments, each referenced once."""
    records = [dict(item) for item in value]
    if len(records) > ATTACHMENTS_PER_MESSAGE_MAX:
        errors.setdefault(field, []).append(
            f"at most {ATTACHMENTS_PER_MESSAGE_MAX} attachments per message"
        )
    ids = [record.get("id") for record in records]
    if len(set(ids)) != len(ids):
        errors.setdefault(field, []).append("an attachment may be referenced only once")
    return records


def rating(errors: Errors, score: object, comment: object) -> tuple[int, str | None]:
    """A whole score from 1 to 5 and an optional comment of at most 2,000 characters."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors.setdefault("score", []).append("must be a whole number from 1 to 5")
        score = 0
    text: str | None = None
    if comment is not None:
        if not isinstance(comment, str):
            errors.setdefault("comment", []).append("must be a string")
        elif len(comment.strip()) > RATING_COMMENT_MAX:
            errors.setdefault("comment", []).append(
                f"must be at most {RATING_COMMENT_MAX} characters"
            )
        else:
            text = comment.strip() or None
    return int(score), text


def raise_if_any(errors: Errors) -> None:
    """Refuse the command if any field was bad."""
    if errors:
        raise ValidationFailed(errors)
