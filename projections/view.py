"""The read-model projection: each stored event changes the read models and moves the
tracking position in one transaction, so a crash can neither lose nor repeat an effect.

The tracking row is locked first: an event at or below the recorded position is skipped,
which makes reprocessing idempotent, lets two workers run side by side, and makes a live
runner wait while ``projections rebuild`` holds the row.
"""

from __future__ import annotations

import logging
import time
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresFactory, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from application.config import Settings
from application.database import schema_lock
from application.service_level import ServiceLevel
from application.store import TicketingStore
from projections.schema import (
    SCHEMA_VERSION,
    create_health_table,
    create_notification_tables,
    create_read_model_tables,
)

log = logging.getLogger(__name__)

PROJECTION_NAME = "read_models"
TRACKING_TABLE = f"{PROJECTION_NAME}_tracking"
SOURCE_NAME = TicketingStore.name  # the application whose events are projected
POLL_INTERVAL = 0.02
SLA_SETTINGS = "sla_settings"  # read_model_settings row: fingerprint of the SLA settings
SCHEMA = "schema"  # read_model_settings row: the version of the read-model tables


class TicketingEventLog(Application[UUID]):
    """The ticketing event store, read only: what the projection subscribes to."""

    name = SOURCE_NAME

    @property
    def datastore(self) -> PostgresDatastore:
        """The PostgreSQL connection pool of the event store."""
        return cast(PostgresFactory, self.factory).datastore

    def construct_recorder(self) -> ApplicationRecorder:
        """The events recorder, its tables created under the schema lock."""
        with schema_lock(self.datastore):
            return super().construct_recorder()


class ReadModelView(PostgresTrackingRecorder):
    """Read-model tables plus their tracking position.

    SLA clocks are projected with ``service_level``: the one the composition root built from
    the process's settings, else the contract's defaults. This module reads no environment.
    """

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        service_level: ServiceLevel | None = None,
        tracking_table_name: str = TRACKING_TABLE,
        **kwargs: Any,
    ) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self.service_level = service_level or ServiceLevel.from_settings(Settings())

    def create_table(self) -> None:
        """Tracking table, read-model tables, and a position row starting at 0."""
        with schema_lock(self.datastore):
            super().create_table()
            self._create_read_models()

    def _create_read_models(self) -> None:
        # Running the DDL when nothing changed is not free: ALTER TABLE takes an exclusive
        # lock even with IF NOT EXISTS, and CREATE INDEX a share lock. Taken while a projection
        # transaction holds its own locks, they deadlock (an API starting beside a busy
        # worker). So the statements run only when the stored schema version differs.
        with self.datastore.transaction(commit=True) as curs:
            if self._stored_schema_version(curs) != SCHEMA_VERSION:
                create_read_model_tables(curs)
                create_health_table(curs)
                create_notification_tables(curs)
                _write_setting(curs, SCHEMA, SCHEMA_VERSION)
            curs.execute(
                SQL(
                    "INSERT INTO {table} (application_name, notification_id) VALUES (%s, 0) "
                    "ON CONFLICT DO NOTHING"
                ).format(table=Identifier(self.tracking_table_name)),
                (SOURCE_NAME,),
            )
            _write_setting(curs, SLA_SETTINGS, self.service_level.fingerprint, overwrite=False)
        if not self.sla_settings_current():
            log.warning(
                "the read models' SLA clocks were computed with other service-hours settings "
                "(or by an older version); run `ticketing projections rebuild`"
            )

    @staticmethod
    def _stored_schema_version(curs: Cursor[DictRow]) -> str | None:
        exists = curs.execute(
            "SELECT to_regclass('public.read_model_settings') IS NOT NULL AS yes"
        ).fetchone()
        if not (exists and exists["yes"]):
            return None
        row = curs.execute(
            "SELECT value FROM read_model_settings WHERE name = %s", (SCHEMA,)
        ).fetchone()
        return None if row is None else str(row["value"])

    def sla_settings_current(self) -> bool:
        """Whether the stored SLA clocks were all computed with this view's settings."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT value = %s AS current FROM read_model_settings WHERE name = %s",
                (self.service_level.fingerprint, SLA_SETTINGS),
            ).fetchone()
            missing = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM ticket_summaries WHERE sla_clocks IS NULL) "
                # tickets projected before the report's read model existed (the oldest tells)
                "OR EXISTS (SELECT 1 FROM (SELECT ticket_id FROM ticket_summaries "
                "ORDER BY submitted_at LIMIT 1) s WHERE NOT EXISTS "
                "(SELECT 1 FROM report_facts f WHERE f.ticket_id = s.ticket_id)) AS any"
            ).fetchone()
        return bool(row and row["current"]) and not (missing and missing["any"])

    def record_sla_settings(self, curs: Cursor[DictRow]) -> None:
        """Note (in the caller's transaction) that the SLA clocks follow this view's settings."""
        _write_setting(curs, SLA_SETTINGS, self.service_level.fingerprint)

    def locked_position(self, curs: Cursor[DictRow]) -> int:
        """The position, with its row locked until the transaction ends."""
        row = curs.execute(
            SQL(
                "SELECT notification_id FROM {table} WHERE application_name = %s FOR UPDATE"
            ).format(table=Identifier(self.tracking_table_name)),
            (SOURCE_NAME,),
        ).fetchone()
        return 0 if row is None else int(row["notification_id"])

    def set_position(self, curs: Cursor[DictRow], notification_id: int) -> None:
        """Record how far the read models have got (inside the caller's transaction)."""
        curs.execute(
            SQL("UPDATE {table} SET notification_id = %s WHERE application_name = %s").format(
                table=Identifier(self.tracking_table_name)
            ),
            (notification_id, SOURCE_NAME),
        )

    def position(self) -> int:
        """How far the read models have got."""
        return self.max_tracking_id(SOURCE_NAME) or 0

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until the read models reach a store position; False if the timeout came first."""
        deadline = time.monotonic() + timeout
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)
        return True


def _write_setting(curs: Cursor[DictRow], name: str, value: str, *, overwrite: bool = True) -> None:
    """Store one read_model_settings row (``overwrite=False``: only if there is none)."""
    on_conflict = "(name) DO UPDATE SET value = EXCLUDED.value" if overwrite else "DO NOTHING"
    statement = SQL("INSERT INTO read_model_settings (name, value) VALUES (%s, %s) ON CONFLICT {}")
    curs.execute(statement.format(SQL(on_conflict)), (name, value))
