"""The OpenAPI document says what generators need (issue 14), and its examples are true."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from jsonschema import Draft7Validator

from api.openapi_tables import ENUMS, ERRORS
from domain.attachments import CONTENT_TYPES
from tests.api.conftest import Auth

Spec = dict[str, Any]


def _spec(client: FlaskClient) -> Spec:
    document: Spec = client.get("/api/v1/openapi.json").get_json()
    return document


def _operations(spec: Spec) -> list[tuple[str, str, Spec]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: this, or null."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "example"}
    if converted.pop("nullable", False):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _walk(node: Any) -> list[Spec]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def test_every_operation_lists_its_error_statuses_as_reusable_problem_responses(
    client: FlaskClient,
) -> None:
    spec = _spec(client)
    for name, response in spec["components"]["responses"].items():
        assert list(response["content"]) == ["application/problem+json"], name
        assert response["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    assert spec["components"]["responses"]["ServiceUnavailable"]["headers"]["Retry-After"]
    assert spec["components"]["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"]
    for path, method, operation in _operations(spec):
        responses = operation["responses"]
        errors = {status for status in responses if status[0] in "45"}
        assert {"400", "422", "503"} <= errors, f"{method} {path}"
        if operation.get("security") != []:
            assert {"401", "403"} <= errors, f"{method} {path}"
        for status in errors:
            assert responses[status] == {"$ref": f"#/components/responses/{ERRORS[int(status)][0]}"}
    accept = spec["paths"]["/api/v1/tickets/{ticket_id}/accept"]["post"]["responses"]
    assert {"404", "409", "412"} <= set(accept)
    assert "415" in spec["paths"]["/api/v1/attachments"]["post"]["responses"]
    assert "429" in spec["paths"]["/api/v1/email-verifications"]["post"]["responses"]
    problem = spec["components"]["schemas"]["Problem"]
    assert problem["properties"]["status"]["type"] == "integer"


def test_enums_are_named_and_reused_and_nullable_objects_are_generator_friendly(
    client: FlaskClient,
) -> None:
    spec = _spec(client)
    schemas = spec["components"]["schemas"]
    for name, (values, _) in ENUMS.items():
        assert schemas[name]["enum"] == values
    named = {frozenset(values) for values, _ in ENUMS.values()}
    inline = [
        node
        for key, schema in schemas.items()
        if key not in ENUMS and not key.endswith("Entry")
        for node in _walk(schema)
        if "enum" in node and frozenset(v for v in node["enum"] if v is not None) in named
    ]
    assert inline == [], "every enum with a name is referenced by it"
    ticket = schemas["Ticket"]["properties"]
    # "that type, or null", as every validator reads it (openapi-core reads allOf + nullable
    # as the referenced type, which is not nullable)
    assert ticket["assignee"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/Party"},
            {"type": "object", "nullable": True, "enum": [None]},
        ]
    }
    assert ticket["close_reason"] == {
        "anyOf": [
            {"$ref": "#/components/schemas/CloseReason"},
            {"type": "string", "nullable": True, "enum": [None]},
        ]
    }
    assert ticket["rating"]["anyOf"][1]["nullable"] is True
    assert ticket["status"] == {"$ref": "#/components/schemas/TicketStatus"}
    assert not any(node.get("nullable") and "allOf" in node for node in _walk(schemas))
    assert "PaginationMetadata" not in schemas


def test_responses_are_open_requests_are_closed_and_every_schema_has_a_true_example(
    client: FlaskClient,
) -> None:
    spec = _spec(client)
    schemas = spec["components"]["schemas"]
    assert "additionalProperties" not in schemas["Ticket"]
    assert "additionalProperties" not in schemas["Problem"]
    assert schemas["TicketSubmission"]["additionalProperties"] is False
    components = _json_schema({"schemas": schemas})
    for name, schema in schemas.items():
        assert "example" in schema, f"{name} has no example"
        if name == "AttachmentUpload":
            continue  # a multipart form: its example names the files
        validator = Draft7Validator({**_json_schema(schema), "components": components})
        errors = [error.message for error in validator.iter_errors(schema["example"])]
        assert errors == [], f"{name}'s example does not match it: {errors}"


def test_headers_are_declared_where_the_service_reads_and_sends_them(client: FlaskClient) -> None:
    spec = _spec(client)
    paths = spec["paths"]

    def parameters(path: str, method: str) -> set[str]:
        refs = paths[path][method].get("parameters", [])
        return {ref["$ref"].rsplit("/", 1)[1] for ref in refs if "$ref" in ref}

    assert "IfMatch" in parameters("/api/v1/tickets/{ticket_id}/close", "post")
    assert "IdempotencyKey" in parameters("/api/v1/workspaces/{workspace_id}/tickets", "post")
    assert "IdempotencyKey" in parameters("/api/v1/tickets/{ticket_id}/messages", "post")
    assert "XTicketingPosition" in parameters("/api/v1/me/tickets", "get")
    submitted = paths["/api/v1/workspaces/{workspace_id}/tickets"]["post"]["responses"]["201"]
    assert {"ETag", "X-Ticketing-Position", "Idempotent-Replayed", "X-Request-Id"} <= set(
        submitted["headers"]
    )
    listed = paths["/api/v1/me/tickets"]["get"]["responses"]["200"]
    assert "X-Ticketing-Stale" in listed["headers"]
    download = paths["/api/v1/attachments/{attachment_id}"]["get"]["responses"]["200"]
    # a download comes with its format's own type, as the domain knows them
    assert set(download["content"]) == set(CONTENT_TYPES.values())
    assert {media["schema"]["format"] for media in download["content"].values()} == {"binary"}
    export = paths["/api/v1/workspaces/{workspace_id}/tickets/export"]["get"]
    assert set(export["responses"]["200"]["content"]) == {
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    names = {p.get("name") for p in export["parameters"]}
    assert "limit" not in names
    assert "cursor" not in names
    history = paths["/api/v1/tickets/{ticket_id}/history"]["get"]["responses"]["200"]
    assert history["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/HistoryEntry"
    }
    entry = spec["components"]["schemas"]["HistoryEntry"]
    assert entry["discriminator"]["propertyName"] == "type"
    assert len(entry["oneOf"]) == len(ENUMS["HistoryEventType"][0])


def test_the_export_refuses_paging_it_never_honoured_and_repeated_parameters_name_the_field(
    client: FlaskClient, auth: Auth, member: Callable[..., str]
) -> None:
    ws = member("doc-reader")
    paged = client.get(
        f"/api/v1/workspaces/{ws}/tickets/export?format=csv&limit=1", headers=auth("doc-reader")
    )
    assert paged.status_code == 422
    assert paged.get_json()["errors"] == {"limit": ["is not a parameter of this operation"]}
    repeated = client.get(
        f"/api/v1/workspaces/{ws}/tickets?status=closed&status=bogus", headers=auth("doc-reader")
    )
    assert repeated.status_code == 422
    assert list(repeated.get_json()["errors"]) == ["status"]
    assert all(isinstance(m, str) for m in repeated.get_json()["errors"]["status"])
