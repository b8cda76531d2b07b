"""What an attachment may be (CONTRACT.md §2.4): its extension, its size, and bytes that
really are what the extension says, checked on the content, never trusted from the name
or the client's content type.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import PurePosixPath, PureWindowsPath

MAX_BYTES = 8 * 1024 * 1024
MAX_FILES = 5
FILENAME_MAX = 200

CONTENT_TYPES: dict[str, str] = {
    "png": "image/png",
    "gif": "image/gif",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "bmp": "image/bmp",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "txt": "text/plain",
    "zip": "application/zip",
    "rar": "application/vnd.rar",
}
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnsupportedFormat(Exception):
    """The extension is not accepted, or the bytes are not what it says (415)."""


class TooLarge(Exception):
    """A file over 8 MiB (413)."""


def _starts(*magics: bytes) -> Callable[[bytes], bool]:
    return lambda content: content.startswith(magics)


def _ooxml(part: str) -> Callable[[bytes], bool]:
    """A ZIP with ``[Content_Types].xml`` and the document part of this kind."""

    def check(content: bytes) -> bool:
        if not content.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return "[Content_Types].xml" in names and any(n.startswith(part) for n in names)

    return check


def _text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "png": _starts(b"\x89PNG\r\n\x1a\n"),
    "gif": _starts(b"GIF87a", b"GIF89a"),
    "jpg": _starts(b"\xff\xd8\xff"),
    "jpeg": _starts(b"\xff\xd8\xff"),
    "bmp": lambda content: content.startswith(b"BM") and len(content) >= 26,
    "doc": _starts(OLE2),
    "xls": _starts(OLE2),
    "docx": _ooxml("word/"),
    "xlsx": _ooxml("xl/"),
    "pdf": _starts(b"%PDF-"),
    "txt": _text,
    "zip": _starts(b"PK\x03\x04", b"PK\x05\x06"),
    "rar": _starts(b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00"),
}


def safe_filename(raw: str) -> str:
    """The name without any directory part or control characters, at most 200 characters."""
    name = PureWindowsPath(PurePosixPath(raw).name).name  # strips "/" and "\\" paths alike
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(name) > FILENAME_MAX:
        stem, dot, extension = name.rpartition(".")
        name = (
            (stem[: FILENAME_MAX - len(extension) - 1] + dot + extension)
            if dot
            else name[:FILENAME_MAX]
        )
    return name or "attachment"


def extension_of(filename: str) -> str:
    """The lower-case extension, without the dot."""
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def check_file(filename: str, content: bytes) -> str:
    """The content type of an acceptable file; raises TooLarge or UnsupportedFormat."""
    if len(content) > MAX_BYTES:
        raise TooLarge(f"{filename} is over {MAX_BYTES:,} bytes")
    extension = extension_of(filename)
    if extension not in CONTENT_TYPES:
        accepted = ", ".join(f".{e}" for e in CONTENT_TYPES)
        raise UnsupportedFormat(f"{filename}: accepted formats are {accepted}")
    if not SIGNATURES[extension](content):
        raise UnsupportedFormat(f"{filename}: the content is not a .{extension} file")
    return CONTENT_TYPES[extension]
