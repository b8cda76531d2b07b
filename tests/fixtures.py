"""Real small files of every accepted format, made in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from openpyxl import Workbook

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def gif() -> bytes:
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
        b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def jpeg() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def bmp() -> bytes:
    pixel_data = b"\x00\x00\xff\x00"
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixel_data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 1, 1, 1, 24, 0, len(pixel_data), 2835, 2835, 0, 0)
    return header + info + pixel_data


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def ooxml(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{kind}/document.xml", "<document/>")
    return buffer.getvalue()


def xlsx() -> bytes:
    workbook = Workbook()
    workbook.active.append(["form", "filled"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def zip_file() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("logs/app.log", "line 1\n")
    return buffer.getvalue()


def rar() -> bytes:
    return b"Rar!\x1a\x07\x01\x00" + b"\x00" * 16


SAMPLES: dict[str, bytes] = {
    "shot.png": png(),
    "anim.gif": gif(),
    "photo.jpg": jpeg(),
    "photo.jpeg": jpeg(),
    "scan.bmp": bmp(),
    "form.doc": OLE2 + b"\x00" * 504,
    "form.docx": ooxml("word"),
    "invoice.pdf": pdf(),
    "sheet.xlsx": xlsx(),
    "old.xls": OLE2 + b"\x00" * 504,
    "notes.txt": "Zusammenfassung: ok ✓\n".encode(),
    "logs.zip": zip_file(),
    "archive.rar": rar(),
}
