"""Plans dump as marshmallow dumps (api.dumping), and the API's views use them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pytest
from marshmallow import Schema, fields, post_dump

from api.dumping import CHECK_VARIABLE, DumpMismatch, plan, planned
from api.parsing import Blueprint
from api.schemas import TicketPageSchema

AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


class Shade(StrEnum):
    DARK = "dark"


class Party(Schema):
    account_id = fields.String(required=True)
    name = fields.String(dump_default="nobody")


class Item(Schema):
    id = fields.String()
    number = fields.Integer()
    score = fields.Float(allow_none=True)
    done = fields.Boolean()
    at = fields.DateTime()
    stamped = fields.DateTime(format="rfc")
    counted = fields.Integer(as_string=True)
    day = fields.Date()
    party = fields.Nested(Party, allow_none=True)
    parties = fields.List(fields.Nested(Party))
    tags = fields.List(fields.String())
    meta = fields.Dict()
    renamed = fields.String(data_key="shown_as")
    sourced = fields.String(attribute="elsewhere")
    constant = fields.Constant("always")
    method = fields.Method("double")
    secret = fields.String(load_only=True)

    def double(self, obj: Any) -> int:
        return 2 * int(obj.get("number", 0) if isinstance(obj, dict) else obj.number)


class Page(Schema):
    items = fields.List(fields.Nested(Item))
    next_cursor = fields.String(allow_none=True)


class Hooked(Schema):
    name = fields.String()

    @post_dump
    def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {key: value.upper() for key, value in data.items()}


@dataclass
class Row:
    id: str
    number: int
    at: datetime


SAMPLES: list[Any] = [
    {},
    {"id": 7, "number": "12", "score": None, "done": 1, "at": AT, "day": AT.date()},
    {"party": None, "parties": [{"account_id": "a"}, {"account_id": "b", "name": "Bea"}]},
    {"party": {"account_id": "x", "name": None}, "tags": ["a", 2], "meta": {"k": [1]}},
    {"renamed": "r", "elsewhere": "s", "sourced": "not me", "secret": "hidden", "number": 3},
    {"parties": None, "tags": None},
    Row("r1", 5, AT),
    # what dumps as it is (str, int, bool, ISO dates) and what only looks so: subclasses,
    # naive and sub-second dates, another date format, a number written as a string
    {"id": Shade.DARK, "number": True, "done": 0, "at": AT.replace(microsecond=5)},
    {"id": "plain", "number": 2**70, "done": True, "at": AT.replace(tzinfo=None)},
    {"stamped": AT, "counted": 41, "renamed": Shade.DARK, "tags": [Shade.DARK, "x"]},
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_a_plan_dumps_what_marshmallow_dumps(sample: Any) -> None:
    assert plan(Item())(sample) == Item().dump(sample)


def test_pages_many_and_hooks_dump_alike() -> None:
    page = {"items": SAMPLES[:6], "next_cursor": None}
    assert plan(Page())(page) == Page().dump(page)
    with pytest.raises(TypeError):  # "items" missing from a dict is dict.items, for both
        Page().dump({})
    with pytest.raises(TypeError):
        plan(Page())({})
    assert planned(Item(many=True)).dump(SAMPLES[:3]) == Item(many=True).dump(SAMPLES[:3])
    assert plan(Hooked())({"name": "ann"}) == {"name": "ANN"}


def test_checked_mode_catches_a_plan_that_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = planned(Party())
    monkeypatch.setenv(CHECK_VARIABLE, "1")
    assert schema.dump({"account_id": "a"}) == {"account_id": "a", "name": "nobody"}
    wrong = Party()
    wrong.dump_fields["name"].dump_default = "somebody"
    monkeypatch.setattr(wrong, "_serialize", lambda obj, many=False: {"other": 1})
    with pytest.raises(DumpMismatch):
        planned(wrong).dump({"account_id": "a"})


def test_views_dump_their_answers_by_plans() -> None:
    blp = Blueprint("planned", __name__)
    schemas: list[Schema] = []
    original = Blueprint.__mro__[1].response

    def spy(self: Blueprint, status: Any, schema: Any = None, **kwargs: Any) -> Any:
        schemas.append(schema)
        return original(self, status, schema, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Blueprint.__mro__[1], "response", spy)
        blp.response(200, TicketPageSchema)
    assert getattr(schemas[0], "_planned", False)
