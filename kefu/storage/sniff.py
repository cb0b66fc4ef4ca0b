"""Decide what an upload is from its bytes alone, against a short allowlist."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import puremagic

from kefu.core.errors import UnsupportedMedia


@dataclass(frozen=True)
class SniffedType:
    """An allowed media type with the file extension Kefu gives it."""

    mime: str
    extension: str

    @property
    def is_image(self) -> bool:
        """True for raster images, which are decoded and re-encoded before storage."""
        return self.mime.startswith("image/")


PNG = SniffedType("image/png", ".png")
JPEG = SniffedType("image/jpeg", ".jpg")
GIF = SniffedType("image/gif", ".gif")
WEBP = SniffedType("image/webp", ".webp")
PDF = SniffedType("application/pdf", ".pdf")
TEXT = SniffedType("text/plain", ".txt")
MP4 = SniffedType("video/mp4", ".mp4")
QUICKTIME = SniffedType("video/quicktime", ".mov")

# ISO base media "ftyp" brands of video recordings. puremagic's table misses common ones (mp41,
# avc1) and would also accept HEIC, 3GP and audio-only M4A, so the brand is checked here.
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"MSNV", b"dash"}
)
_QUICKTIME_BRANDS = frozenset({b"qt  "})

# Browsers have sniffed text as HTML when it opens with a tag or carries active tags in its first
# bytes; refusing both keeps a "text" attachment from ever being a page, even behind a proxy that
# drops `nosniff`. Plain text that merely starts with "<" followed by a digit or space still passes.
_LEADING_TAG_RE = re.compile(rb"<(?:[!?]|/?[a-z][a-z0-9:-]*(?:[\s/>]|$))", re.IGNORECASE)
_ACTIVE_TAG_RE = re.compile(
    rb"<\s*(?:!doctype|\?xml|html|head|body|script|iframe|frame|frameset|svg|math|object|embed|"
    rb"applet|meta|link|style|base|form|img)\b",
    re.IGNORECASE,
)
_MARKUP_WINDOW = 1024
# Textual types puremagic can name that must never be accepted as plain text.
_DANGEROUS_MIME_PARTS = ("html", "xml", "svg", "javascript", "ecmascript", "x-sh", "x-php")
# Ordinary text keeps tabs, line breaks, form feeds and ANSI colour escapes (pasted logs).
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")


def _candidates(data: bytes) -> list[puremagic.PureMagicWithConfidence]:
    try:
        return list(puremagic.magic_string(data))
    except (puremagic.PureError, ValueError):
        return []


def _binary_type(data: bytes, mimes: set[str]) -> SniffedType | None:
    # puremagic proposes, a strict check of the signature at offset 0 confirms: a signature found
    # further in (e.g. "%PDF" after an HTML prologue) does not count.
    if "image/png" in mimes and data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if "image/jpeg" in mimes and data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if "image/gif" in mimes and data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if "image/webp" in mimes and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if "application/pdf" in mimes and data.startswith(b"%PDF-"):
        return PDF
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _QUICKTIME_BRANDS:
            return QUICKTIME
        if brand in _MP4_BRANDS:
            return MP4
    return None


def decode_text(data: bytes) -> str | None:
    """The text of `data` if it is UTF-8 or GB18030 without NUL/control bytes, else None."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text):
            return None
        return text
    return None


def _is_markup_or_script(data: bytes, mimes: set[str]) -> bool:
    if any(part in mime for mime in mimes for part in _DANGEROUS_MIME_PARTS):
        return True
    head = data[:_MARKUP_WINDOW]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    head = head.lstrip(b" \t\r\n\f")
    # "#!" opens a script for some interpreter.
    if head.startswith(b"#!") or _LEADING_TAG_RE.match(head):
        return True
    return _ACTIVE_TAG_RE.search(head) is not None


def sniff(data: bytes) -> SniffedType:
    """The allowed type of `data` judged from its content; UnsupportedMedia for anything else."""
    candidates = _candidates(data)
    mimes = {c.mime_type for c in candidates if c.mime_type}
    found = _binary_type(data, mimes)
    if found is not None:
        return found
    if b"\x00" not in data and not _is_markup_or_script(data, mimes) and decode_text(data) is not None:
        return TEXT
    described = candidates[0].mime_type if candidates and candidates[0].mime_type else "unknown"
    raise UnsupportedMedia(
        f"unsupported file type ({described}); allowed: images (PNG, JPEG, GIF, WebP), PDF, "
        "plain text, MP4 and QuickTime videos"
    )
