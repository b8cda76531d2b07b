"""The composition root: builds the application from settings (tests use the same path)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from application import memory
from application.blobs import BlobStore, FilesystemBlobStore
from application.clock import Clock, SystemClock
from application.config import Settings
from application.database import eventsourcing_env
from application.service_level import ServiceLevel
from application.store import TicketingStore
from application.tickets import TicketingApp
from projections.view import ReadModelView


def build_app(settings: Settings, *, clock: Clock | None = None) -> TicketingApp:
    """The ticketing application on the configured PostgreSQL database."""
    store = TicketingStore(
        eventsourcing_env(
            settings.database_url, settings.db_pool_size, settings.aggregate_cache_size
        ),
        clock=clock or SystemClock(),
        default_assignee=settings.default_assignee,
        attempts=settings.command_attempts,
        code_key=_derived(settings, b"email codes"),
        seal_key=_derived(settings, b"snapshot seals"),
        signing_key=settings.signing_key.encode(),
        blobs=_blob_store(settings),
        service_level=ServiceLevel.from_settings(settings),
    )
    return TicketingApp(store)


def build_in_memory_app(*, clock: Clock, default_assignee: str) -> TicketingApp:
    """The application on in-memory persistence (application tests): nothing outlives it."""
    store = TicketingStore(
        {"PERSISTENCE_MODULE": memory.PERSISTENCE_MODULE},
        clock=clock,
        default_assignee=default_assignee,
        code_key=b"in-memory email codes",
        seal_key=b"in-memory snapshot seals",
    )
    return TicketingApp(store)


def read_models(app: TicketingApp) -> ReadModelView:
    """The read models beside ``app``'s event store, with its SLA settings, tables created."""
    view = ReadModelView(app.store.datastore, service_level=app.store.service_level)
    view.create_table()
    return view


def _derived(settings: Settings, purpose: bytes) -> bytes:
    """A key for one purpose, derived from the service's secret (configuration, which the
    database does not hold)."""
    return hmac.new(settings.jwt_secret.encode(), purpose, hashlib.sha256).digest()


def _blob_store(settings: Settings) -> BlobStore | None:
    """The configured attachment store; None for the event store's database (the default)."""
    if settings.attachment_store == "filesystem":
        return FilesystemBlobStore(Path(settings.attachment_dir))
    return None
