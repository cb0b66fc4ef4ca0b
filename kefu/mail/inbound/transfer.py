"""Content-Transfer-Encoding decoders that accept what real mailers send: bad padding, stray bytes,
broken soft breaks, uuencode. Each returns the bytes it could recover and the defects it met.
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from kefu.mail.inbound.limits import Problem

_B64_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_NOT_B64: Final = bytes(set(range(256)) - set(_B64_ALPHABET))
_LINE_BREAKS: Final = b"\r\n"
_B64_CHUNK_RE: Final = re.compile(rb"[A-Za-z0-9+/]+=*")
# More stray characters than this share and the part was never base64 (a mislabelled text part).
_MAX_B64_JUNK_RATIO: Final = 0.1
# "=" not starting "=XX" or a soft line break.
_BAD_QP_RE: Final = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*(?:\n|$))")
_UU_BEGIN_RE: Final = re.compile(rb"^begin +[0-7]{3,4} +([^\n]{1,255})\n", re.MULTILINE)
_UU_END_RE: Final = re.compile(rb"^end[ \t]*$", re.MULTILINE)
MAX_UU_BLOCKS: Final = 50

IDENTITY: Final = frozenset({"", "7bit", "8bit", "binary", "7-bit", "8-bit", "none"})


def transfer_kind(value: str) -> tuple[str, list[Problem]]:
    """The decoder to use for a Content-Transfer-Encoding value: "base64", "qp", "uu" or "identity"."""
    cte = value.strip().strip("\"'").lower()
    if cte in IDENTITY:
        return "identity", []
    if cte == "base64":
        return "base64", []
    if cte == "quoted-printable":
        return "qp", []
    if cte in {"x-uuencode", "uuencode", "x-uue", "uue"}:
        return "uu", []
    # Sloppy spellings seen in the wild ("base-64", "Quoted_Printable").
    squashed = re.sub(r"[^a-z0-9]", "", cte)
    if squashed in {"base64", "b64"}:
        return "base64", [Problem.UNKNOWN_TRANSFER_ENCODING]
    if squashed.startswith("quotedprint"):
        return "qp", [Problem.UNKNOWN_TRANSFER_ENCODING]
    return "identity", [Problem.UNKNOWN_TRANSFER_ENCODING]


def decoded_size_estimate(body: bytes, kind: str) -> int:
    """An upper bound of the decoded size, so oversized parts are refused before decoding."""
    return len(body) * 3 // 4 + 3 if kind == "base64" else len(body)


def decode_transfer(body: bytes, kind: str) -> tuple[bytes, list[Problem]]:
    """Decode `body` with the decoder named by `transfer_kind`; never raises."""
    if kind == "base64":
        return decode_base64(body)
    if kind == "qp":
        return decode_quoted_printable(body)
    if kind == "uu":
        data, problems = decode_uu_lines(body.split(b"\n"))
        return data, problems
    return body, []


def decode_base64(body: bytes, *, any_junk: bool = False) -> tuple[bytes, list[Problem]]:
    """Base64 that tolerates stray characters, missing or inner padding and a truncated tail.

    A body that is mostly not base64 at all is returned as is (`wrong_transfer_encoding`), unless
    `any_junk` (an encoded-word is short: a few stray characters are a large share of it).
    """
    # Blanks inside lines count as junk: real base64 has none, prose labelled base64 is full of them.
    stripped = body.translate(None, _LINE_BREAKS)
    cleaned = stripped.translate(None, _NOT_B64)
    problems: list[Problem] = []
    junk = len(stripped) - len(cleaned)
    if junk:
        if not any_junk and junk > len(stripped) * _MAX_B64_JUNK_RATIO:
            return body, [Problem.WRONG_TRANSFER_ENCODING]
        problems.append(Problem.BAD_BASE64)
    core = cleaned.rstrip(b"=")
    # Usually one chunk; several when parts were encoded separately and concatenated.
    chunks = [core] if b"=" not in core else _B64_CHUNK_RE.findall(cleaned)
    out: list[bytes] = []
    for chunk in chunks:
        data = chunk.rstrip(b"=")
        remainder = len(data) % 4
        if remainder == 1:
            data = data[:-1]
            problems.append(Problem.TRUNCATED_BASE64)
        elif remainder and chunk is core and not cleaned.endswith(b"="):
            problems.append(Problem.TRUNCATED_BASE64)
        data += b"=" * (-len(data) % 4)
        try:
            out.append(binascii.a2b_base64(data))
        except (binascii.Error, ValueError):
            problems.append(Problem.BAD_BASE64)
    return b"".join(out), _unique(problems)


def decode_quoted_printable(body: bytes) -> tuple[bytes, list[Problem]]:
    """Quoted-printable; malformed "=" sequences are kept literally (`bad_quoted_printable`)."""
    problems = [Problem.BAD_QUOTED_PRINTABLE] if _BAD_QP_RE.search(body) else []
    try:
        return binascii.a2b_qp(body), problems
    except (binascii.Error, ValueError):
        return body, [Problem.BAD_QUOTED_PRINTABLE]


def decode_uu_lines(lines: list[bytes]) -> tuple[bytes, list[Problem]]:
    """The data lines of a uuencoded block (with or without its begin/end lines)."""
    out: list[bytes] = []
    problems: list[Problem] = []
    for raw_line in lines:
        line = raw_line.rstrip(b"\r\n")
        if not line or line.startswith(b"begin ") or line.strip() in (b"end", b"`"):
            continue
        try:
            out.append(binascii.a2b_uu(line))
        except (binascii.Error, ValueError):
            # Some encoders strip trailing spaces or pad oddly: trust the length byte instead.
            length = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.append(binascii.a2b_uu(line[:length].ljust(length, b" ")))
            except (binascii.Error, ValueError):
                problems.append(Problem.BAD_UUENCODE)
    return b"".join(out), _unique(problems)


def extract_uuencoded(body: bytes) -> tuple[bytes, list[tuple[str, bytes]], list[Problem]]:
    """Split uuencoded files ("begin 644 name" … "end") out of a text body.

    Returns the body without those blocks, the (raw name, data) of each file and the problems met.
    """
    if b"begin " not in body:
        return body, [], []
    files: list[tuple[str, bytes]] = []
    problems: list[Problem] = []
    kept: list[bytes] = []
    position = 0
    for _ in range(MAX_UU_BLOCKS):
        begin = _UU_BEGIN_RE.search(body, position)
        if begin is None:
            break
        end = _UU_END_RE.search(body, begin.end())
        stop = end.start() if end else len(body)
        if end is None:
            problems.append(Problem.BAD_UUENCODE)
        data, decode_problems = decode_uu_lines(body[begin.end() : stop].split(b"\n"))
        problems.extend(decode_problems)
        files.append((begin.group(1).decode("utf-8", "replace").strip(), data))
        kept.append(body[position : begin.start()])
        position = end.end() if end else len(body)
    if not files:
        return body, [], []
    kept.append(body[position:])
    return b"".join(kept), files, [Problem.UUENCODE, *_unique(problems)]


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
