"""How requests are read: nothing a client sends can crash the parser or reach the store.

- JSON too deeply nested, or with a number longer than Python converts, is malformed (400),
  like any other JSON the parser cannot read (webargs lets those errors through as 500s).
- Query parameters an operation does not document are refused (422 naming them), as are
  query values and path ids holding what no part of the service can store (the domain's text
  and id rules, CONTRACT.md §1): the lists would otherwise send them to PostgreSQL.
- An id may hold any character but white space and control characters, ``/`` included, so a
  path segment of one must be able to carry ``%2F``. WSGI servers decode the path before the
  application sees it, which would turn ``ws%2Fa`` into two segments; ``EncodedSlashes`` takes
  the path from the raw request line instead, keeping ``%2F`` (and ``%25``) encoded, and the
  ``id`` converter decodes them in the id alone.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit

import flask_smorest
from flask import Flask, request
from flask_smorest import Api
from flask_smorest.utils import resolve_schema_instance
from webargs.flaskparser import FlaskParser
from werkzeug.routing import BaseConverter

from api.dumping import planned
from domain.content import identifier_fault, text_fault
from domain.errors import ValidationFailed

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_KEPT_ESCAPES = re.compile("(%2[fF]|%25)")
BODY = "<request body>"  # webargs reads an error with an empty document as "no body"
PATH_IDS = ("workspace_id", "account_id")  # ids a path carries as given (others are UUIDs)


class EncodedSlashes:
    """WSGI middleware: the path as sent, decoded but for ``%2F`` and ``%25``."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw and _KEPT_ESCAPES.search(raw):
            path = urlsplit(raw).path
            script = environ.get("SCRIPT_NAME", "")
            if path.startswith(script):
                # WSGI paths are bytes read as Latin-1 (PEP 3333)
                environ["PATH_INFO"] = "".join(
                    part if _KEPT_ESCAPES.fullmatch(part)
                    else unquote_to_bytes(part).decode("latin-1")
                    for part in _KEPT_ESCAPES.split(path[len(script) :])
                )  # fmt: skip
        return self.wsgi_app(environ, start_response)


class IdConverter(BaseConverter):
    """A path segment holding an id, ``%2F`` and ``%25`` in it decoded (see above)."""

    def to_python(self, value: str) -> str:
        """The id."""
        return _KEPT_ESCAPES.sub(lambda escape: "%" if escape[1] == "%25" else "/", value)

    def to_url(self, value: str) -> str:
        """The segment for an id."""
        return super().to_url(value).replace("/", "%2F")


class TicketingParser(FlaskParser):
    """webargs' Flask parser, for which every unreadable JSON body is a 400."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", BODY, 0) from None
        except json.JSONDecodeError:
            raise
        except ValueError as error:  # e.g. an integer past Python's conversion limit
            raise json.JSONDecodeError(str(error), BODY, 0) from None


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's blueprint with the parser above, whose schemas are built once.

    webargs builds a new instance of a schema *class* for every request it parses (a deep copy
    of every field: 5% of the API's time per command, issue 26); an instance made here, once
    per process, is shared by every request (a marshmallow schema keeps no state per load)."""

    ARGUMENTS_PARSER = TicketingParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """flask-smorest's ``arguments``, given an instance of ``schema``."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def response(self, status_code: Any, schema: Any = None, **kwargs: Any) -> Any:
        """flask-smorest's ``response``, its answers dumped by a plan (``api.dumping``)."""
        if schema is not None:
            schema = planned(resolve_schema_instance(schema))
        return super().response(status_code, schema, **kwargs)


@functools.cache  # the application's routes: a fixed set
def openapi_path(rule: str) -> str:
    """A Flask rule as the OpenAPI document writes its path (``<id:x>`` -> ``{x}``)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def documented_query_parameters(api: Api) -> dict[tuple[str, str], frozenset[str]]:
    """(OpenAPI path, method) -> the query parameters the OpenAPI document gives it."""
    documented: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in api.spec.to_dict().get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            names = {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "query"
            }
            documented[(path, method.upper())] = frozenset(names)
    return documented


def read_ids_in_paths(app: Flask) -> None:
    """Let path segments carry any id (register before the routes)."""
    app.url_map.converters["id"] = IdConverter
    app.wsgi_app = EncodedSlashes(app.wsgi_app)  # type: ignore[method-assign]


def guard_requests(app: Flask, api: Api) -> None:
    """Refuse undocumented query parameters, and query values and path ids that break the
    domain's rules, before any view runs (register it after authentication)."""
    documented = documented_query_parameters(api)
    app.extensions["query_parameters"] = documented

    @app.before_request
    def check_path_and_query() -> None:
        if request.url_rule is None:
            return
        values = request.view_args or {}
        errors = {
            name: [fault]
            for name in PATH_IDS
            if name in values and (fault := identifier_fault(values[name]))
        }
        allowed = documented.get((openapi_path(request.url_rule.rule), request.method))
        for name, values_given in request.args.lists():
            if allowed is not None and name not in allowed:
                errors[name] = ["is not a parameter of this operation"]
            elif faults := [fault for value in values_given if (fault := text_fault(value))]:
                errors[name] = faults[:1]
        if errors:
            raise ValidationFailed(errors)
