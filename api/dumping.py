"""Answers dumped by plans made once per schema, not by marshmallow's machinery per value.

marshmallow dumps every value of an answer through the same generic path: the field's
``serialize``, an accessor, a default, a nested schema's ``dump``. For a page of twenty ticket
summaries that was 80 calls per ticket and a quarter of the list's time in the API (issue 26).
A plan walks the schema once, when the view is declared, and keeps for each field what it
does: look the value up, then the field's own ``_serialize`` (so every value is formatted
exactly as marshmallow formats it), a nested schema's plan, or a list's. Whatever a plan does
not know (dump hooks, ``Method``, ``Pluck``, a field that reads its value its own way) is left
to marshmallow, field by field or for the whole schema.

``TICKETING_CHECK_DUMPS=1`` (set by the test suite) dumps every answer both ways and fails
the request if they differ.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

Dump = Callable[[Any], Any]  # one object to its dumped form
CHECK_VARIABLE = "TICKETING_CHECK_DUMPS"


class DumpMismatch(AssertionError):
    """A plan dumped an answer otherwise than marshmallow (checked mode only)."""


def _lookup(obj: Any, key: str) -> Any:
    """``marshmallow.utils.get_value`` for a key without dots: an item, else an attribute."""
    if type(obj) is dict:
        return obj[key] if key in obj else getattr(obj, key, missing)
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _plain(field: fields.Field[Any]) -> bool:
    """A field that reads its value as every field does and formats it in ``_serialize``."""
    kind = type(field)
    return (
        kind.serialize is fields.Field.serialize
        and kind.get_value is fields.Field.get_value
        and field._CHECK_ATTRIBUTE
    )


def _kept_as_is(field: fields.Field[Any]) -> type | None:
    """The type whose values ``field`` dumps unchanged (a string field's ``str``, an integer
    field's ``int``, a boolean field's ``bool``), if any: those skip ``_serialize``."""
    kind = type(field)
    if kind is fields.String:
        return str
    if kind is fields.Integer and not field.as_string:  # type: ignore[attr-defined]
        return int
    if kind is fields.Boolean:
        return bool
    return None


def _value_dump(field: fields.Field[Any]) -> Callable[[Any, str, Any], Any]:
    """How a present value of ``field`` is dumped: (value, attribute, object) -> dumped."""
    formatted: Callable[[Any, str, Any], Any] = field._serialize
    kept = _kept_as_is(field)
    if kept is not None:
        return lambda value, attr, obj: (
            value if type(value) is kept else formatted(value, attr, obj)
        )
    if type(field) is fields.DateTime and field.format in ("iso", "iso8601"):
        return lambda value, attr, obj: (
            value.isoformat() if type(value) is datetime else formatted(value, attr, obj)
        )
    if type(field) is fields.Nested:
        nested = field.schema
        if nested.many or field.many:
            return formatted
        inner = plan(nested)
        return lambda value, attr, obj: None if value is None else inner(value)
    if type(field) is fields.List and type(field.inner) is fields.Nested:
        each = _value_dump(field.inner)
        return lambda value, attr, obj: (
            None if value is None else [each(item, attr, obj) for item in value]
        )
    return formatted


def _field_dump(name: str, field: fields.Field[Any], schema: Schema) -> Callable[[Any], Any]:
    """``field.serialize(name, obj)``: the dumped value, or ``missing`` to leave it out."""
    if not _plain(field) or (field.attribute is not None and "." in field.attribute):
        return lambda obj: field.serialize(name, obj, accessor=schema.get_attribute)
    key = field.attribute or name
    if "." in key:
        return lambda obj: field.serialize(name, obj, accessor=schema.get_attribute)
    dump_value = _value_dump(field)
    default = field.dump_default

    def dump(obj: Any) -> Any:
        value = _lookup(obj, key)
        if value is missing:
            value = default() if callable(default) else default
            if value is missing:
                return missing
        return dump_value(value, name, obj)

    return dump


def plan(schema: Schema) -> Dump:
    """A function that dumps one object as ``schema.dump`` does (``many`` aside)."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] or schema.dict_class is not dict:
        return lambda obj: schema.dump(obj, many=False)
    steps = [
        (field.data_key if field.data_key is not None else name, _field_dump(name, field, schema))
        for name, field in schema.dump_fields.items()
    ]

    def dump(obj: Any) -> dict[str, Any]:
        result = {}
        for key, step in steps:
            value = step(obj)
            if value is not missing:
                result[key] = value
        return result

    return dump


def planned(schema: Schema) -> Schema:
    """``schema`` with its ``dump`` done by a plan (and checked against marshmallow's when
    ``TICKETING_CHECK_DUMPS`` is set)."""
    if getattr(schema, "_planned", False):  # one instance declared on several views
        return schema
    one = plan(schema)
    generic = schema.dump

    def dump(obj: Any, *, many: bool | None = None) -> Any:
        is_many = schema.many if many is None else bool(many)
        result = [one(item) for item in obj] if is_many and obj is not None else one(obj)
        if os.environ.get(CHECK_VARIABLE):
            expected = generic(obj, many=many)
            if result != expected:
                raise DumpMismatch(f"{type(schema).__name__}: {result!r} != {expected!r}")
        return result

    schema.dump = dump  # type: ignore[method-assign]
    schema._planned = True  # type: ignore[attr-defined]
    return schema
