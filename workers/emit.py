"""``ticketing emit TYPE key=value ...``: publish a platform event, as the platform would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

from application.config import ConfigError, Settings
from workers.kafka_clients import make_producer
from workers.platform_messages import ACCOUNT_TYPES, WORKSPACE_TYPES

SEND_TIMEOUT = 30.0


def emit(settings: Settings, kind: str, assignments: list[str]) -> str:
    """Publish one platform event; returns its event id."""
    if kind in ACCOUNT_TYPES:
        topic, required = settings.topic_accounts, ACCOUNT_TYPES[kind]
    elif kind in WORKSPACE_TYPES:
        topic, required = settings.topic_workspaces, WORKSPACE_TYPES[kind]
    else:
        known = ", ".join([*ACCOUNT_TYPES, *WORKSPACE_TYPES])
        raise ConfigError(f"unknown event type {kind!r}; one of: {known}")
    data = {}
    for assignment in assignments:
        key, separator, value = assignment.partition("=")
        if not separator or not key:
            raise ConfigError(f"expected key=value, got {assignment!r}")
        data[key] = value
    missing = [field for field in required if not data.get(field)]
    if missing:
        raise ConfigError(f"{kind} needs {', '.join(f'{field}=...' for field in missing)}")
    event_id = str(uuid4())
    message = {
        "event_id": event_id,
        "type": kind,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data,
    }
    producer = make_producer(settings)
    try:
        partition_key = data[required[0]].encode()
        future = producer.send(topic, key=partition_key, value=json.dumps(message).encode())
        future.get(timeout=SEND_TIMEOUT)
    finally:
        producer.close(timeout=5)
    return event_id
