"""Content-Type and Content-Disposition values: the main token and its parameters, RFC 2231
continuations and charsets included, with the encoded-word filenames real clients send.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote_to_bytes

from kefu.mail.inbound.charsets import decode_bytes
from kefu.mail.inbound.encoded_words import decode_words
from kefu.mail.inbound.limits import Problem

MAX_PARAMS: Final = 50
MAX_SECTIONS: Final = 100
_TYPE_RE: Final = re.compile(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,127}")
_SECTION_RE: Final = re.compile(r"([^*]+)\*([0-9]{1,3})(\*?)|([^*]+)(\*)")


def _split_params(value: str) -> list[str]:
    """Split on ";" outside quoted strings (a quoted filename may contain ";")."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and quoted:
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            if len(pieces) > MAX_PARAMS:
                return pieces
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value.strip('"')


def parse_header_params(value: str) -> tuple[str, dict[str, str], list[Problem]]:
    """The lower-case main token (e.g. "text/plain", "attachment") and the parameters of `value`.

    Names are lower-case; the first of duplicate parameters wins; RFC 2231 sections are joined and
    decoded; values still holding RFC 2047 encoded-words are decoded too.
    """
    pieces = _split_params(value)
    main = pieces[0].strip().strip('"').lower()
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    problems: list[Problem] = []
    for piece in pieces[1:MAX_PARAMS]:
        name, sep, raw_value = piece.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        section = _SECTION_RE.fullmatch(name)
        if section is None:
            plain.setdefault(name, _unquote(raw_value))
            continue
        if section.group(4) is not None:
            base, index, encoded = section.group(4), 0, True
        else:
            base, index, encoded = section.group(1), int(section.group(2)), bool(section.group(3))
        if index < MAX_SECTIONS:
            extended.setdefault(base, {}).setdefault(index, (_unquote(raw_value), encoded))
    params: dict[str, str] = {}
    for base, sections in extended.items():
        params[base], section_problems = _join_sections(sections)
        problems.extend(section_problems)
    for name, raw in plain.items():
        if name not in params:
            params[name], word_problems = decode_words(raw)
            problems.extend(word_problems)
    return main, params, problems


def _join_sections(sections: dict[int, tuple[str, bool]]) -> tuple[str, list[Problem]]:
    charset: str | None = None
    data: list[bytes] = []
    # The charset'language' prefix sits on the first section present (0 unless a sender skipped it).
    first = min(sections)
    for index in sorted(sections):
        text, encoded = sections[index]
        if encoded:
            if index == first:
                parts = text.split("'", 2)
                if len(parts) == 3:
                    charset, text = parts[0] or None, parts[2]
            data.append(unquote_to_bytes(text))
        else:
            data.append(text.encode("utf-8", "surrogateescape"))
    decoded, problems = decode_bytes(b"".join(data), charset or "utf-8")
    return decoded, problems


def content_type(value: str | None, default: str) -> tuple[str, dict[str, str], list[Problem]]:
    """A Content-Type: `default` when missing; `default` and `bad_content_type` when malformed."""
    if value is None or not value.strip():
        return default, {}, []
    main, params, problems = parse_header_params(value)
    if not _TYPE_RE.fullmatch(main):
        # "text" alone or junk: RFC 2045 says treat it as text/plain; keep the charset.
        return "text/plain", params, [*problems, Problem.BAD_CONTENT_TYPE]
    return main, params, problems
