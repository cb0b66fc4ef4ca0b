"""Header text: raw 8-bit bytes and RFC 2047 encoded-words, decoded without trusting their charsets."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from kefu.mail.inbound.charsets import decode_bytes
from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.transfer import decode_base64

_ENCODED_WORD_RE: Final = re.compile(r"=\?([^?\s*]{1,40})(?:\*[^?\s]{0,20})?\?([BbQq])\?([^?\s]*)\?=")
_Q_ESCAPE_RE: Final = re.compile(rb"=([0-9A-Fa-f]{2})")
_BAD_Q_RE: Final = re.compile(rb"=(?![0-9A-Fa-f]{2})")
_SPACES_RE: Final = re.compile(r"\s+")
# Control, format (bidi overrides, zero-width), line/paragraph separators, surrogates, private use.
_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co"})


def header_bytes_to_str(value: bytes, hint: str | None) -> tuple[str, list[Problem]]:
    """A raw header value as text: ASCII as is; 8-bit bytes as UTF-8, else the body's charset `hint`,
    else GB18030, else Latin-1 (`raw_8bit_header`).
    """
    if value.isascii():
        return value.decode("ascii"), []
    try:
        return value.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    text, _ = decode_bytes(value, hint)
    return text, [Problem.RAW_8BIT_HEADER]


def decode_words(value: str) -> tuple[str, list[Problem]]:
    """`value` with its RFC 2047 encoded-words decoded.

    Adjacent words of one charset are joined as bytes before decoding (mailers split multi-byte
    characters across words); whitespace between encoded-words is dropped, as the RFC says.
    """
    if "=?" not in value:
        return value, []
    problems: list[Problem] = []
    pieces: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    position = 0

    def flush() -> None:
        nonlocal pending_charset
        if pending:
            text, decode_problems = decode_bytes(b"".join(pending), pending_charset)
            pieces.append(text)
            problems.extend(decode_problems)
            pending.clear()
        pending_charset = None

    for match in _ENCODED_WORD_RE.finditer(value):
        between = value[position : match.start()]
        if between and (not pending or between.strip()):
            flush()
            pieces.append(between)
        charset = match.group(1).lower()
        if pending and charset != pending_charset:
            flush()
        data, word_problems = _decode_word(match.group(2), match.group(3))
        problems.extend(word_problems)
        pending.append(data)
        pending_charset = charset
        position = match.end()
    flush()
    pieces.append(value[position:])
    return "".join(pieces), list(dict.fromkeys(problems))


def _decode_word(encoding: str, payload: str) -> tuple[bytes, list[Problem]]:
    raw = payload.encode("ascii", "replace")
    if encoding in "Bb":
        data, problems = decode_base64(raw, any_junk=True)
        return data, [Problem.BAD_ENCODED_WORD] if problems else []
    problems = [Problem.BAD_ENCODED_WORD] if _BAD_Q_RE.search(raw) else []
    data = _Q_ESCAPE_RE.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"_", b" "))
    return data, problems


def clean_line(text: str, limit: int) -> str:
    """`text` on one line for display: hidden and control characters become spaces, runs of spaces
    one, cut to `limit` characters with "…".
    """
    shown = "".join(" " if unicodedata.category(char) in _HIDDEN_CATEGORIES else char for char in text)
    folded = _SPACES_RE.sub(" ", shown).strip()
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"


def decode_unstructured(value: str, limit: int) -> tuple[str, list[Problem]]:
    """An unstructured header (Subject, a display name, a filename) decoded and cleaned to one line."""
    text, problems = decode_words(value)
    return clean_line(text, limit), problems
