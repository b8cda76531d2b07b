"""The event store's checkpoints (issue 27), for auditors and admins: what the worker published
to ``audit.checkpoints``, as it kept them. An auditor compares them with the broker's and holds
the store to them (``ticketing audit verify``)."""

from __future__ import annotations

from typing import Any

from api.auth import current_actor
from api.http import ticketing
from api.parsing import Blueprint
from api.schemas import CheckpointPageSchema, CheckpointQuerySchema
from domain.actors import Role
from domain.errors import NotAllowed

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit")


@blp.route("/audit/checkpoints", methods=["GET"])
@blp.arguments(CheckpointQuerySchema, location="query")
@blp.response(200, CheckpointPageSchema)
def checkpoints(query: dict[str, Any]) -> dict[str, Any]:
    """The hash chain's published checkpoints, newest first (auditors and admins): each the
    store's position, the chain's digest there (hex SHA-256) and when it was published."""
    if current_actor().role not in (Role.ADMIN, Role.AUDITOR):
        raise NotAllowed("only auditors and admins read the audit checkpoints")
    limit: int = query["limit"]
    before: int | None = query.get("before")
    with ticketing().store.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT position, digest, at FROM audit_checkpoints "
            "WHERE position < %s ORDER BY position DESC LIMIT %s",
            (before if before is not None else 2**62, limit + 1),
        ).fetchall()
    items = [
        {"position": int(row["position"]), "digest": bytes(row["digest"]).hex(), "at": row["at"]}
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    return {"items": items, "next_before": items[-1]["position"] if more else None}
