"""The event store's checkpoints (issue 27), for auditors and admins: what the worker published
to ``audit.checkpoints``, as it kept them. An auditor compares them with the broker's and holds
the store to them (``ticketing audit verify``). With ``TICKETING_SIGNING_KEY``, each kept copy
carries the worker's MAC, and one without it (made up or changed in the database) is not
served (issue 42)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from api.auth import current_actor
from api.http import ticketing
from api.parsing import Blueprint
from api.schemas import CheckpointPageSchema, CheckpointQuerySchema
from application.signatures import checkpoint_mac
from domain.actors import Role
from domain.errors import NotAllowed

log = logging.getLogger(__name__)
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
            "SELECT position, digest, at, mac FROM audit_checkpoints "
            "WHERE position < %s ORDER BY position DESC LIMIT %s",
            (before if before is not None else 2**62, limit + 1),
        ).fetchall()
    page, more = rows[:limit], len(rows) > limit
    key = ticketing().store.signing_key
    kept = [row for row in page if not key or _holds(key, row)]
    if len(kept) < len(page):
        log.warning(
            "audit checkpoints: %d copies fail their MAC; not served", len(page) - len(kept)
        )
    items = [
        {"position": int(row["position"]), "digest": bytes(row["digest"]).hex(), "at": row["at"]}
        for row in kept
    ]
    return {"items": items, "next_before": int(page[-1]["position"]) if more else None}


def _holds(key: bytes, row: dict[str, Any]) -> bool:
    """Whether a kept checkpoint carries the MAC the worker gave it (a database writer who
    made one up, or changed its digest, could not)."""
    if row["mac"] is None:
        return False
    expected = checkpoint_mac(key, int(row["position"]), bytes(row["digest"]), row["at"])
    return hmac.compare_digest(expected, bytes(row["mac"]))
