"""The tables the ticketing recorder keeps beside the events, created with them (idempotent,
in this order; the text is hashed into the schema marker, so a change runs it again once)."""

from __future__ import annotations

from psycopg.sql import SQL, Composed

from application import gates, limits

IDEMPOTENCY_TABLE = "idempotency_keys"
OFFSETS_TABLE = "kafka_offsets"
PUBLISHER_TABLE = "publisher_positions"
OUTBOX_TABLE = "outbox_messages"
VERIFICATION_REQUESTS_TABLE = "verification_requests"
SEQUENCE_DDL = "CREATE SEQUENCE IF NOT EXISTS ticket_number_seq AS bigint START 1 MINVALUE 1"
DDL = (
    'CREATE TABLE IF NOT EXISTS "idempotency_keys" ('
    "account_id text NOT NULL, idempotency_key text NOT NULL, fingerprint text NOT NULL, "
    "ticket_id uuid NOT NULL, ticket_version bigint NOT NULL, message_id text, position bigint, "
    "created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (account_id, idempotency_key))",
    'CREATE TABLE IF NOT EXISTS "kafka_offsets" ('
    "consumer_group text NOT NULL, topic text NOT NULL, partition integer NOT NULL, "
    "next_offset bigint NOT NULL, PRIMARY KEY (consumer_group, topic, partition))",
    'CREATE TABLE IF NOT EXISTS "publisher_positions" ('
    "publisher text PRIMARY KEY, position bigint NOT NULL)",
    'CREATE TABLE IF NOT EXISTS "outbox_messages" (id bigserial PRIMARY KEY, '
    "channel text NOT NULL, message_key text NOT NULL, payload jsonb NOT NULL, "
    "created_at timestamptz NOT NULL DEFAULT now())",
    'CREATE TABLE IF NOT EXISTS "verification_requests" (verification_id uuid PRIMARY KEY, '
    "account_id text NOT NULL, requested_at timestamptz NOT NULL)",
    SEQUENCE_DDL,
    "CREATE TABLE IF NOT EXISTS attachment_blobs (sha256 text PRIMARY KEY, content bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS attachments (id uuid PRIMARY KEY, "
    "uploader_id text NOT NULL, filename text NOT NULL, content_type text NOT NULL, "
    "size bigint NOT NULL, sha256 text NOT NULL, uploaded_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS attachments_by_sha256 ON attachments (sha256)",
    "CREATE TABLE IF NOT EXISTS attachment_references ("
    "attachment_id uuid PRIMARY KEY REFERENCES attachments (id), "
    "ticket_id uuid NOT NULL, message_id text)",
    # a staff note's files are for staff only (CONTRACT.md §7); added after the table
    "ALTER TABLE attachment_references ADD COLUMN IF NOT EXISTS "
    "staff_only boolean NOT NULL DEFAULT false",
    "CREATE INDEX IF NOT EXISTS verification_requests_by_account "
    'ON "verification_requests" (account_id, requested_at)',
    *gates.DDL,
    *limits.DDL,
)


def ticketing_ddl() -> list[Composed]:
    """Every statement creating the recorder's own tables, as the recorder takes them."""
    return [SQL(statement).format() for statement in DDL]
