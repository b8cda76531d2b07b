"""Ticket exports (CSV and XLSX), safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
taken for a formula by spreadsheet programs (CSV injection), so it is prefixed with ``'``; so is
every such start after a ``,``, ``;`` or tab inside a cell, because a spreadsheet that splits
on another separator than the file's would make it a cell of its own (OWASP's CSV injection
guidance). Every CSV field is quoted.
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
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from openpyxl import Workbook

from domain.content import REPLACEMENT, UNSTORABLE

COLUMNS = (
    "number", "id", "workspace_id", "type", "title", "status", "queue_state",
    "submitter_id", "submitter_name", "assignee_id", "assignee_name", "submitted_at", "updated_at",
)  # fmt: skip
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FRAGMENT_FORMULA = re.compile(r"([,;\t])(?=[=+\-@\t\r])")
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
            value = _FRAGMENT_FORMULA.sub(r"\1'", value)
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    return "" if value is None else value


def export_row(summary: dict[str, Any], *, split: bool = False) -> list[Any]:
    """One ticket summary as a row of COLUMNS."""
    assignee = summary["assignee"] or {}
    flat = {
        **summary,
        "submitter_id": summary["submitter"]["account_id"],
        "submitter_name": summary["submitter"]["name"],
        "assignee_id": assignee.get("account_id"),
        "assignee_name": assignee.get("name"),
    }
    return [safe_cell(flat[column], split=split) for column in COLUMNS]


def csv_chunks(summaries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The CSV text, header first, one chunk per row (streamed as it is read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for summary in summaries:
        writer.writerow(export_row(summary, split=True))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def ooxml_text(value: Any) -> Any:
    """A cell value with OOXML's escapes, so that a workbook holds the text exactly."""
    if not isinstance(value, str):
        return value
    return _OOXML_ESCAPED.sub(lambda m: "_x005F_" if m.group() == "_" else "_x000D_", value)


def xlsx_file(summaries: Iterable[dict[str, Any]]) -> IO[bytes]:
    """The XLSX workbook in a spooled temporary file, rewound (a ZIP cannot be streamed)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Tickets")
    sheet.append(list(COLUMNS))
    for summary in summaries:
        sheet.append([ooxml_text(cell) for cell in export_row(summary)])
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT)  # noqa: SIM115 - returned open
    workbook.save(spool)
    spool.seek(0)
    return spool
