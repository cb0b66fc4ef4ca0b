"""File names from clients: sanitized for storage and display, safe in a header."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.storage.filenames import (
    MAX_FILENAME_CHARS,
    content_disposition,
    replace_extension,
    sanitize_filename,
)

HOSTILE_PIECES = [
    "../",
    "..\\",
    "/",
    "\\",
    "C:",
    "\x00",
    "\r\n",
    "\t",
    "\u202e",
    "\u2066",
    "\u200b",
    "\ufeff",
    ".",
    " ",
    "／",
    "\ud800",
    "\x85",
    "提现截图",
    "é",
    "e\u0301",
    '"',
    "%0d%0a",
    ";",
    "CON",
    ".png",
]
names = st.text() | st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=5), max_size=30).map("".join)
DISPOSITION_RE = re.compile(
    r"attachment; filename=\"[A-Za-z0-9 ._()\[\]+,=@-]+\"; filename\*=UTF-8''[A-Za-z0-9%._~-]+"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/etc/shadow", "shadow"),
        ("C:\\boot.ini", "boot.ini"),
        ("C:evil.txt", "evil.txt"),
        ("..／..／secret.png", "secret.png"),
        ("photo.png\x00.exe", "photo.png.exe"),
        (".htaccess", "htaccess"),
        ("...hidden", "hidden"),
        ("evil\u202egnp.exe", "evilgnp.exe"),
        ("inv\u2066oice\u2069.pdf", "invoice.pdf"),
        ("a\r\nSet-Cookie: x.txt", "aSet-Cookie_ x.txt"),
        ("提现截图 2024.png", "提现截图 2024.png"),
        ("e\u0301te\u0301.txt", "été.txt"),
        ("  many   spaces  .txt", "many spaces .txt"),
        ('what"is<this>?.txt', "what_is_this__.txt"),
        ("trailing dots...", "trailing dots"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("", "file"),
        (".", "file"),
        ("..", "file"),
        ("../", "file"),
        ("\u202e\u200b", "file"),
    ],
)
def test_sanitize_filename(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_names_are_capped_keeping_the_extension() -> None:
    name = sanitize_filename("提" * 300 + ".jpeg")
    assert len(name) == MAX_FILENAME_CHARS
    assert name.endswith(".jpeg")
    assert sanitize_filename("x" * 500) == "x" * MAX_FILENAME_CHARS


@pytest.mark.parametrize(
    ("name", "extension", "expected"),
    [
        ("photo.exe", ".png", "photo.png"),
        ("report", ".pdf", "report.pdf"),
        ("v1.2 release notes", ".txt", "v1.2 release notes.txt"),
        ("archive.tar.gz", ".txt", "archive.tar.txt"),
        ("file", ".mov", "file.mov"),
        ("x" * 200 + ".exe", ".png", "x" * 116 + ".png"),
    ],
)
def test_replace_extension(name: str, extension: str, expected: str) -> None:
    assert replace_extension(sanitize_filename(name), extension) == expected


@pytest.mark.parametrize(
    ("raw", "fallback", "encoded"),
    [
        ("提现截图.png", "file.png", "%E6%8F%90%E7%8E%B0%E6%88%AA%E5%9B%BE.png"),
        ("résumé.pdf", "resume.pdf", "re%CC%81sume%CC%81.pdf".replace("e%CC%81", "%C3%A9")),
        ('a"b\\c.txt', "c.txt", "c.txt"),
        ("100% real.txt", "100_ real.txt", "100%25%20real.txt"),
    ],
)
def test_content_disposition(raw: str, fallback: str, encoded: str) -> None:
    assert content_disposition(raw) == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def test_content_disposition_header_injection() -> None:
    header = content_disposition('x.txt"\r\nSet-Cookie: session=evil; filename="y.html')
    assert "\r" not in header
    assert "\n" not in header
    assert DISPOSITION_RE.fullmatch(header)


@given(names)
def test_sanitize_filename_is_always_safe(raw: str) -> None:
    name = sanitize_filename(raw)
    assert 0 < len(name) <= MAX_FILENAME_CHARS
    assert "/" not in name
    assert "\\" not in name
    assert not name.startswith(".")
    assert name != ".."
    assert all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"} for ch in name)
    assert unicodedata.is_normalized("NFC", name)
    assert sanitize_filename(name) == name


@given(names)
def test_content_disposition_is_always_one_safe_header(raw: str) -> None:
    header = content_disposition(raw)
    assert "\r" not in header
    assert "\n" not in header
    assert header.isascii()
    assert DISPOSITION_RE.fullmatch(header)
    assert unquote(header.split("UTF-8''", 1)[1]) == sanitize_filename(raw)
