"""Configuration: every setting is a ``TICKETING_*`` environment variable, read here only.

Defaults work for a local PostgreSQL on 127.0.0.1:5432; ``ticketing dev`` writes the
settings of the instance it runs to ``<data-dir>/ticketing.env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from dotenv import load_dotenv

from domain.sla import SlaTargets

ENV_FILE_VARIABLE = "TICKETING_ENV_FILE"


def load_env_file() -> None:
    """Load the dotenv file named by ``TICKETING_ENV_FILE``; the real environment wins."""
    path = os.environ.get(ENV_FILE_VARIABLE)
    if path:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{ENV_FILE_VARIABLE} names {path!r}, which is not a file")
        load_dotenv(path, override=False)


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name) or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


_DEFAULT_TARGETS = SlaTargets()  # the domain's default SLA targets (CONTRACT.md §2.5)
_VARIABLES = {"sla_targets_by_type": "TICKETING_SLA_TARGETS"}  # names that are not the field's
_CHOICES = {"attachment_store": ("postgres", "filesystem")}
_MAY_BE_ZERO = frozenset({
    "closing_reminder_hours", "aggregate_cache_size", "web_max_requests",
    "limit_submissions_per_minute", "limit_messages_per_minute", "limit_upload_mib_per_hour",
    "limit_exports_per_minute",
})  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """The service's settings; build with :meth:`from_env`."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/ticketing"
    default_assignee: str = "admin"
    jwt_secret: str = ""
    # signs every stored event (application.signatures); empty: events are not signed
    signing_key: str = ""
    log_level: str = "INFO"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_group: str = "ticketing"
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_max_poll_interval_ms: int = 300_000
    topic_accounts: str = "platform.accounts"
    topic_workspaces: str = "platform.workspaces"
    topic_ticket_events: str = "tickets.events"
    topic_email: str = "notifications.email"
    topic_notifications: str = "notifications.accounts"
    topic_audit_checkpoints: str = "audit.checkpoints"
    # seconds between two checkpoints of the event store's hash chain (and every 10,000 events)
    audit_checkpoint_seconds: int = 60
    attachment_store: str = "postgres"
    attachment_dir: str = "var/attachments"
    unattached_ttl_hours: int = 24
    janitor_interval_seconds: int = 600
    autoclose_interval_seconds: int = 300
    closing_reminder_hours: int = 0
    service_days: str = "mon-fri"
    service_hours: str = "09:00-17:00"
    service_timezone: str = "Asia/Shanghai"
    service_holidays: str = ""
    service_holidays_file: str = ""
    sla_first_response_hours: int = _DEFAULT_TARGETS.first_response // timedelta(hours=1)
    sla_resolution_hours: int = _DEFAULT_TARGETS.resolution // timedelta(hours=1)
    sla_targets_by_type: str = ""
    db_pool_size: int = 5
    aggregate_cache_size: int = 1000
    command_attempts: int = 20
    bind: str = "127.0.0.1:8000"
    # per-account limits for users (CONTRACT.md §2.0); tests and benchmarks set their own
    limit_submissions_per_minute: int = 30
    limit_messages_per_minute: int = 60
    limit_upload_mib_per_hour: int = 200
    limit_exports_per_minute: int = 10  # of every account, staff too
    # where /metrics answers without a token (host:port, empty: nowhere), for a scraper
    metrics_bind: str = ""
    web_workers: int = 2
    web_threads: int = 32
    # requests (and of them exports) one account may have on threads in one API process at
    # once, and waiting for a turn: a flood from one account leaves the threads to the others
    requests_per_account: int = 2
    exports_per_account: int = 1
    requests_waiting_per_account: int = 64
    web_connections: int = 4_000
    # each API process is replaced (gracefully, its requests finished) after about this many
    # requests: what caches and the allocator keep grows no further (docs/benchmarks.md, soak)
    web_max_requests: int = 20_000
    # ``ticketing worker`` rewrites this file every few seconds while all its parts run and
    # the database answers; ``ticketing health worker`` reads its age (container health)
    worker_heartbeat_file: str = ""

    @property
    def consumed_topics(self) -> tuple[str, str]:
        """The platform topics the service consumes (CONTRACT.md §3.1)."""
        return (self.topic_accounts, self.topic_workspaces)

    @property
    def all_topics(self) -> dict[str, int]:
        """Every topic the service uses, with the partitions it creates them with."""
        consumed = {topic: 3 for topic in self.consumed_topics}
        dead_letters = {f"{topic}.dlq": 1 for topic in self.consumed_topics}
        produced = {
            self.topic_ticket_events: 3,
            self.topic_email: 1,
            self.topic_notifications: 3,
            self.topic_audit_checkpoints: 1,
        }
        return {**consumed, **dead_letters, **produced}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``TICKETING_*`` variables (``os.environ`` by default): each field from
        ``TICKETING_<FIELD>`` (see ``_VARIABLES`` for the exceptions), whole numbers checked."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in fields(cls):
            name = _VARIABLES.get(field.name, f"TICKETING_{field.name.upper()}")
            default = field.default
            if field.name in _CHOICES:
                values[field.name] = _choice(env, name, _CHOICES[field.name], str(default))
            elif isinstance(default, int):
                minimum = 0 if field.name in _MAY_BE_ZERO else 1
                values[field.name] = _int(env, name, default, minimum=minimum)
            else:
                values[field.name] = env.get(name) or default
        values["log_level"] = values["log_level"].upper()
        return cls(**values)
