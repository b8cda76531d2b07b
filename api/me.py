"""The caller (CONTRACT.md §2.2): who the token says they are, and their workspaces."""

from __future__ import annotations

from typing import Any

from api.auth import current_actor
from api.lists import read_your_writes, ticket_lists
from api.parsing import Blueprint
from api.schemas import MeSchema, WorkspaceListSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1", description="The caller")


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
def me() -> dict[str, Any]:
    """The caller as the token names them."""
    actor = current_actor()
    return {"account_id": actor.account_id, "name": actor.name, "role": str(actor.role)}


@blp.route("/me/workspaces", methods=["GET"])
@blp.response(200, WorkspaceListSchema)
def my_workspaces() -> tuple[dict[str, Any], int, dict[str, str]]:
    """The workspaces the caller is a current member of (from the read models; send back
    ``X-Ticketing-Position`` to see a membership just applied)."""
    headers = read_your_writes()
    workspaces = ticket_lists().workspaces_of(current_actor().account_id)
    return {"items": [{"workspace_id": ws} for ws in workspaces]}, 200, headers
