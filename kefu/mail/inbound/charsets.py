"""Decode mail bytes whatever charset they claim: Chinese mail is routinely mislabelled.

Labels are mapped to the superset codecs real clients use (GB2312/GBK → GB18030, Big5 → Big5-HKSCS,
Shift_JIS → CP932, KS C 5601 → CP949). Only real text charsets are accepted: Python also registers
codecs such as "punycode" or "unicode_escape" that no mail uses and that cost quadratic time.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from kefu.mail.inbound.limits import Problem

_SUPERSETS: Final = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "euccn": "gb18030",
    "x-euc-cn": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "gb18030-2000": "gb18030",
    "gb18030-2005": "gb18030",
    "big5": "big5hkscs",
    "big-5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "csshiftjis": "cp932",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "ks_c_5601": "cp949",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "utf8mb4": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-8-i": "iso8859-8",
    # What browsers do: "Latin-1" mail from Windows clients uses the C1 range for curly quotes.
    "iso8859-1": "cp1252",
}
# Labels that say "I do not know"; treated as if no charset had been given.
_UNKNOWN_LABELS: Final = frozenset(
    {"unknown-8bit", "unknown", "x-unknown", "default", "8bit", "x-user-defined"}
)
# Python codec names (as codecs.lookup spells them) that are real mail charsets.
_ALLOWED_PREFIXES: Final = (
    "utf-",
    "iso8859-",
    "cp",
    "mac-",
    "koi8-",
    "euc_",
    "iso2022_",
    "shift_jis",
    "big5",
    "gb",
)
_ALLOWED_NAMES: Final = frozenset({"ascii", "hz", "johab", "tis-620", "ptcp154", "kz1048", "latin-1"})
# Tried when a strict decode with the declared codec fails, before the generic chain.
_RELATIVES: Final = {
    "big5hkscs": ("cp950",),
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    "euc_jp": ("euc_jis_2004",),
}
# Codecs whose bytes are not a superset of ASCII, so "all ASCII" does not mean "plain ASCII text".
_NOT_ASCII_SAFE_PREFIXES: Final = ("utf-7", "utf-16", "utf-32", "iso2022_", "hz")
_SINGLE_BYTE_PREFIXES: Final = ("iso8859-", "cp125", "koi8-", "mac-", "ascii", "tis-620", "cp874")
_LABEL_RE: Final = re.compile(r"[a-z0-9][a-z0-9_.:+-]{0,39}")
# Share of replacement characters a declared-codec decode may produce before it is judged wrong.
_MAX_REPLACEMENT_RATIO: Final = 0.01
# C0 controls but tab and newline, DEL, and lone surrogates (UTF-7 can produce them; nh3 refuses them).
_UNSAFE_CHARS_RE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def codec_for(label: str | None) -> str | None:
    """The Python codec name for a declared charset `label`, or None when absent, unknown or unsafe."""
    if not label:
        return None
    cleaned = label.strip().strip("\"'").strip().lower()
    if not _LABEL_RE.fullmatch(cleaned) or cleaned in _UNKNOWN_LABELS:
        return None
    cleaned = _SUPERSETS.get(cleaned, cleaned)
    try:
        name = codecs.lookup(cleaned).name
    except LookupError:
        return None
    if name in _ALLOWED_NAMES or name.startswith(_ALLOWED_PREFIXES):
        return _SUPERSETS.get(name, name)
    return None


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def _is_ascii_safe(codec: str) -> bool:
    return not codec.startswith(_NOT_ASCII_SAFE_PREFIXES)


def decode_bytes(data: bytes, label: str | None) -> tuple[str, list[Problem]]:
    """`data` as text, trying the declared charset, then UTF-8, then GB18030, then Latin-1.

    Never raises. Problems say what went wrong: an unknown or wrong label (`bad_charset`), 8-bit bytes
    with no label (`missing_charset`), or a Latin label on what is really UTF-8 (`mislabeled_charset`).
    """
    codec = codec_for(label)
    if data.isascii() and (codec is None or _is_ascii_safe(codec)):
        return data.decode("ascii"), []
    problems: list[Problem] = []
    if codec is None:
        problems.append(Problem.BAD_CHARSET if label and label.strip() else Problem.MISSING_CHARSET)
        return _fallback_chain(data), problems
    if codec != "utf-8" and not data.isascii():
        # Text in another charset is almost never valid UTF-8, so valid UTF-8 means a mislabel.
        # A double-byte charset can form a short valid sequence by chance: ask for two characters.
        as_utf8 = _try(data, "utf-8")
        minimum = 1 if codec.startswith(_SINGLE_BYTE_PREFIXES) else 2
        if as_utf8 is not None and sum(not char.isascii() for char in as_utf8) >= minimum:
            return as_utf8, [Problem.MISLABELED_CHARSET]
    text = _try(data, codec)
    if text is not None:
        return text, problems
    for relative in _RELATIVES.get(codec, ()):
        text = _try(data, relative)
        if text is not None:
            return text, problems
    problems.append(Problem.BAD_CHARSET)
    text = _try(data, "utf-8")
    if text is not None:
        return text, problems
    # A few corrupt bytes in otherwise good text: keep the declared reading with replacement marks.
    lenient = data.decode(codec, errors="replace")
    if lenient.count("\ufffd") <= max(1, int(len(lenient) * _MAX_REPLACEMENT_RATIO)):
        return lenient, problems
    return _fallback_chain(data), problems


def _fallback_chain(data: bytes) -> str:
    for codec in ("utf-8", "gb18030"):
        text = _try(data, codec)
        if text is not None:
            return text
    return data.decode("latin-1")


def scrub_text(text: str) -> tuple[str, list[Problem]]:
    """Decoded text without NUL and other control characters (tab and newline stay) or lone
    surrogates, so it is safe to store, index and hand to the HTML sanitiser.
    """
    problems = [Problem.NUL_BYTES] if "\x00" in text else []
    if _UNSAFE_CHARS_RE.search(text) is None:
        return text, problems
    return _UNSAFE_CHARS_RE.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", text), problems
