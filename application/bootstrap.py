"""The composition root: builds the application from settings (tests use the same path)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

from eventsourcing.postgres import PostgresDatastore

from application.blobs import BlobStore, FilesystemBlobStore, PostgresBlobStore
from application.clock import Clock, SystemClock
from application.config import Settings
from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from application.tickets import TicketingApp
from projections.view import ReadModelView


def build_app(settings: Settings, *, clock: Clock | None = None) -> TicketingApp:
    """The ticketing application on the configured PostgreSQL database."""
    return TicketingApp(
        eventsourcing_env(
            settings.database_url, settings.db_pool_size, settings.aggregate_cache_size
        ),
        clock=clock or SystemClock(),
        default_assignee=settings.default_assignee,
        attempts=settings.command_attempts,
        code_key=hmac.new(settings.jwt_secret.encode(), b"email codes", hashlib.sha256).digest(),
        blobs=_blob_store(settings),
        service_level=ServiceLevel.from_settings(settings),
    )


def read_models(app: TicketingApp) -> ReadModelView:
    """The read models beside ``app``'s event store, with its SLA settings, tables created."""
    view = ReadModelView(app.datastore, service_level=app.service_level)
    view.create_table()
    return view


def _blob_store(settings: Settings) -> Callable[[PostgresDatastore], BlobStore]:
    if settings.attachment_store == "filesystem":
        return lambda _: FilesystemBlobStore(Path(settings.attachment_dir))
    return PostgresBlobStore
