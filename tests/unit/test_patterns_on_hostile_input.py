"""No pattern applied to client input takes more than linear time (DESIGN.md's invariant).

Every regular expression in the service's code is listed here, by the module that compiles or
applies it: either with the adversarial input of the largest size a client may send, which it
must get through quickly, or with why no client text reaches it. A new pattern fails the first
test until it is listed, so nobody adds one unchecked.
"""

from __future__ import annotations

import ast
import contextlib
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from api.export import safe_cell
from domain import canned_replies, content
from domain.errors import ValidationFailed
from domain.verification import valid_email

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "application", "projections", "api", "workers")
RE_CALLS = {
    "compile",
    "match",
    "search",
    "sub",
    "subn",
    "fullmatch",
    "split",
    "findall",
    "finditer",
}

# (module, pattern) -> None when client text reaches it (checked below), else why not
PATTERNS: dict[tuple[str, str], str | None] = {
    ("domain/content.py", "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]"): None,
    ("domain/content.py", "[\x00\ud800-\udfff]"): None,
    ("domain/canned_replies.py", "[{}]"): None,
    ("api/export.py", r"_(?=x[0-9A-Fa-f]{4}_)|\r"): None,
    ("api/parsing.py", "(%2[fF]|%25)"): None,
    ("api/lists.py", r"[^A-Za-z0-9_-]"): None,
    ("workers/object_store.py", r"^[^\x00-\x1f/\\]+$"): None,
    ("workers/object_store.py", r"bytes=(\d+)-(\d*)"): None,
    ("application/gates.py", r"gate closed: (workspace|account)"): "PostgreSQL's error text",
    ("api/parsing.py", r"<(?:[^:<>]+:)?([^<>]+)>"): "the service's own URL rules",
}


def patterns_in_code() -> set[tuple[str, str]]:
    """Every literal pattern handed to ``re`` in the service's layers."""
    found: set[tuple[str, str]] = set()
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.func.attr in RE_CALLS
                ):
                    first = node.args[0] if node.args else None
                    assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: not a literal"
                    assert isinstance(first.value, str), f"{path}:{node.lineno}: not text"
                    found.add((str(path.relative_to(ROOT)), first.value))
    return found


def test_every_pattern_in_the_code_is_listed_here() -> None:
    assert patterns_in_code() == set(PATTERNS)


def seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def quick(call: Callable[[], object], limit: float = 0.25) -> None:
    """Done well within ``limit`` on the largest input; the slowest of the patterns this
    replaced took over 30 s."""
    assert seconds(call) < limit


ADVERSARIAL = {
    "spaces": " " * content.BODY_MAX,
    "braces": "{{" + " " * (content.BODY_MAX - 2),
    "open braces": "{{ " * (content.BODY_MAX // 3),
    "nested": "{" * content.BODY_MAX,
    "unclosed": ("{{" + " " * 50 + "}") * (content.BODY_MAX // 53),
    "separators": ";" + " " * (content.BODY_MAX - 1),
    "line feeds": "\n" * content.BODY_MAX,
    "dots": "a@" + "." * 250 + "@",
    "escapes": "_x00" * (content.BODY_MAX // 4),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_each_listed_pattern_gets_through_adversarial_input_of_the_largest_size(name: str) -> None:
    text = ADVERSARIAL[name]
    for (_module, pattern), reason in PATTERNS.items():
        if reason is None:
            compiled = re.compile(pattern)
            quick(lambda: list(compiled.finditer(text)))  # noqa: B023 (called at once)
            quick(lambda: compiled.fullmatch(text))  # noqa: B023


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_placeholders_are_found_in_linear_time(name: str) -> None:
    text = ADVERSARIAL[name]
    quick(lambda: canned_replies.unknown_placeholders(text))
    quick(lambda: canned_replies.fill(text, {"ticket.number": "7"}))


def test_a_body_of_braces_and_spaces_is_checked_as_fast_as_one_of_letters() -> None:
    braces = "{{" + " " * (content.BODY_MAX - 2)
    letters = "a" * content.BODY_MAX
    for _ in range(3):  # warm
        canned_replies.unknown_placeholders(letters)
    assert seconds(lambda: canned_replies.unknown_placeholders(braces)) < 0.05
    assert canned_replies.unknown_placeholders(braces + "}}") == [braces + "}}"]


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_csv_cells_and_addresses_are_made_safe_in_linear_time(name: str) -> None:
    text = ADVERSARIAL[name]
    quick(lambda: safe_cell(text, split=True))
    with contextlib.suppress(ValidationFailed):
        quick(lambda: valid_email(text[:254]))


OLD_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def test_the_scan_finds_exactly_what_the_pattern_it_replaced_found() -> None:
    """On short texts (where the old pattern is fast) of the characters that matter."""
    rng = random.Random(42)
    values = {"a": "<A>", "a.a": "<AA>"}
    for _ in range(20_000):
        text = "".join(rng.choice("{} a\t.") for _ in range(rng.randint(0, 14)))
        old = [(m.start(), m.end(), m.group(1)) for m in OLD_PLACEHOLDER.finditer(text)]
        assert list(canned_replies.placeholders(text)) == old, repr(text)
        expected = OLD_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
        assert canned_replies.fill(text, values) == expected, repr(text)


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("a; =1", "a; '=1"),
        ("a;\n=1", "a;\n'=1"),
        ("a;\r\n@x", "a;'\r\n'@x"),
        ("a,  \t -1", "a,  \t '-1"),
        ("a\n+1", "a\n'+1"),
        ("a;\tb", "a;'\tb"),
        ("a; b =1", "a; b =1"),
    ],
)
def test_a_formula_behind_a_separator_and_blanks_is_neutralised(text: str, safe: str) -> None:
    assert safe_cell(text, split=True) == safe
    for separator in (",", ";", "\t", "\n"):
        for fragment in safe.split(separator):
            assert not fragment.strip(" \t\r\n").startswith(("=", "+", "-", "@"))
