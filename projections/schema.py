"""Read-model tables: ticket summaries (every list), memberships and dissolved workspaces.

Names are unqualified so the same statements build the live tables (``public``) or scratch
ones for ``audit verify`` (another schema first on the ``search_path``).
"""

from __future__ import annotations

import hashlib

from psycopg import Cursor
from psycopg.rows import DictRow

from domain.status import QUEUE_STATE
from projections.reports import REPORT_DDL, REPORT_TABLES

READ_MODEL_TABLES = (
    "ticket_summaries", "memberships", "dissolved_workspaces", "workspace_ids", *REPORT_TABLES
)  # fmt: skip

# the domain's status -> queue state mapping, as the generated column's expression
QUEUE_STATE_SQL = (
    "CASE status "
    + " ".join(f"WHEN '{status}' THEN '{state}'" for status, state in QUEUE_STATE.items())
    + " END"
)

DDL = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
    f"""
    CREATE TABLE IF NOT EXISTS ticket_summaries (
        ticket_id uuid PRIMARY KEY,
        number bigint NOT NULL UNIQUE,
        workspace_id text NOT NULL,
        type text NOT NULL,
        title text NOT NULL,
        status text NOT NULL,
        queue_state text NOT NULL GENERATED ALWAYS AS ({QUEUE_STATE_SQL}) STORED,
        submitter_id text NOT NULL,
        submitter_name text NOT NULL,
        assignee_id text,
        assignee_name text,
        submitted_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version bigint NOT NULL,
        feedback_provided_since timestamptz
    )
    """,
    # added after the first release; `projections rebuild` fills them for existing rows
    "ALTER TABLE ticket_summaries ADD COLUMN IF NOT EXISTS feedback_provided_since timestamptz",
    # SLA clocks (domain.sla.SlaClocks state), the nearest due time of a running clock
    # (summaries.NOT_DUE when none runs), and when each clock counts as breached
    "ALTER TABLE ticket_summaries ADD COLUMN IF NOT EXISTS sla_clocks jsonb",
    "ALTER TABLE ticket_summaries "
    "ADD COLUMN IF NOT EXISTS sla_due_at timestamptz NOT NULL DEFAULT '9999-12-31 00:00+00'",
    "ALTER TABLE ticket_summaries "
    "ADD COLUMN IF NOT EXISTS first_response_breached_after timestamptz",
    "ALTER TABLE ticket_summaries ADD COLUMN IF NOT EXISTS resolution_breached_after timestamptz",
    # the due times that no longer depend on when one asks (NULL while a clock is paused short
    # of its target), so that a list shows most clocks without calendar arithmetic
    "ALTER TABLE ticket_summaries ADD COLUMN IF NOT EXISTS first_responded_at timestamptz",
    "ALTER TABLE ticket_summaries ADD COLUMN IF NOT EXISTS first_response_due_at timestamptz",
    "ALTER TABLE ticket_summaries ADD COLUMN IF NOT EXISTS resolution_due_at timestamptz",
    "ALTER TABLE ticket_summaries "
    "ADD COLUMN IF NOT EXISTS first_response_breach_recorded boolean NOT NULL DEFAULT false",
    "ALTER TABLE ticket_summaries "
    "ADD COLUMN IF NOT EXISTS resolution_breach_recorded boolean NOT NULL DEFAULT false",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_due ON ticket_summaries (sla_due_at, number)",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_assignee_due "
    "ON ticket_summaries (assignee_id, sla_due_at, number)",
    # rows projected before the SLA clocks existed (empty once rebuilt): a quick check at start
    "CREATE INDEX IF NOT EXISTS ticket_summaries_without_clocks "
    "ON ticket_summaries (ticket_id) WHERE sla_clocks IS NULL",
    # breaches not yet published: what the SLA sweep looks at
    "CREATE INDEX IF NOT EXISTS ticket_summaries_first_response_breach_pending "
    "ON ticket_summaries (first_response_breached_after) "
    "WHERE NOT first_response_breach_recorded AND first_response_breached_after IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_resolution_breach_pending "
    "ON ticket_summaries (resolution_breached_after) "
    "WHERE NOT resolution_breach_recorded AND resolution_breached_after IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_waiting_on_user "
    "ON ticket_summaries (feedback_provided_since) WHERE status = 'feedback_provided'",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_workspace "
    "ON ticket_summaries (workspace_id, submitted_at DESC, ticket_id DESC)",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_submitter "
    "ON ticket_summaries (submitter_id, submitted_at DESC, ticket_id DESC)",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_assignee "
    "ON ticket_summaries (assignee_id, submitted_at DESC, ticket_id DESC)",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_time "
    "ON ticket_summaries (submitted_at DESC, ticket_id DESC)",
    "CREATE INDEX IF NOT EXISTS ticket_summaries_by_title "
    "ON ticket_summaries USING gin (lower(title) public.gin_trgm_ops)",
    """
    CREATE TABLE IF NOT EXISTS memberships (
        workspace_id text NOT NULL,
        account_id text NOT NULL,
        PRIMARY KEY (workspace_id, account_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS memberships_by_account ON memberships (account_id, workspace_id)",
    """
    CREATE TABLE IF NOT EXISTS workspace_ids (
        aggregate_id uuid PRIMARY KEY,
        workspace_id text NOT NULL
    )
    """,
    # what the derived columns were computed with (the SLA settings' fingerprint)
    """
    CREATE TABLE IF NOT EXISTS read_model_settings (
        name text PRIMARY KEY,
        value text NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS dissolved_workspaces (
        workspace_id text PRIMARY KEY,
        dissolved_at timestamptz NOT NULL
    )
    """,
    *REPORT_DDL,
)


# the notifications follower (projections.notifications): not read models, so neither rebuilt
# nor audited; read marks live in them
FOLLOWER = "notifications"
NOTIFICATION_DDL = (
    """
    CREATE TABLE IF NOT EXISTS notifications (
        notification_id uuid PRIMARY KEY,
        position bigint NOT NULL,
        account_id text NOT NULL,
        kind text NOT NULL,
        ticket_id uuid NOT NULL,
        ticket_number bigint NOT NULL,
        workspace_id text NOT NULL,
        title text NOT NULL,
        summary text NOT NULL,
        occurred_at timestamptz NOT NULL,
        read_at timestamptz
    )
    """,
    "CREATE INDEX IF NOT EXISTS notifications_by_account "
    "ON notifications (account_id, position DESC, notification_id DESC)",
    "CREATE INDEX IF NOT EXISTS notifications_unread "
    "ON notifications (account_id) WHERE read_at IS NULL",
    "CREATE INDEX IF NOT EXISTS notifications_by_position ON notifications (position)",
    """
    CREATE TABLE IF NOT EXISTS notification_preferences (
        account_id text NOT NULL,
        kind text NOT NULL,
        enabled boolean NOT NULL,
        PRIMARY KEY (account_id, kind)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS ticket_feed (
        position bigint PRIMARY KEY,
        ticket_id uuid NOT NULL,
        version bigint NOT NULL,
        status text NOT NULL,
        workspace_id text NOT NULL,
        submitter_id text NOT NULL,
        assignee_id text,
        recorded_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX IF NOT EXISTS ticket_feed_by_time ON ticket_feed (recorded_at)",
    # a change only staff may hear of (a staff note, CONTRACT.md §7); added after the table
    "ALTER TABLE ticket_feed ADD COLUMN IF NOT EXISTS staff_only boolean NOT NULL DEFAULT false",
    # the version as users count it (without notes: Ticket.user_version), for their streams
    "ALTER TABLE ticket_feed ADD COLUMN IF NOT EXISTS user_version bigint",
    # a reconnecting stream replays only what its caller may see, from these (issue 42)
    "CREATE INDEX IF NOT EXISTS ticket_feed_by_workspace ON ticket_feed (workspace_id, position)",
    "CREATE INDEX IF NOT EXISTS ticket_feed_by_assignee ON ticket_feed (assignee_id, position) "
    "WHERE assignee_id IS NOT NULL",
    # who of the staff has a ticket open, for 30 s after they last said so (CONTRACT.md §6.3)
    """
    CREATE TABLE IF NOT EXISTS presence (
        ticket_id uuid NOT NULL,
        account_id text NOT NULL,
        name text NOT NULL,
        state text NOT NULL,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (ticket_id, account_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS follower_positions (
        name text PRIMARY KEY,
        position bigint NOT NULL
    )
    """,
)


HEALTH_TABLE = "read_model_health"
# how the projection worker is doing (kept out of rebuilds and audits: it is not derived)
HEALTH_DDL = f"""
    CREATE TABLE IF NOT EXISTS {HEALTH_TABLE} (
        name text PRIMARY KEY,
        position bigint NOT NULL,
        checked_at timestamptz NOT NULL,
        progressed_at timestamptz NOT NULL,
        error text,
        error_at timestamptz,
        error_position bigint,
        failures bigint NOT NULL DEFAULT 0
    )
"""


SCHEMA_VERSION = hashlib.sha256(
    "\n".join((*DDL, *NOTIFICATION_DDL, HEALTH_DDL)).encode()
).hexdigest()[:16]
"""Names the statements above; stored once they ran, so that a start finds nothing to do."""


def create_health_table(curs: Cursor[DictRow]) -> None:
    """The projection worker's health table."""
    curs.execute(HEALTH_DDL)


def create_notification_tables(curs: Cursor[DictRow]) -> None:
    """The notifications follower's tables and its position row (idempotent)."""
    for statement in NOTIFICATION_DDL:
        curs.execute(statement)
    curs.execute(
        "INSERT INTO follower_positions (name, position) VALUES (%s, 0) ON CONFLICT DO NOTHING",
        (FOLLOWER,),
    )


def create_read_model_tables(curs: Cursor[DictRow]) -> None:
    """Create the read-model tables where the search path points."""
    for statement in DDL:
        curs.execute(statement)
