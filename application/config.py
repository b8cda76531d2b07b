"""Configuration: every setting is a ``TICKETING_*`` environment variable, read here only.

Defaults work for a local PostgreSQL on 127.0.0.1:5432; ``ticketing dev`` writes the
settings of the instance it runs to ``<data-dir>/ticketing.env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

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


@dataclass(frozen=True)
class Settings:
    """The service's settings; build with :meth:`from_env`."""

    database_url: str = "postgresql://postgres@127.0.0.1:5432/ticketing"
    default_assignee: str = "admin"
    jwt_secret: str = ""
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
    web_workers: int = 2
    web_threads: int = 32
    # each API process is replaced (gracefully, its requests finished) after about this many
    # requests: what caches and the allocator keep grows no further (docs/benchmarks.md, soak)
    web_max_requests: int = 20_000

    @property
    def consumed_topics(self) -> tuple[str, str]:
        """The platform topics the service consumes (CONTRACT.md §3.1)."""
        return (self.topic_accounts, self.topic_workspaces)

    @property
    def all_topics(self) -> dict[str, int]:
        """Every topic the service uses, with the partitions it creates them with."""
        consumed = {topic: 3 for topic in self.consumed_topics}
        dead_letters = {f"{topic}.dlq": 1 for topic in self.consumed_topics}
        return {**consumed, **dead_letters, self.topic_ticket_events: 3, self.topic_email: 1}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``TICKETING_*`` variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            database_url=env.get("TICKETING_DATABASE_URL") or defaults.database_url,
            default_assignee=env.get("TICKETING_DEFAULT_ASSIGNEE") or defaults.default_assignee,
            jwt_secret=env.get("TICKETING_JWT_SECRET") or defaults.jwt_secret,
            log_level=(env.get("TICKETING_LOG_LEVEL") or defaults.log_level).upper(),
            kafka_bootstrap=env.get("TICKETING_KAFKA_BOOTSTRAP") or defaults.kafka_bootstrap,
            kafka_group=env.get("TICKETING_KAFKA_GROUP") or defaults.kafka_group,
            kafka_session_timeout_ms=_int(
                env, "TICKETING_KAFKA_SESSION_TIMEOUT_MS", defaults.kafka_session_timeout_ms
            ),
            kafka_heartbeat_interval_ms=_int(
                env, "TICKETING_KAFKA_HEARTBEAT_INTERVAL_MS", defaults.kafka_heartbeat_interval_ms
            ),
            kafka_max_poll_interval_ms=_int(
                env, "TICKETING_KAFKA_MAX_POLL_INTERVAL_MS", defaults.kafka_max_poll_interval_ms
            ),
            topic_accounts=env.get("TICKETING_TOPIC_ACCOUNTS") or defaults.topic_accounts,
            topic_workspaces=env.get("TICKETING_TOPIC_WORKSPACES") or defaults.topic_workspaces,
            topic_ticket_events=(
                env.get("TICKETING_TOPIC_TICKET_EVENTS") or defaults.topic_ticket_events
            ),
            topic_email=env.get("TICKETING_TOPIC_EMAIL") or defaults.topic_email,
            attachment_store=_choice(
                env,
                "TICKETING_ATTACHMENT_STORE",
                ("postgres", "filesystem"),
                defaults.attachment_store,
            ),
            attachment_dir=env.get("TICKETING_ATTACHMENT_DIR") or defaults.attachment_dir,
            unattached_ttl_hours=_int(
                env, "TICKETING_UNATTACHED_TTL_HOURS", defaults.unattached_ttl_hours
            ),
            janitor_interval_seconds=_int(
                env, "TICKETING_JANITOR_INTERVAL_SECONDS", defaults.janitor_interval_seconds
            ),
            autoclose_interval_seconds=_int(
                env, "TICKETING_AUTOCLOSE_INTERVAL_SECONDS", defaults.autoclose_interval_seconds
            ),
            closing_reminder_hours=_int(
                env, "TICKETING_CLOSING_REMINDER_HOURS", defaults.closing_reminder_hours, minimum=0
            ),
            service_days=env.get("TICKETING_SERVICE_DAYS") or defaults.service_days,
            service_hours=env.get("TICKETING_SERVICE_HOURS") or defaults.service_hours,
            service_timezone=env.get("TICKETING_SERVICE_TIMEZONE") or defaults.service_timezone,
            service_holidays=env.get("TICKETING_SERVICE_HOLIDAYS") or "",
            service_holidays_file=env.get("TICKETING_SERVICE_HOLIDAYS_FILE") or "",
            sla_first_response_hours=_int(
                env, "TICKETING_SLA_FIRST_RESPONSE_HOURS", defaults.sla_first_response_hours
            ),
            sla_resolution_hours=_int(
                env, "TICKETING_SLA_RESOLUTION_HOURS", defaults.sla_resolution_hours
            ),
            sla_targets_by_type=env.get("TICKETING_SLA_TARGETS") or "",
            db_pool_size=_int(env, "TICKETING_DB_POOL_SIZE", defaults.db_pool_size),
            aggregate_cache_size=_int(
                env, "TICKETING_AGGREGATE_CACHE_SIZE", defaults.aggregate_cache_size, minimum=0
            ),
            command_attempts=_int(env, "TICKETING_COMMAND_ATTEMPTS", defaults.command_attempts),
            bind=env.get("TICKETING_BIND") or defaults.bind,
            web_workers=_int(env, "TICKETING_WEB_WORKERS", defaults.web_workers),
            web_threads=_int(env, "TICKETING_WEB_THREADS", defaults.web_threads),
            web_max_requests=_int(
                env, "TICKETING_WEB_MAX_REQUESTS", defaults.web_max_requests, minimum=0
            ),
        )
