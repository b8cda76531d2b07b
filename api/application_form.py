"""The Change Owner Account application form: a real .docx, built here, to fill in and seal."""

from __future__ import annotations

import io
import zipfile
from functools import cache
from xml.sax.saxutils import escape

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

TITLE = "Application for Changing the Owner Account of a Workspace"
LINES = (
    "Please fill in every field, print the form, sign it, affix the company seal, and attach a",
    "scan or photo of it (.pdf, .png, .jpg or .docx) to a Change Owner Account ticket.",
    "Incomplete applications are not processed.",
    "",
    "Company name: ______________________________________________",
    "Workspace name and ID: ______________________________________",
    "Current owner account (e-mail): ______________________________",
    "New owner account (e-mail): __________________________________",
    "New owner's name and position: _______________________________",
    "Reason for the change: ______________________________________",
    "",
    "Applicant's name and signature: ______________________________",
    "Date: ____________________",
    "",
    "Company seal:",
)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def _paragraph(text: str, *, bold: bool = False) -> str:
    properties = '<w:rPr><w:b/><w:sz w:val="32"/></w:rPr>' if bold else ""
    return f'<w:p><w:r>{properties}<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


@cache
def application_form_docx() -> bytes:
    """The form as .docx bytes (the same every time)."""
    body = _paragraph(TITLE, bold=True) + "".join(_paragraph(line) for line in LINES)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _RELATIONSHIPS),
            ("word/document.xml", document),
        ):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
