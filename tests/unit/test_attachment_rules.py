"""Attachment rules: formats checked on the bytes, sizes, file names."""

from __future__ import annotations

import pytest

from domain.attachments import MAX_BYTES, TooLarge, UnsupportedFormat, check_file, safe_filename
from tests.fixtures import SAMPLES, ooxml, pdf, png


@pytest.mark.parametrize("filename", SAMPLES)
def test_every_accepted_format_with_a_real_file(filename: str) -> None:
    assert check_file(filename, SAMPLES[filename])


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("virus.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 64),
        ("setup.exe", b"MZ\x90\x00"),
        ("shot.png", pdf()),
        ("form.docx", ooxml("xl")),
        ("sheet.xlsx", SAMPLES["form.docx"]),
        ("form.docx", b"PK\x03\x04 but not a zip"),
        ("notes.txt", b"binary\x00inside"),
        ("notes.txt", b"\xff\xfe latin"),
        ("noextension", png()),
        ("shot.PNG.exe", png()),
    ],
)
def test_content_must_match_the_extension(filename: str, content: bytes) -> None:
    with pytest.raises(UnsupportedFormat):
        check_file(filename, content)


def test_upper_case_extensions_are_fine() -> None:
    assert check_file("SHOT.PNG", png()) == "image/png"


def test_the_size_limit_is_8_mib() -> None:
    assert check_file("big.txt", b"a" * MAX_BYTES)
    with pytest.raises(TooLarge):
        check_file("big.txt", b"a" * (MAX_BYTES + 1))


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("bad\x00name\r\n.txt", "badname.txt"),
        ("  spaced .txt ", "spaced .txt"),
        ("", "attachment"),
        ("..", "attachment"),
        ("报告.pdf", "报告.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_sanitised(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe
