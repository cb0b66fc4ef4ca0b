"""Address lists parsed strictly, in linear time, refusing anything two readers could disagree on.

CVE-2023-27043 showed `email.utils.parseaddr` taking `alice@example.org)<bob@example.org>` for
alice; the stdlib header registry still accepts `"a@b.com"@evil.com` and is quadratic on long
lists. Kefu matches senders to customers by address, so an address is accepted only when its
reading is unique: one angle address, no "@" in a bare phrase, no "@" in a quoted local part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from kefu.mail.inbound.encoded_words import clean_line, decode_words
from kefu.mail.inbound.limits import Problem

MAX_LIST_CHARS: Final = 16 * 1024
MAX_ADDRESSES: Final = 100
MAX_NAME_CHARS: Final = 128
MAX_COMMENT_DEPTH: Final = 20
_ATOM_ENDS: Final = frozenset('"(<>,:;') | frozenset(" \t\n")
_LOCAL_RE: Final = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_QUOTED_UNSAFE: Final = frozenset('@,<>:;()[]\\" ')


@dataclass(frozen=True)
class Mailbox:
    """One mailbox of an address list: its decoded display name and its address if unambiguous."""

    name: str
    address: str | None
    ambiguous: bool


@dataclass
class _Pending:
    phrase: list[tuple[str, str]] = field(default_factory=list)  # ("atom"|"quoted"|"space", text)
    comments: list[str] = field(default_factory=list)
    angle: str | None = None
    angles: int = 0

    def is_empty(self) -> bool:
        return self.angle is None and all(kind == "space" for kind, _ in self.phrase)


def _scan_quoted(value: str, start: int) -> tuple[str, int]:
    """The text of the quoted string opening at `start` and the index after it."""
    out: list[str] = []
    index = start + 1
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            out.append(value[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(out), index + 1
        out.append(char)
        index += 1
    return "".join(out), index


def _scan_comment(value: str, start: int) -> tuple[str, int]:
    depth = 0
    index = start
    while index < len(value):
        char = value[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return value[start + 1 : index], index + 1
        index += 1
    return value[start + 1 :], len(value)


def parse_address_list(value: str) -> tuple[list[Mailbox], list[Problem]]:
    """Every mailbox of an address header (groups flattened, group names dropped); never raises."""
    problems: list[Problem] = []
    if len(value) > MAX_LIST_CHARS:
        value = value[:MAX_LIST_CHARS]
        problems.append(Problem.BAD_ADDRESS)
    mailboxes: list[Mailbox] = []
    current = _Pending()
    index = 0
    while index < len(value) and len(mailboxes) < MAX_ADDRESSES:
        char = value[index]
        if char == '"':
            text, index = _scan_quoted(value, index)
            current.phrase.append(("quoted", text))
        elif char == "(":
            text, index = _scan_comment(value, index)
            current.comments.append(text)
        elif char == "<":
            close = value.find(">", index + 1)
            close = len(value) if close < 0 else close
            current.angle = value[index + 1 : close]
            current.angles += 1
            index = close + 1
        elif char in ",;":
            _finish(current, mailboxes)
            current = _Pending()
            index += 1
        elif char == ":" and current.angle is None and not _has_at(current):
            # "Group name:" — the name is not an address; the members follow.
            current = _Pending()
            index += 1
        elif char in " \t\n":
            current.phrase.append(("space", " "))
            index += 1
        else:
            end = index + 1
            while end < len(value) and value[end] not in _ATOM_ENDS:
                end += 1
            current.phrase.append(("atom", value[index:end]))
            index = end
    _finish(current, mailboxes)
    if any(mailbox.address is None for mailbox in mailboxes):
        problems.append(Problem.BAD_ADDRESS)
    return mailboxes[:MAX_ADDRESSES], problems


def _has_at(pending: _Pending) -> bool:
    return any(kind != "space" and "@" in text for kind, text in pending.phrase)


def _finish(pending: _Pending, mailboxes: list[Mailbox]) -> None:
    if pending.is_empty():
        return
    words = [text for kind, text in pending.phrase if kind != "space"]
    if pending.angle is not None:
        # A bare phrase holding "@" next to an angle address is the CVE-2023-27043 shape.
        ambiguous = pending.angles > 1 or any(kind == "atom" and "@" in text for kind, text in pending.phrase)
        phrase = "".join(text for _, text in pending.phrase)
        name = phrase.strip() or (pending.comments[0] if pending.comments else "")
        address, bad_spec = normalize_addr_spec(_strip_route(pending.angle))
    else:
        ambiguous = False
        name = pending.comments[0] if pending.comments else ""
        spaced = len(words) > 1 and any(kind == "space" for kind, _ in _inner(pending.phrase))
        if spaced:
            address, bad_spec = None, any("@" in word for word in words)
        else:
            spec = "".join(
                f'"{text}"' if kind == "quoted" else text for kind, text in pending.phrase if kind != "space"
            )
            address, bad_spec = normalize_addr_spec(spec)
    decoded, _ = decode_words(name)
    mailboxes.append(
        Mailbox(
            name=clean_line(decoded, MAX_NAME_CHARS),
            address=None if ambiguous else address,
            ambiguous=ambiguous or bad_spec,
        )
    )


def _inner(phrase: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`phrase` without its leading and trailing blanks."""
    kinds = [kind for kind, _ in phrase]
    first = next((i for i, kind in enumerate(kinds) if kind != "space"), len(kinds))
    last = len(kinds) - next((i for i, kind in enumerate(reversed(kinds)) if kind != "space"), len(kinds))
    return phrase[first:last]


def _strip_route(spec: str) -> str:
    # Obsolete source routes: <@relay.example,@other.example:user@example.com>.
    spec = spec.strip()
    if spec.startswith("@") and ":" in spec:
        return spec.split(":", 1)[1]
    return spec


def normalize_addr_spec(spec: str) -> tuple[str | None, bool]:
    """(lower-cased `local@domain` with an ASCII (IDNA) domain, or None; whether it was ambiguous).

    Refused: several "@" outside quotes, a quoted local part holding "@" or other specials, domain
    literals, single-label or malformed domains.
    """
    spec = spec.strip()
    if not spec or len(spec) > 320 or any(ord(char) < 32 or char == "\x7f" for char in spec):
        return None, False
    if spec.startswith('"'):
        local_text, after = _scan_quoted(spec, 0)
        rest = spec[after:]
        if not rest.startswith("@"):
            return None, "@" in spec
        if any(char in _QUOTED_UNSAFE for char in local_text):
            # "a@b.com"@evil.com reads as a@b.com to some tools and as evil.com's user to others.
            return None, True
        local, domain = local_text, rest[1:]
    else:
        if spec.count("@") != 1:
            return None, spec.count("@") > 1
        local, domain = spec.split("@")
    if not _LOCAL_RE.fullmatch(local) or len(local) > 64:
        return None, False
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return None, False
    address = f"{local.lower()}@{ascii_domain}"
    return (address, False) if len(address) <= 254 else (None, False)


def _ascii_domain(domain: str) -> str | None:
    domain = domain.strip().rstrip(".").lower()
    if not domain or domain.startswith("[") or len(domain) > 253:
        return None
    labels = domain.split(".")
    if len(labels) < 2:
        return None
    out: list[str] = []
    for label in labels:
        if not label.isascii():
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError:
                return None
        if not _LABEL_RE.fullmatch(label):
            return None
        out.append(label)
    return ".".join(out)
