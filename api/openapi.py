"""The OpenAPI document's errors: every error response is ``application/problem+json``.

flask-smorest documents errors with its own ``Error {code, status, message}`` as
``application/json``; the service answers RFC 9457 problems (``api.problems``), and the
document must say so for every operation (CONTRACT.md §2).
"""

from __future__ import annotations

import http
from typing import Any

from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields

PROBLEM = "application/problem+json"


class ProblemSchema(Schema):
    """An RFC 9457 problem: what went wrong, for people and programs."""

    type = fields.String(
        required=True, metadata={"description": "a URI naming the kind of problem"}
    )
    title = fields.String(required=True, metadata={"description": "the status, in words"})
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    detail = fields.String(required=True, metadata={"description": "what went wrong here"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "422 only: the messages of each refused field"},
    )


class TicketingApi(Api):  # type: ignore[misc]
    """flask-smorest's ``Api`` whose error responses are problem+json documents."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        default: dict[str, Any] = {"description": "an error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)
