"""Parsing of platform messages: applied, skipped or poison."""

from __future__ import annotations

import json

import pytest

from workers import platform_messages as messages

EVENT_ID = "6f1f0f6e-1a52-4d8b-9a43-0a7e5a4f7f11"


def message(**fields: object) -> bytes:
    return json.dumps(
        {"event_id": EVENT_ID, "occurred_at": "2026-01-01T00:00:00Z", **fields}
    ).encode()


def test_a_well_formed_event() -> None:
    parsed = messages.parse(
        message(type="MemberJoined", data={"workspace_id": "w", "account_id": "a"}),
        messages.WORKSPACE_TYPES,
    )
    assert parsed == messages.PlatformEvent(
        EVENT_ID, "MemberJoined", {"workspace_id": "w", "account_id": "a"}
    )


def test_unknown_types_are_skipped() -> None:
    assert messages.parse(
        message(type="WorkspaceRenamed", data={}), messages.WORKSPACE_TYPES
    ) == messages.Skipped("WorkspaceRenamed")
    assert messages.parse(
        message(type="MemberJoined", data={}), messages.ACCOUNT_TYPES
    ) == messages.Skipped("MemberJoined")


@pytest.mark.parametrize(
    "value",
    [
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b"",
        message(type="MemberJoined"),
        message(type="MemberJoined", data={"workspace_id": "w"}),
        message(type="MemberJoined", data={"workspace_id": "w", "account_id": 5}),
        message(type="MemberJoined", data={"workspace_id": " ", "account_id": "a"}),
        message(type="MemberJoined", data={"workspace_id": "w" * 129, "account_id": "a"}),
        message(type="MemberJoined", data={"workspace_id": "w", "account_id": "a\u0000b"}),
        message(type="MemberJoined", data={"workspace_id": "w", "account_id": "a b"}),
        message(type="MemberJoined", data={"workspace_id": "w", "account_id": "\ud800"}),
        message(type="MemberJoined", data={"workspace_id": "w\u0007", "account_id": "a"}),
        b"[" * 100_000,
        b'{"event_id": ' + b"9" * 5000 + b"}",
        message(type=7, data={}),
        json.dumps({"event_id": "not-a-uuid", "type": "MemberLeft", "data": {}}).encode(),
        json.dumps({"type": "MemberLeft", "data": {}}).encode(),
    ],
)
def test_poison_messages_say_why(value: bytes) -> None:
    parsed = messages.parse(value, messages.WORKSPACE_TYPES)
    assert isinstance(parsed, messages.Poison)
    assert parsed.reason
