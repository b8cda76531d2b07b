"""Platform messages consumed from Kafka (CONTRACT.md §3.1), parsed without side effects.

A message is applied, skipped (an unknown ``type``) or poison (not JSON, or a known type in
the wrong shape, ids that break the id rule included): poison goes to ``<topic>.dlq`` with the
reason in a header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

from domain.content import identifier_fault

# type -> the data fields it needs, per kind of topic
ACCOUNT_TYPES: dict[str, tuple[str, ...]] = {"AccountCancelled": ("account_id",)}
WORKSPACE_TYPES: dict[str, tuple[str, ...]] = {
    "MemberJoined": ("workspace_id", "account_id"),
    "MemberLeft": ("workspace_id", "account_id"),
    "WorkspaceDissolved": ("workspace_id",),
}


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
    except (ValueError, RecursionError) as error:  # bad UTF-8 or JSON, too deep, too long
        return Poison(f"not JSON: {str(error)[:200]}")
    if not isinstance(message, dict):
        return Poison("not a JSON object")
    event_id, kind, data = message.get("event_id"), message.get("type"), message.get("data")
    if not isinstance(kind, str) or not kind:
        return Poison("type must be a non-empty string")
    if not isinstance(event_id, str):
        return Poison("event_id must be a UUID string")
    try:
        # compared as UUIDs (CONTRACT.md §3): E, E in capitals and E without dashes are one
        event_id = str(UUID(event_id))
    except ValueError:
        return Poison("event_id must be a UUID string")
    if kind not in types:
        return Skipped(kind)
    if not isinstance(data, dict):
        return Poison("data must be an object")
    fields = {}
    for name in types[kind]:
        field = data.get(name)
        fault = identifier_fault(field)
        if fault is not None or not isinstance(field, str):
            return Poison(f"data.{name} {fault} (an id: CONTRACT.md §1)")
        fields[name] = field
    return PlatformEvent(event_id=event_id, type=kind, data=fields)
