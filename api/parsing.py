"""How requests are read: nothing a client sends can crash the parser or reach the store.

- JSON too deeply nested, or with a number longer than Python converts, is malformed (400),
  like any other JSON the parser cannot read (webargs lets those errors through as 500s).
- Query parameters an operation does not document are refused (422 naming them), as are
  query values and path ids holding what no part of the service can store (the domain's text
  and id rules, CONTRACT.md §1): the lists would otherwise send them to PostgreSQL.
"""

from __future__ import annotations

import json
import re
from typing import Any

import flask_smorest
from flask import Flask, request
from flask_smorest import Api
from webargs.flaskparser import FlaskParser

from domain.content import identifier_fault, text_fault
from domain.errors import ValidationFailed

BODY = "<request body>"  # webargs reads an error with an empty document as "no body"
PATH_IDS = ("workspace_id", "account_id")  # ids a path carries as given (others are UUIDs)


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
    """flask-smorest's blueprint with the parser above."""

    ARGUMENTS_PARSER = TicketingParser()


def documented_query_parameters(api: Api) -> dict[tuple[str, str], frozenset[str]]:
    """(Flask rule, method) -> the query parameters the OpenAPI document gives it."""
    documented: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in api.spec.to_dict().get("paths", {}).items():
        rule = re.sub(r"\{(\w+)\}", r"<\1>", path)
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            names = {
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "query"
            }
            documented[(rule, method.upper())] = frozenset(names)
    return documented


def guard_requests(app: Flask, api: Api) -> None:
    """Refuse undocumented query parameters, and query values and path ids that break the
    domain's rules, before any view runs (register it after authentication)."""
    documented = documented_query_parameters(api)

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
        allowed = documented.get((request.url_rule.rule, request.method))
        for name, values_given in request.args.lists():
            if allowed is not None and name not in allowed:
                errors[name] = ["is not a parameter of this operation"]
            elif faults := [fault for value in values_given if (fault := text_fault(value))]:
                errors[name] = faults[:1]
        if errors:
            raise ValidationFailed(errors)
