"""The finishing pass over the OpenAPI document flask-smorest derives from the views.

What a generator needs and the views cannot say, added in one place:

- named, reused enums (``TicketType``, ``TicketStatus``, ...) instead of inline lists;
- nullable references as ``anyOf: [$ref, {nullable, enum: [null]}]``, which every validator
  and generator reads as "that type, or null";
- open response objects (a field added later breaks no client) and closed request objects
  (the service refuses unknown fields);
- a reusable problem+json response for every status the contract names, listed on each
  operation that can answer it, with the headers that come with it;
- every header the service reads or sends, declared where it applies;
- binary content types for downloads and exports;
- history entries typed per event type, with a discriminator;
- constraints, descriptions of path parameters, and an example on every schema.
"""

from __future__ import annotations

import copy
from typing import Any

from api.openapi_examples import EXAMPLES, HISTORY_DATA
from api.openapi_tables import (
    ALSO_CSV,
    BINARY,
    ENUM_BY_PROPERTY,
    ENUM_BY_VALUES,
    ENUMS,
    ERROR_HEADERS,
    ERRORS,
    HEADERS,
    IDEMPOTENT,
    PATH_PARAMETERS,
    PROBLEM,
    RATE_LIMITED,
    READS_YOUR_WRITES,
    REQUEST_HEADERS,
    STREAM_PATH_ITEM,
    TICKET_COMMANDS,
    Document,
)
from domain.content import ID_MAX


def finish(document: Document) -> Document:
    """The finished document (the input is not changed)."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("PaginationMetadata", None)
    schemas.update(_enum_components())
    schemas.update(_history_components())
    components["headers"] = HEADERS
    components["parameters"] = REQUEST_HEADERS
    components["responses"] = _error_responses()
    request_schemas = _request_schema_names(document)
    for name, schema in schemas.items():
        _name_enums(schema, name)
        _nullable_refs(schema)
        if name not in request_schemas:
            schema.pop("additionalProperties", None)
        if name in EXAMPLES and "example" not in schema:
            schema["example"] = EXAMPLES[name]
    _nullable_as_any_of(document, schemas)
    document.setdefault("paths", {})["/api/v1/me/stream"] = copy.deepcopy(STREAM_PATH_ITEM)
    for path, item in document.get("paths", {}).items():
        _finish_path(path, item)
    return document


def _enum_components() -> Document:
    return {
        name: {"type": "string", "enum": values, "description": description, "example": values[0]}
        for name, (values, description) in ENUMS.items()
    }


def _ref(name: str) -> Document:
    return {"$ref": f"#/components/schemas/{name}"}


def _name_enums(node: Any, schema_name: str = "", property_name: str = "") -> None:
    """Replace inline enums by references to the named ones (in place)."""
    if isinstance(node, list):
        for item in node:
            _name_enums(item, schema_name, property_name)
        return
    if not isinstance(node, dict):
        return
    for key, value in list(node.items()):
        if key == "properties" and isinstance(value, dict):
            for prop, schema in value.items():
                named = _named(schema, schema_name, prop)
                if named:
                    value[prop] = named
                else:
                    _name_enums(schema, schema_name, prop)
        elif key in ("items", "schema") and isinstance(value, dict):
            named = _named(value, schema_name, property_name)
            if named:
                node[key] = named
            else:
                _name_enums(value, schema_name, property_name)
        elif isinstance(value, dict | list):
            _name_enums(value, schema_name, property_name)


def _named(schema: Any, schema_name: str, property_name: str) -> Document | None:
    """The reference that replaces an inline enum, or None. A nullable enum or one with a
    default becomes ``allOf: [$ref]`` beside them (OpenAPI 3.0 ignores a $ref's siblings)."""
    if not isinstance(schema, dict) or "enum" not in schema or schema.get("type") != "string":
        return None
    values = frozenset(value for value in schema["enum"] if value is not None)
    name = ENUM_BY_PROPERTY.get((schema_name, property_name)) or ENUM_BY_VALUES.get(values)
    if name is None:
        return None
    extras = {key: schema[key] for key in ("nullable", "default") if key in schema}
    return {"allOf": [_ref(name)], **extras} if extras else _ref(name)


def _nullable_as_any_of(node: Any, schemas: Document) -> None:
    """``allOf: [$ref], nullable`` → ``anyOf: [$ref, {type, nullable, enum: [null]}]``: every
    validator reads that as "the referenced schema, or null" (openapi-core reads a nullable
    ``allOf`` as the referenced schema, which is not nullable), and generators still name the
    referenced type."""
    if isinstance(node, list):
        for item in node:
            _nullable_as_any_of(item, schemas)
        return
    if not isinstance(node, dict):
        return
    refs = node.get("allOf")
    if node.get("nullable") and isinstance(refs, list) and len(refs) == 1 and "$ref" in refs[0]:
        target = schemas.get(refs[0]["$ref"].rsplit("/", 1)[-1], {})
        del node["allOf"], node["nullable"]
        node["anyOf"] = [
            refs[0],
            {"type": target.get("type", "object"), "nullable": True, "enum": [None]},
        ]
    for value in node.values():
        _nullable_as_any_of(value, schemas)


def _nullable_refs(node: Any) -> None:
    """``anyOf: [{$ref}, {type: object, nullable}]`` → ``allOf: [{$ref}], nullable: true``."""
    if isinstance(node, list):
        for item in node:
            _nullable_refs(item)
        return
    if not isinstance(node, dict):
        return
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2:
        refs = [option for option in options if "$ref" in option]
        nulls = [option for option in options if option.get("nullable") and "$ref" not in option]
        if len(refs) == 1 and len(nulls) == 1:
            del node["anyOf"]
            node["allOf"] = refs
            node["nullable"] = True
            node.pop("default", None)
    for value in node.values():
        _nullable_refs(value)


def _request_schema_names(document: Document) -> set[str]:
    """Schemas that are request bodies, or nested in one (closed: the service refuses unknown
    fields)."""
    schemas = document.get("components", {}).get("schemas", {})
    bodies = [
        media.get("schema", {})
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
        for media in operation.get("requestBody", {}).get("content", {}).values()
    ]
    names: set[str] = set()
    waiting = [node for body in bodies for node in _walk(body) if "$ref" in node]
    while waiting:
        name = waiting.pop()["$ref"].rsplit("/", 1)[1]
        if name not in names:
            names.add(name)
            waiting += [node for node in _walk(schemas.get(name, {})) if "$ref" in node]
    return names


def _walk(node: Any) -> list[Document]:
    """Every object in a JSON document, this one included."""
    if isinstance(node, list):
        return [found for item in node for found in _walk(item)]
    if not isinstance(node, dict):
        return []
    return [node, *(found for value in node.values() for found in _walk(value))]


def _error_responses() -> Document:
    responses: Document = {}
    for status, (name, meaning) in ERRORS.items():
        response: Document = {
            "description": meaning,
            "content": {PROBLEM: {"schema": _ref("Problem"), "example": _problem_example(status)}},
        }
        headers = {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}}
        for header in ERROR_HEADERS.get(status, []):
            wire = {"WWWAuthenticate": "WWW-Authenticate", "RetryAfter": "Retry-After"}[header]
            headers[wire] = {"$ref": f"#/components/headers/{header}"}
        response["headers"] = headers
        responses[name] = response
    responses["Problem"] = {
        "description": "any other error (e.g. 414 or 431 from the web server)",
        "content": {PROBLEM: {"schema": _ref("Problem")}},
    }
    return responses


def _problem_example(status: int) -> Document:
    example = copy.deepcopy(EXAMPLES["Problem"])
    example["status"] = status
    if status != 422:
        example.pop("errors", None)
        example["title"] = ERRORS[status][0]
        example["detail"] = ERRORS[status][1]
    return dict(example)


def _statuses(operation_id: str, method: str, path: str, public: bool) -> list[int]:
    """The error statuses an operation can answer (CONTRACT.md §2)."""
    statuses = {400, 422, 503}
    if not public:
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if operation_id in TICKET_COMMANDS or operation_id == "addHandler":
        statuses.add(409)
    if operation_id in TICKET_COMMANDS:
        statuses.add(412)
    if method in ("post", "patch"):
        statuses.add(413)
    if operation_id == "uploadAttachments":
        statuses.add(415)
    if operation_id in RATE_LIMITED or not public:  # every account takes turns (api.admission)
        statuses.add(429)
    if operation_id == "downloadAttachment":
        statuses.add(502)
    return sorted(statuses)


def _finish_path(path: str, item: Document) -> None:
    for parameter in item.get("parameters", []):
        _describe_path_parameter(parameter)
    for method, operation in item.items():
        if method == "parameters" or not isinstance(operation, dict):
            continue
        operation_id = operation.get("operationId", "")
        public = operation.get("security") == []
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "path":
                _describe_path_parameter(parameter)
            _name_enums(parameter, operation_id, parameter.get("name", ""))
        _declare_request_headers(operation_id, operation)
        responses = operation.setdefault("responses", {})
        for status_code in list(responses):
            if status_code == "default" or status_code.startswith(("4", "5")):
                del responses[status_code]
        for status in _statuses(operation_id, method, path, public):
            responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
        responses["default"] = {"$ref": "#/components/responses/Problem"}
        for status_code, response in responses.items():
            if status_code.startswith("2"):
                _finish_success(operation_id, status_code, response)


def _describe_path_parameter(parameter: Document) -> None:
    name = parameter.get("name", "")
    if name in PATH_PARAMETERS:
        parameter["description"] = PATH_PARAMETERS[name]
    if name in ("workspace_id", "account_id"):
        parameter["schema"] = {
            # no `pattern`: JSON Schema's \s and the domain's white space (str.isspace) differ
            "type": "string", "minLength": 1, "maxLength": ID_MAX,
            "example": "ws-acme" if name == "workspace_id" else "sam",
        }  # fmt: skip


def _declare_request_headers(operation_id: str, operation: Document) -> None:
    wanted = []
    if operation_id in TICKET_COMMANDS:
        wanted.append("IfMatch")
    if operation_id in IDEMPOTENT:
        wanted.append("IdempotencyKey")
    if operation_id in READS_YOUR_WRITES:
        wanted.append("XTicketingPosition")
    parameters = operation.setdefault("parameters", [])
    for name in wanted:
        parameters.append({"$ref": f"#/components/parameters/{name}"})
    if not parameters:
        del operation["parameters"]


def _finish_success(operation_id: str, status: str, response: Document) -> None:
    headers: Document = {"X-Request-Id": {"$ref": "#/components/headers/XRequestId"}}
    if operation_id in TICKET_COMMANDS or operation_id in ("submitTicket", "getTicket"):
        headers["ETag"] = {"$ref": "#/components/headers/ETag"}
    if operation_id in TICKET_COMMANDS or operation_id == "submitTicket":
        headers["X-Ticketing-Position"] = {"$ref": "#/components/headers/XTicketingPosition"}
    if operation_id in IDEMPOTENT:
        headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/IdempotentReplayed"}
    if operation_id in READS_YOUR_WRITES:
        headers["X-Ticketing-Stale"] = {"$ref": "#/components/headers/XTicketingStale"}
    if operation_id in BINARY:
        headers["Content-Disposition"] = {"$ref": "#/components/headers/ContentDisposition"}
        response["content"] = {
            media: {"schema": {"type": "string", "format": "binary", "description": what}}
            for media, what in BINARY[operation_id].items()
        }
    if operation_id in ALSO_CSV:
        response["content"] = {
            **response.get("content", {}),
            "text/csv": {
                "schema": {
                    "type": "string",
                    "format": "binary",
                    "description": ALSO_CSV[operation_id],
                }
            },
        }
        headers["Content-Disposition"] = {"$ref": "#/components/headers/ContentDisposition"}
    if operation_id == "getTicketHistory":
        response["content"] = {
            "application/json": {"schema": {"type": "array", "items": _ref("HistoryEntry")}}
        }
    response["headers"] = {**response.get("headers", {}), **headers}


def _history_components() -> Document:
    """``HistoryEntry``: one of a typed entry per event type, told apart by ``type``."""
    components: Document = {
        "HistoryActor": {
            "type": "object",
            "description": "who caused the event (the service itself: role `system`)",
            "properties": {
                "account_id": {"type": "string"},
                "name": {"type": "string"},
                "role": _ref("AuthorRole"),
            },
            "required": ["account_id", "role"],
            "example": {"account_id": "sam", "name": "Sam Support", "role": "handler"},
        }
    }
    mapping = {}
    for public, data in HISTORY_DATA.items():
        name = f"{public}Entry"
        mapping[public] = f"#/components/schemas/{name}"
        components[f"{public}Data"] = data
        components[name] = {
            "type": "object",
            "description": f"a `{public}` event",
            "properties": {
                "version": {"type": "integer", "minimum": 1, "description": "the ticket's "
                            "version this event made"},
                "type": {"type": "string", "enum": [public]},
                "occurred_at": {"type": "string", "format": "date-time"},
                "actor": _ref("HistoryActor"),
                "data": _ref(f"{public}Data"),
            },
            "required": ["version", "type", "occurred_at", "actor", "data"],
            "example": {
                "version": 1 if public == "TicketSubmitted" else 2,
                "type": public,
                "occurred_at": "2026-11-30T09:12:00+00:00",
                "actor": {"account_id": "ava", "name": "Ava Martin", "role": "user"},
                "data": data.get("example", {}),
            },
        }  # fmt: skip
    components["HistoryEntry"] = {
        "description": "one stored event of the ticket, typed by `type`",
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
        "example": components["TicketSubmittedEntry"]["example"],
    }
    return components
