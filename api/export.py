"""Ticket exports (CSV and XLSX), safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
taken for a formula by spreadsheet programs (CSV injection), so it is prefixed with ``'``.
Characters a workbook cannot hold (control characters but tab, line feed and carriage return,
found only in text older than the text rules) are replaced by U+FFFD.
"""

from __future__ import annotations

import csv
import io
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
_SPOOL_LIMIT = 8 * 1024 * 1024


def safe_cell(value: Any) -> Any:
    """A cell value no spreadsheet will evaluate, and every format can hold."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        value = UNSTORABLE.sub(REPLACEMENT, value)
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    return "" if value is None else value


def export_row(summary: dict[str, Any]) -> list[Any]:
    """One ticket summary as a row of COLUMNS."""
    assignee = summary["assignee"] or {}
    flat = {
        **summary,
        "submitter_id": summary["submitter"]["account_id"],
        "submitter_name": summary["submitter"]["name"],
        "assignee_id": assignee.get("account_id"),
        "assignee_name": assignee.get("name"),
    }
    return [safe_cell(flat[column]) for column in COLUMNS]


def csv_chunks(summaries: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The CSV text, header first, one chunk per row (streamed as it is read)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for summary in summaries:
        writer.writerow(export_row(summary))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(summaries: Iterable[dict[str, Any]]) -> IO[bytes]:
    """The XLSX workbook in a spooled temporary file, rewound (a ZIP cannot be streamed)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Tickets")
    sheet.append(list(COLUMNS))
    for summary in summaries:
        sheet.append(export_row(summary))
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_LIMIT)  # noqa: SIM115 - returned open
    workbook.save(spool)
    spool.seek(0)
    return spool
