"""Ticket exports (CSV and XLSX), safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
taken for a formula by spreadsheet programs (CSV injection), so it is prefixed with ``'``; so is
every such start after a ``,``, ``;``, tab or line break inside a cell, also behind spaces,
because a spreadsheet that splits on another separator than the file's (and trims the spaces)
would make it a cell of its own (OWASP's CSV injection guidance). Every CSV field is quoted.
Characters a workbook cannot hold (control characters but tab, line feed and carriage return,
found only in text older than the text rules) are replaced by U+FFFD. In a workbook, a carriage
return is written as OOXML's ``_x000D_`` escape (XML would read a literal one as a line feed),
and an underscore that would start such an escape as ``_x005F_``, so text reads back as sent.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook

from domain.content import REPLACEMENT, UNSTORABLE
from domain.status import STATUS_NAMES, Status
from domain.ticket_types import type_name

# what people read first, as the console shows it; the codes and ids in columns of their own
COLUMNS = (
    "Number", "Title", "Type", "Status", "Submitter", "Assignee", "Workspace", "Submitted",
    "Updated", "SLA due", "Rating", "Type code", "Status code", "Ticket id", "Submitter id",
    "Assignee id",
)  # fmt: skip
Names = Callable[[str, str], str]  # (account id, the name the ticket recorded) -> shown name
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SEPARATORS = frozenset(",;\t\r\n")
_BLANKS = frozenset(" \t\r\n")
_SPOOL_LIMIT = 8 * 1024 * 1024
_OOXML_ESCAPED = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|\r")


def safe_cell(value: Any, *, split: bool = False) -> Any:
    """A cell value no spreadsheet will evaluate, and every format can hold (``split``: a CSV
    cell, which a reader may split on another separator)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        value = UNSTORABLE.sub(REPLACEMENT, value)
        if split:
            value = _fragments_safe(value)
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    return "" if value is None else value


def _fragments_safe(value: str) -> str:
    """``value`` with ``'`` before every formula start that follows a separator and blanks,
    and after a separator followed at once by a tab or carriage return (one pass, no
    pattern: a pattern over runs of blanks backtracks)."""
    if not any(separator in value for separator in _SEPARATORS):
        return value
    parts: list[str] = []
    after_separator = False
    for index, character in enumerate(value):
        if after_separator and (
            character in "=+-@" or (character in "\t\r" and value[index - 1] in ",;\t")
        ):
            parts.append("'")
        parts.append(character)
        if character in _SEPARATORS:
            after_separator = True
        elif character not in _BLANKS:
            after_separator = False
    return "".join(parts)


def recorded_name(account_id: str, recorded: str) -> str:
    """A person's name when no roster is at hand: as the ticket recorded it, else the id."""
    return recorded or account_id


def sla_due(summary: dict[str, Any]) -> Any:
    """The SLA due time the lists show: first response until answered, then resolution; none
    once the ticket is closed or revoked."""
    sla = summary.get("sla")
    if not sla or summary["status"] in (Status.CLOSED, Status.REVOKED):
        return None
    return sla["resolution_due_at"] if sla["first_responded_at"] else sla["first_response_due_at"]


def export_row(
    summary: dict[str, Any], *, split: bool = False, names: Names = recorded_name
) -> list[Any]:
    """One ticket summary as a row of COLUMNS."""
    submitter = summary["submitter"]
    assignee = summary["assignee"] or {}
    assignee_id = assignee.get("account_id")
    row = (
        summary["number"],
        summary["title"],
        type_name(summary["type"]),
        STATUS_NAMES.get(summary["status"], summary["status"]),
        names(submitter["account_id"], submitter["name"]),
        names(assignee_id, assignee.get("name") or "") if assignee_id else None,
        summary["workspace_id"],
        summary["submitted_at"],
        summary["updated_at"],
        sla_due(summary),
        summary.get("rating"),
        summary["type"],
        summary["status"],
        summary["id"],
        submitter["account_id"],
        assignee_id,
    )
    return [safe_cell(value, split=split) for value in row]


def csv_chunks(summaries: Iterable[dict[str, Any]], names: Names = recorded_name) -> Iterator[str]:
    """The CSV text, header first, one chunk per row (streamed as it is read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for summary in summaries:
        writer.writerow(export_row(summary, split=True, names=names))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def ooxml_text(value: Any) -> Any:
    """A cell value with OOXML's escapes, so that a workbook holds the text exactly."""
    if not isinstance(value, str):
        return value
    return _OOXML_ESCAPED.sub(lambda m: "_x005F_" if m.group() == "_" else "_x000D_", value)


def xlsx_file(summaries: Iterable[dict[str, Any]], names: Names = recorded_name) -> IO[bytes]:
    """The XLSX workbook in a spooled temporary file, rewound (a ZIP cannot be streamed)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Tickets")
    sheet.append(list(COLUMNS))
    for summary in summaries:
        sheet.append([ooxml_text(cell) for cell in export_row(summary, names=names)])
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT)  # noqa: SIM115 - returned open
    workbook.save(spool)
    spool.seek(0)
    return spool
