"""Every answer the API tests see is checked against the service's own OpenAPI document.

The tests' Flask client is ``ConformingClient``: after each request to an operation of
``/api/v1`` it checks that the answer is one the document describes: a documented status, one
of its documented content types, and (asking Schemathesis) a body matching the schema. A test
whose request gets an answer the document does not promise fails, whatever it asserts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import schemathesis
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from schemathesis.specs.openapi.schemas import OpenApiSchema
from werkzeug.test import TestResponse
from werkzeug.wrappers import Request

_DOCUMENTS: dict[str, OpenApiSchema] = {}
_CORE: dict[str, OpenAPI] = {}
_RAW: dict[str, Any] = {}
CHECKED: list[str] = []  # "GET /api/v1/tickets/{ticket_id} 200", for the report


class _Asked(WerkzeugOpenAPIRequest):
    """The request as openapi-core needs it to find the operation: its body was read by the
    application already, and only the answer is checked."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)

    @property
    def body(self) -> bytes | None:
        return None


def _core() -> OpenAPI:
    """The same document for openapi-core (built once the checker has read it)."""
    if "core" not in _CORE:
        # JSON by another name
        problem_json: dict[str, Callable[[bytes], Any]] = {"application/problem+json": json.loads}
        _CORE["core"] = OpenAPI.from_dict(
            _RAW, config=Config(extra_media_type_deserializers=problem_json)
        )
    return _CORE["core"]


def _document(client: FlaskClient) -> OpenApiSchema:
    if "api" not in _DOCUMENTS:
        raw = FlaskClient.open(client, "/api/v1/openapi.json").get_json()
        _DOCUMENTS["api"] = schemathesis.openapi.from_dict(raw)
        _RAW.update(raw)
    return _DOCUMENTS["api"]


class ConformingClient(FlaskClient):
    """Flask's test client that validates every API answer against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        if request.path.startswith("/api/v1/") and not request.path.startswith(
            ("/api/v1/openapi.json", "/api/v1/docs")
        ):
            self._check(request.method, request.path, response)
        return response

    def _check(self, method: str, path: str, response: TestResponse) -> None:
        document = _document(self)
        operation = document.find_operation_by_path(method, path)
        if operation is None:
            return  # an undocumented method or path: 404/405, checked by the tests that send it
        documented = operation.definition.raw.get("responses", {})
        status = str(response.status_code)
        assert status in documented or "default" in documented, (
            f"{method} {path}: {status} is not documented"
        )
        answer = documented.get(status) or documented["default"]
        if "$ref" in answer:
            answer = _RAW["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        if answer.get("content") and response.data:
            assert response.mimetype in answer["content"], (
                f"{method} {path}: {status} as {response.mimetype} is not documented"
            )
        operation.validate_response(response)
        # and as a second validator reads the document (openapi-core: nullable, allOf, ...)
        _core().validate_response(_Asked(response.request), WerkzeugOpenAPIResponse(response))
        CHECKED.append(f"{method} {operation.path} {status}")
