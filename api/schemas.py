"""Request and response shapes (CONTRACT.md §2.2); the OpenAPI document is generated from them.

Length limits are enforced by the domain after trimming white space, so they are stated in
descriptions here rather than as schema validators that would count the untrimmed text.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from domain.actors import Role
from domain.content import ID_MAX
from domain.notifications import Kind
from domain.reports import Interval
from domain.status import Action, CloseReason, QueueState, Status
from domain.ticket_types import TICKET_TYPES
from projections.queries import COUNT_CAP

_TYPES = [str(info.code) for info in TICKET_TYPES]
_STATUSES = [str(status) for status in Status]
_QUEUE_STATES = [str(state) for state in QueueState]
# Response fields name their values with validators: never run on output, they put the enums
# into the document (api/openapi_document.py turns them into named, reused enums).
_TYPE = validate.OneOf(_TYPES)
_STATUS = validate.OneOf(_STATUSES)
_QUEUE_STATE = validate.OneOf(_QUEUE_STATES)
_ROLES = validate.OneOf([str(role) for role in Role])


class StrictSchema(Schema):
    """Unknown fields are refused (422), never silently dropped."""


class JsonBoolean(fields.Boolean):
    """A body's ``true`` or ``false``, nothing else: marshmallow's Boolean also takes ``0``,
    ``"no"`` or ``"on"``, and a client that sends ``"shared": 0`` meant something we cannot
    know."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ChangeSchema(StrictSchema):
    """A PATCH body: at least one field, else there is nothing to change (422, not a silent
    200 for a body that was lost on the way)."""

    @validates_schema
    def _names_a_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            names = ", ".join(sorted(self.fields))
            raise ValidationError(f"name at least one field to change: {names}")


class TicketTypeSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    requires_verified_email = fields.Boolean(required=True)
    requires_attachment = fields.Boolean(required=True)


class VerificationAnswerSchema(StrictSchema):
    verification_id = fields.String(required=True)
    code = fields.String(required=True)


class TicketSubmissionSchema(StrictSchema):
    # the domain checks the type together with the other fields, so that a refusal names
    # every bad field at once; the document still lists the codes
    type = fields.String(
        required=True,
        metadata={"description": "a ticket type code (GET /ticket-types)", "enum": _TYPES},
    )
    title = fields.String(
        required=True, metadata={"description": "1-200 characters after trimming"}
    )
    description = fields.String(
        required=True, metadata={"description": "1-10,000 characters after trimming"}
    )
    attachment_ids = fields.List(fields.String(), load_default=list)
    verification = fields.Nested(VerificationAnswerSchema, allow_none=True, load_default=None)


class NewMessageSchema(StrictSchema):
    body = fields.String(
        required=True, metadata={"description": "1-10,000 characters after trimming"}
    )
    attachment_ids = fields.List(fields.String(), load_default=list)
    automatic = fields.Boolean(
        load_default=False,
        metadata={"description": "handlers only: a fixed reply that changes no status"},
    )


class NewRatingSchema(StrictSchema):
    score = fields.Integer(
        required=True, strict=True, metadata={"description": "1 to 5", "minimum": 1, "maximum": 5}
    )
    comment = fields.String(
        allow_none=True, load_default=None, metadata={"description": "at most 2,000 characters"}
    )


class ForwardingSchema(StrictSchema):
    handler_id = fields.String(
        required=True,
        metadata={
            "description": "an active handler's account id",
            "minLength": 1,
            "maxLength": ID_MAX,
        },
    )


class DetailsQuerySchema(StrictSchema):
    as_of = fields.AwareDateTime(
        metadata={"description": "admins and auditors: the state at that time"}
    )
    version = fields.Integer(
        metadata={"description": "admins and auditors: the state at that version"}
    )


class PartySchema(Schema):
    account_id = fields.String(required=True)
    name = fields.String(required=True)


class AuthorSchema(PartySchema):
    role = fields.String(required=True, validate=_ROLES)


class AttachmentSchema(Schema):
    id = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class MessageSchema(Schema):
    id = fields.String(required=True)
    author = fields.Nested(AuthorSchema, required=True)
    body = fields.String(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    automatic = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class NoteSchema(Schema):
    id = fields.String(required=True)
    author = fields.Nested(AuthorSchema, required=True)
    body = fields.String(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    created_at = fields.DateTime(required=True)


class NewNoteSchema(StrictSchema):
    body = fields.String(
        required=True, metadata={"description": "1-10,000 characters after trimming"}
    )
    attachment_ids = fields.List(fields.String(), load_default=list)


class RatingSchema(Schema):
    score = fields.Integer(required=True)
    comment = fields.String(allow_none=True, required=True)
    rated_at = fields.DateTime(required=True)


class SlaSchema(Schema):
    first_response_due_at = fields.DateTime(required=True)
    first_responded_at = fields.DateTime(allow_none=True, required=True)
    resolution_due_at = fields.DateTime(required=True)
    breached = fields.List(
        fields.String(validate=validate.OneOf(["first_response", "resolution"])),
        required=True,
        metadata={"description": "the SLA clocks that ran out"},
    )


class TicketSummarySchema(Schema):
    id = fields.String(required=True)
    number = fields.Integer(required=True)
    workspace_id = fields.String(required=True)
    type = fields.String(required=True, validate=_TYPE)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=_STATUS)
    queue_state = fields.String(required=True, validate=_QUEUE_STATE)
    submitter = fields.Nested(PartySchema, required=True)
    assignee = fields.Nested(PartySchema, allow_none=True, required=True)
    submitted_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    sla = fields.Nested(
        SlaSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "SLA clocks in service hours (null only for rows projected by a "
            "version before SLA clocks, until `ticketing projections rebuild`)"
        },
    )


class TicketSchema(TicketSummarySchema):
    description = fields.String(required=True)
    verified_email = fields.String(allow_none=True, required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), required=True)
    close_reason = fields.String(
        allow_none=True, required=True, validate=validate.OneOf([str(r) for r in CloseReason])
    )
    rating = fields.Nested(RatingSchema, allow_none=True, required=True)
    messages = fields.List(
        fields.Nested(MessageSchema),
        required=True,
        metadata={
            "description": "the latest 100 messages, oldest first (GET /tickets/{id}/messages "
            "pages through all of them)"
        },
    )
    messages_total = fields.Integer(
        required=True, metadata={"description": "how many messages the ticket has"}
    )
    closed_at = fields.DateTime(allow_none=True, required=True)
    version = fields.Integer(
        required=True,
        metadata={
            "description": "the ticket's version as the caller knows it (a user: how many "
            "of its events they can see, counted without staff notes and without a gap; "
            "the same number in `ETag`, `If-Match`, the history and the stream)"
        },
    )
    allowed_actions = fields.List(
        fields.String(validate=validate.OneOf([str(action) for action in Action])), required=True
    )
    sla = fields.Nested(
        SlaSchema, required=True, metadata={"description": "SLA clocks in service hours"}
    )
    notes = fields.List(
        fields.Nested(NoteSchema),
        metadata={"description": "staff notes, oldest first: for staff and auditors only"},
    )
    can_add_note = fields.Boolean(
        metadata={"description": "staff and auditors only: whether the caller may add a note now"}
    )


class HistoryEntrySchema(Schema):
    """How history entries are written out; the document describes them typed per event
    type instead (``api.openapi_document``, ``HistoryEntry``)."""

    version = fields.Integer(required=True)
    type = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    actor = fields.Dict(required=True)
    data = fields.Dict(required=True)


class HandlerSchema(Schema):
    account_id = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(
        fields.String(), required=True, metadata={"description": "labels, e.g. billing"}
    )
    active = fields.Boolean(required=True)


class ForwardTargetSchema(Schema):
    account_id = fields.String(required=True)
    name = fields.String(required=True)


class ForwardTargetListSchema(Schema):
    items = fields.List(fields.Nested(ForwardTargetSchema), required=True)


class CannedReplySchema(Schema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(
        required=True,
        metadata={
            "description": "may use {{submitter.name}}, {{ticket.number}}, "
            "{{ticket.title}}, {{handler.name}}"
        },
    )
    shared = fields.Boolean(required=True)
    owner = fields.Nested(PartySchema, required=True)
    updated_at = fields.DateTime(required=True)


class CannedReplyEventSchema(Schema):
    version = fields.Integer(required=True, metadata={"description": "the library's version"})
    type = fields.String(
        required=True, validate=validate.OneOf(["ReplyAdded", "ReplyChanged", "ReplyRemoved"])
    )
    occurred_at = fields.DateTime(required=True)
    actor = fields.Nested(AuthorSchema, required=True)
    data = fields.Dict(
        required=True,
        metadata={"description": "`reply_id`, and the reply (ReplyAdded) or its `changes`"},
    )


class CannedReplyListSchema(Schema):
    items = fields.List(fields.Nested(CannedReplySchema), required=True)


class CannedReplyQuerySchema(Schema):
    q = fields.String(metadata={"description": "part of the title, any case"})


class NewCannedReplySchema(StrictSchema):
    title = fields.String(required=True, metadata={"description": "1-200 characters"})
    body = fields.String(required=True, metadata={"description": "1-10,000 characters"})
    shared = JsonBoolean(
        load_default=False,
        metadata={"description": "offered to every handler (only admins make shared replies)"},
    )


class CannedReplyChangeSchema(ChangeSchema):
    title = fields.String()
    body = fields.String()
    shared = JsonBoolean(metadata={"description": "admins only"})


REPORT_DAYS = (date(1970, 1, 1), date(9000, 12, 31))  # days a report may name


class ReportQuerySchema(StrictSchema):
    from_ = fields.Date(
        required=True,
        data_key="from",
        attribute="from",
        validate=validate.Range(min=REPORT_DAYS[0], max=REPORT_DAYS[1]),
        metadata={"description": "first day (service time zone)"},
    )
    to = fields.Date(
        required=True,
        validate=validate.Range(min=REPORT_DAYS[0], max=REPORT_DAYS[1]),
        metadata={"description": "last day, included"},
    )
    interval = fields.String(
        load_default="day", validate=validate.OneOf([str(i) for i in Interval])
    )
    workspace_id = fields.String(validate=validate.Length(min=1, max=128))
    type = fields.List(
        fields.String(validate=validate.OneOf([str(info.code) for info in TICKET_TYPES]))
    )
    assignee = fields.List(fields.String(validate=validate.Length(min=1, max=128)))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SpreadSchema(Schema):
    p50 = fields.Integer(allow_none=True, required=True)
    p90 = fields.Integer(allow_none=True, required=True)
    count = fields.Integer(required=True)


class ClosedCountsSchema(Schema):
    total = fields.Integer(required=True)
    submitter = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    inactivity = fields.Integer(required=True)
    account_cancelled = fields.Integer(required=True)
    workspace_dissolved = fields.Integer(required=True)


class CsatSchema(Schema):
    average = fields.Float(allow_none=True, required=True)
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": 'ratings per score, "1" to "5"'},
    )
    rated_pct = fields.Float(allow_none=True, required=True)


class BacklogSchema(Schema):
    pending = fields.Integer(required=True)
    processing = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)


class FiguresSchema(Schema):
    submitted = fields.Integer(required=True)
    closed = fields.Nested(ClosedCountsSchema, required=True)
    first_response_business_minutes = fields.Nested(SpreadSchema, required=True)
    resolution_business_minutes = fields.Nested(SpreadSchema, required=True)
    sla_first_response_met_pct = fields.Float(allow_none=True, required=True)
    sla_resolution_met_pct = fields.Float(allow_none=True, required=True)
    csat = fields.Nested(CsatSchema, required=True)
    backlog = fields.Nested(
        BacklogSchema, required=True, metadata={"description": "open tickets at the end"}
    )


class ReportPointSchema(FiguresSchema):
    period_start = fields.Date(required=True)


class ReportAssigneeSchema(FiguresSchema):
    assignee = fields.Nested(PartySchema, required=True)


class ReportSchema(Schema):
    from_ = fields.Date(required=True, data_key="from", attribute="from")
    to = fields.Date(required=True)
    interval = fields.String(required=True, validate=validate.OneOf([str(i) for i in Interval]))
    time_zone = fields.String(required=True)
    totals = fields.Nested(FiguresSchema, required=True)
    series = fields.List(fields.Nested(ReportPointSchema), required=True)
    by_assignee = fields.List(fields.Nested(ReportAssigneeSchema), required=True)


class NewHandlerSchema(StrictSchema):
    account_id = fields.String(
        required=True,
        metadata={
            "minLength": 1,
            "maxLength": ID_MAX,
            "description": "1-128 characters without white space",
        },
    )
    name = fields.String(required=True, metadata={"description": "1-200 characters"})
    roles = fields.List(
        fields.String(), load_default=list, metadata={"description": "labels, e.g. billing"}
    )
    active = JsonBoolean(load_default=True)


class HandlerChangeSchema(ChangeSchema):
    name = fields.String()
    roles = fields.List(fields.String(), metadata={"description": "labels, e.g. billing"})
    active = JsonBoolean()


class FilterQuerySchema(Schema):
    """The filters a list and its export share."""

    type = fields.List(
        fields.String(validate=validate.OneOf(_TYPES)), metadata={"description": "repeatable"}
    )
    status = fields.List(
        fields.String(validate=validate.OneOf(_STATUSES)), metadata={"description": "repeatable"}
    )
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "a ticket number, or text in the title (case-insensitive)"},
    )


class ListQuerySchema(FilterQuerySchema):
    limit = fields.Integer(validate=validate.Range(1, 100), load_default=20)
    cursor = fields.String(metadata={"description": "next_cursor of the previous page"})
    totals = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: the answer carries `totals`, how many tickets the list holds "
            "(and, on the handler and admin lists, how many per queue state), counted up to "
            f"{COUNT_CAP:,} (added by the service)"
        },
    )


class QueueListQuerySchema(ListQuerySchema):
    queue_state = fields.List(
        fields.String(validate=validate.OneOf(_QUEUE_STATES)),
        metadata={"description": "repeatable"},
    )
    breached = fields.Boolean(
        metadata={
            "description": "true: only tickets with a breached SLA clock; false: only the others"
        }
    )
    sort = fields.String(
        validate=validate.OneOf(["newest", "due"]),
        load_default="newest",
        metadata={
            "description": "newest (default): newest first by submitted_at. due: nearest due "
            "first, by the nearest due time of the ticket's running SLA clocks (overdue first); "
            "tickets none of whose clocks runs (waiting on the user, revoked, closed) follow, "
            "oldest first"
        },
    )


class AdminListQuerySchema(QueueListQuerySchema):
    assignee = fields.String(metadata={"description": "an assignee's account id"})


class ExportQuerySchema(FilterQuerySchema):
    """The whole filtered list, or a chosen batch: no pages."""

    format = fields.String(required=True, validate=validate.OneOf(["csv", "xlsx"]))
    ids = fields.String(metadata={"description": "ticket ids separated by commas (a chosen batch)"})


EXPORT_BATCH_MAX = 5_000


class ExportRequestSchema(StrictSchema):
    format = fields.String(required=True, validate=validate.OneOf(["csv", "xlsx"]))
    ids = fields.List(
        fields.String(),
        required=True,
        validate=validate.Length(1, EXPORT_BATCH_MAX),
        metadata={"description": f"the tickets to export: 1 to {EXPORT_BATCH_MAX:,} ids"},
    )


class CountSchema(Schema):
    count = fields.Integer(required=True, metadata={"description": f"at most {COUNT_CAP:,}"})
    exact = fields.Boolean(
        required=True, metadata={"description": f"false: {COUNT_CAP:,} or more match"}
    )


class QueueStateCountsSchema(Schema):
    pending = fields.Nested(CountSchema, required=True)
    processing = fields.Nested(CountSchema, required=True)
    completed = fields.Nested(CountSchema, required=True)
    cancelled = fields.Nested(CountSchema, required=True)


class TotalsSchema(Schema):
    matching = fields.Nested(
        CountSchema, required=True, metadata={"description": "the list with its filters"}
    )
    queue_states = fields.Nested(
        QueueStateCountsSchema,
        metadata={
            "description": "the list with its filters, one queue state at a time instead of "
            "the queue_state filter (handler and admin lists)"
        },
    )


class TicketPageSchema(Schema):
    items = fields.List(fields.Nested(TicketSummarySchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    totals = fields.Nested(
        TotalsSchema, metadata={"description": "only when asked (`totals=true`)"}
    )


class MeSchema(Schema):
    account_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=_ROLES)


class WorkspaceSchema(Schema):
    workspace_id = fields.String(required=True)


class WorkspaceListSchema(Schema):
    items = fields.List(fields.Nested(WorkspaceSchema), required=True)


class EmailVerificationRequestSchema(StrictSchema):
    email = fields.String(required=True)


class EmailVerificationSchema(Schema):
    verification_id = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class AttachmentUploadSchema(Schema):
    files = fields.List(Upload(), required=True, metadata={"description": "1 to 5 files"})


_KINDS = validate.OneOf([str(kind) for kind in Kind])


class NotificationSchema(Schema):
    notification_id = fields.UUID(required=True)
    account_id = fields.String(required=True)
    kind = fields.String(required=True, validate=_KINDS)
    ticket_id = fields.UUID(required=True)
    ticket_number = fields.Integer(required=True)
    workspace_id = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(
        required=True, metadata={"description": "at most 280 characters of the message or reason"}
    )
    occurred_at = fields.DateTime(required=True)
    url = fields.String(required=True, metadata={"description": "the console's /tickets/<id>"})
    read_at = fields.DateTime(required=True, allow_none=True)


class NotificationPageSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    unread_count = fields.Integer(required=True)


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(
        load_default=False, metadata={"description": "true: only the unread ones"}
    )
    limit = fields.Integer(validate=validate.Range(1, 100), load_default=20)
    cursor = fields.String(metadata={"description": "next_cursor of the previous page"})


class MarkReadSchema(StrictSchema):
    notification_ids = fields.List(
        fields.UUID(),
        validate=validate.Length(max=500),
        metadata={"description": "these notifications (at most 500)"},
    )
    up_to = fields.UUID(
        metadata={"description": "this notification and every older one of the caller's"}
    )


class UnreadCountSchema(Schema):
    unread_count = fields.Integer(required=True)


class NotificationPreferencesSchema(StrictSchema):
    kinds = fields.Dict(
        keys=fields.String(validate=_KINDS),
        values=JsonBoolean(),
        required=True,
        metadata={
            "description": "kind -> whether it goes out to the platform's notifier (all true "
            "by default; the inbox keeps every kind); a PUT may name some kinds only"
        },
    )


class PresenceSchema(StrictSchema):
    state = fields.String(required=True, validate=validate.OneOf(["viewing", "replying"]))


class PresentSchema(Schema):
    account_id = fields.String(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["viewing", "replying"]))


class PresenceAnswerSchema(Schema):
    ticket_id = fields.String(required=True)
    present = fields.List(
        fields.Nested(PresentSchema),
        required=True,
        metadata={"description": "the other staff who have the ticket open now"},
    )


class MessageQuerySchema(Schema):
    limit = fields.Integer(validate=validate.Range(1, 100), load_default=20)
    cursor = fields.String(metadata={"description": "next_cursor of the previous page"})


class MessagePageSchema(Schema):
    items = fields.List(fields.Nested(MessageSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CheckpointQuerySchema(Schema):
    limit = fields.Integer(validate=validate.Range(1, 500), load_default=100)
    before = fields.Integer(
        validate=validate.Range(1, 2**62),
        metadata={"description": "only checkpoints at positions before this (next_before)"},
    )


class CheckpointSchema(Schema):
    position = fields.Integer(required=True, metadata={"description": "the store's position"})
    digest = fields.String(
        required=True, metadata={"description": "the hash chain's digest there (hex SHA-256)"}
    )
    at = fields.DateTime(required=True, metadata={"description": "when it was published"})


class CheckpointPageSchema(Schema):
    items = fields.List(fields.Nested(CheckpointSchema), required=True)
    next_before = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "`before` for the next (older) page; null on the last"},
    )
