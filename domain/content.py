"""Content rules: lengths, counts and ranges of what users type (CONTRACT.md §1, §2.4).

Each check appends messages to an error map instead of raising at once, so that a
refusal names every bad field together.

Text is kept exactly as accepted, so only text that every part of the service can store and
show is accepted: no NUL (PostgreSQL text cannot hold it), no other C0 control character but
tab, line feed and carriage return (spreadsheets and terminals cannot show them), no unpaired
surrogate (it has no UTF-8 form). Ids are 1 to 128 such characters without white space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from domain.errors import ValidationFailed
from domain.ticket_types import TYPE_INFO

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
BODY_MAX = 10_000
RATING_COMMENT_MAX = 2_000
ATTACHMENTS_PER_MESSAGE_MAX = 5
ID_MAX = 128
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
"""Characters no text or id may hold: C0 controls but tab, line feed and carriage return,
and surrogates (a Python string holds one only when it is unpaired)."""

REPLACEMENT = "\ufffd"
_NOT_HELD = re.compile("[\x00\ud800-\udfff]")

Errors = dict[str, list[str]]


def storable(text: str) -> str:
    """``text`` with what PostgreSQL text and UTF-8 cannot hold (NUL, unpaired surrogates)
    replaced by U+FFFD. Only for followers reading events older than these rules: text in
    the store stays exactly as it was accepted."""
    return _NOT_HELD.sub(REPLACEMENT, text)


def text_fault(value: str) -> str | None:
    """Why ``value`` cannot be stored and shown everywhere (None: it can)."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    if found.group() >= "\ud800":
        return "must not contain unpaired surrogates (text must be valid Unicode)"
    return "must not contain control characters other than tab, line feed and carriage return"


def identifier_fault(value: object) -> str | None:
    """Why ``value`` is not an id (None: it is one)."""
    if not isinstance(value, str):
        return "must be a string"
    if not 1 <= len(value) <= ID_MAX:
        return f"must be 1 to {ID_MAX} characters"
    if any(character.isspace() for character in value):
        return "must not contain white space"
    if any(unicodedata.category(character) == "Cf" for character in value):
        # U+202E and its kind change how the id is shown (x\u202eadmin reads as "xnimda")
        return "must not contain Unicode format characters (such as U+202E)"
    return text_fault(value)


def identifier(errors: Errors, field: str, value: object) -> str:
    """An id: 1 to 128 characters without white space or control characters."""
    fault = identifier_fault(value)
    if fault is not None:
        errors.setdefault(field, []).append(fault)
        return ""
    assert isinstance(value, str)
    return value


def check_identifiers(**ids: object) -> None:
    """Refuse the command unless each keyword names an id (422 naming the bad ones)."""
    errors: Errors = {}
    for field, value in ids.items():
        identifier(errors, field, value)
    raise_if_any(errors)


def trimmed_text(errors: Errors, field: str, value: object, maximum: int) -> str:
    """The text without surrounding white space, if it is 1..maximum characters long."""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("must be a string")
        return ""
    fault = text_fault(value)
    if fault is not None:
        errors.setdefault(field, []).append(fault)
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
        elif (fault := text_fault(comment)) is not None:
            errors.setdefault("comment", []).append(fault)
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
