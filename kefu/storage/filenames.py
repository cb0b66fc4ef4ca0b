"""Make client-supplied file names harmless to store, display and put in a header."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_FILENAME_CHARS = 120
FALLBACK_NAME = "file"

# Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned code points:
# invisible or reorderable characters that make "evil‮gnp.exe" look like "evilexe.png".
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Real separators plus look-alikes that would make a name display as a path.
_SEPARATORS_RE = re.compile(r"[/\\\u2044\u2215\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c]")
# Characters Windows refuses in names, and ":" which also opens NTFS alternate data streams.
_RESERVED_RE = re.compile(r'[<>:"|?*]')
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_SPACES_RE = re.compile(r"\s+")
_EXTENSION_RE = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
)
_ASCII_UNSAFE_RE = re.compile(r"[^A-Za-z0-9 ._()\[\]+,=@-]")


def _split_extension(name: str) -> tuple[str, str]:
    match = _EXTENSION_RE.search(name)
    if match is None or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group()


def _cap(name: str) -> str:
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    stem, extension = _split_extension(name)
    return stem[: MAX_FILENAME_CHARS - len(extension)].rstrip(" .") + extension


def sanitize_filename(name: str) -> str:
    """A display-safe base name: no directories, controls, bidi tricks or leading dots; never empty."""
    name = unicodedata.normalize("NFC", name)
    # Only the last path component counts, whichever OS the client used.
    name = _SEPARATORS_RE.split(name)[-1]
    name = _DRIVE_RE.sub("", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = _RESERVED_RE.sub("_", name)
    # Dropping invisible characters can bring composable pairs together.
    name = unicodedata.normalize("NFC", _SPACES_RE.sub(" ", name))
    # Leading dots hide files and spell "..", trailing dots and spaces are dropped by Windows.
    name = name.lstrip(". ").rstrip(". ")
    if name.split(".", 1)[0].lower().rstrip(" ") in _WINDOWS_DEVICES:
        name = "_" + name
    name = _cap(name)
    return name or FALLBACK_NAME


def replace_extension(name: str, extension: str) -> str:
    """`name` (already sanitized) with its extension replaced by `extension`, e.g. ".png"."""
    stem, _ = _split_extension(name)
    stem = stem.rstrip(" .") or FALLBACK_NAME
    return _cap(stem + extension)


def _ascii_fallback(name: str) -> str:
    stem, extension = _split_extension(name)
    decomposed = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = _ASCII_UNSAFE_RE.sub("_", decomposed).strip(" .")
    if not any(ch.isalnum() for ch in ascii_stem):
        # A wholly non-Latin name ("提现截图.png") keeps just its extension.
        ascii_stem = FALLBACK_NAME
    return ascii_stem + extension


def content_disposition(filename: str) -> str:
    """An RFC 6266 `attachment` header value with an ASCII fallback and an RFC 5987 UTF-8 name."""
    name = sanitize_filename(filename)
    encoded = quote(name, safe="")
    return f"attachment; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
