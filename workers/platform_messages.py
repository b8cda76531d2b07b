"""Platform messages consumed from Kafka (CONTRACT.md §3.1), parsed without side effects.

A message is applied, skipped (an unknown ``type``) or poison (not JSON, or a known type in
the wrong shape): poison goes to ``<topic>.dlq`` with the reason in a header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

# type -> the data fields it needs, per kind of topic
ACCOUNT_TYPES: dict[str, tuple[str, ...]] = {"AccountCancelled": ("account_id",)}
WORKSPACE_TYPES: dict[str, tuple[str, ...]] = {
    "MemberJoined": ("workspace_id", "account_id"),
    "MemberLeft": ("workspace_id", "account_id"),
    "WorkspaceDissolved": ("workspace_id",),
}
FIELD_MAX = 200


@dataclass(frozen=True)
class PlatformEvent:
    """A well-formed platform event of a type the service acts on."""

    event_id: str
    type: str
    data: dict[str, str]


@dataclass(frozen=True)
class Skipped:
    """A well-formed message of a type the service does not act on."""

    type: str


@dataclass(frozen=True)
class Poison:
    """A message that cannot be processed, and why."""

    reason: str


Parsed = PlatformEvent | Skipped | Poison


def parse(value: bytes | None, types: dict[str, tuple[str, ...]]) -> Parsed:
    """Parse one message value against the types its topic carries."""
    try:
        message = json.loads(value or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Poison(f"not JSON: {error}")
    if not isinstance(message, dict):
        return Poison("not a JSON object")
    event_id, kind, data = message.get("event_id"), message.get("type"), message.get("data")
    if not isinstance(kind, str) or not kind:
        return Poison("type must be a non-empty string")
    if not isinstance(event_id, str):
        return Poison("event_id must be a UUID string")
    try:
        UUID(event_id)
    except ValueError:
        return Poison("event_id must be a UUID string")
    if kind not in types:
        return Skipped(kind)
    if not isinstance(data, dict):
        return Poison("data must be an object")
    fields = {}
    for name in types[kind]:
        field = data.get(name)
        if not isinstance(field, str) or not field.strip() or len(field) > FIELD_MAX:
            return Poison(
                f"data.{name} must be a non-empty string of at most {FIELD_MAX} characters"
            )
        fields[name] = field
    return PlatformEvent(event_id=event_id, type=kind, data=fields)
