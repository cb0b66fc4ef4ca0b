"""Split an entity into header fields and body, within limits, whatever the line endings or defects.

Only the fields the parser uses are kept (a whitelist), so thousands of Received or junk lines cost a
count, not memory; everything is still in the raw message an agent can download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from kefu.mail.inbound.limits import ParseLimits, Problem

# Fields read by the parser or shown to agents; others are only counted.
KEPT_FIELDS: Final = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
        "auto-submitted",
        "precedence",
        "x-autoreply",
        "x-autorespond",
        "x-auto-reply",
        "x-auto-response-suppress",
        "x-loop",
        "list-id",
        "list-unsubscribe",
        "list-post",
        "mailing-list",
        "x-failed-recipients",
        "return-path",
        "x-mailer",
        "user-agent",
        "x-originating-ip",
        "authentication-results",
        "x-spam-flag",
        "x-ms-exchange-generated-message-source",
        "feedback-id",
    }
)
# More copies of one kept field than this are not kept (a duplicated-header flood).
MAX_COPIES: Final = 20
# A field name: printable ASCII but ":"; obsolete syntax allows blanks before the colon.
_FIELD_RE: Final = re.compile(rb"([!-9;-~]{1,100})[ \t]*:")
_CONTINUATION_RE: Final = re.compile(rb"\n[ \t]+")
# The line break that ends a run of continuation lines: a million of them must not cost a loop each.
_RUN_END_RE: Final = re.compile(rb"\n(?![ \t])")


@dataclass
class HeaderBlock:
    """The kept header fields of one entity, as raw bytes values (unfolded), in order."""

    fields: dict[str, list[bytes]] = field(default_factory=dict)
    received_count: int = 0
    field_count: int = 0

    def first(self, name: str) -> bytes | None:
        """The first value of field `name` (lower-case), or None."""
        values = self.fields.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[bytes]:
        """Every kept value of field `name` (lower-case)."""
        return self.fields.get(name, [])


def normalize_newlines(raw: bytes) -> tuple[bytes, list[Problem]]:
    """`raw` with CRLF and bare CR turned into LF, which the rest of the parser assumes."""
    problems: list[Problem] = []
    data = raw.replace(b"\r\n", b"\n")
    if b"\r" in data:
        problems.append(Problem.BARE_CR)
        data = data.replace(b"\r", b"\n")
    return data, problems


def split_entity(data: bytes, limits: ParseLimits) -> tuple[HeaderBlock, bytes, list[Problem]]:
    """Header fields and body of one entity (LF line endings). Never raises.

    The header section ends at the first empty line; a line that is neither a field nor a
    continuation ends it too (`missing_header_separator`) and starts the body.
    """
    block = HeaderBlock()
    problems: list[Problem] = []
    position = 0
    end = len(data)
    if data.startswith(b"From "):
        # An mbox "From " envelope line, not a header field.
        newline = data.find(b"\n")
        position = end if newline < 0 else newline + 1
    name: str | None = None
    value: list[bytes] = []
    while position < end:
        newline = data.find(b"\n", position)
        line_end = end if newline < 0 else newline
        next_position = line_end + 1
        if next_position > limits.max_header_bytes:
            problems.append(Problem.HEADERS_TOO_LARGE)
            return _give_up(block, name, value, data, position, limits, problems)
        if line_end == position:
            position = next_position
            break
        if data[position] in b" \t":
            run = _RUN_END_RE.search(data, position)
            run_end = run.end() if run else end
            if run_end > limits.max_header_bytes:
                problems.append(Problem.HEADERS_TOO_LARGE)
                return _give_up(block, name, value, data, position, limits, problems)
            if name is None:
                problems.append(Problem.BAD_HEADER_LINE)
            elif name in KEPT_FIELDS:
                value.append(data[position:run_end].rstrip(b"\n"))
            position = run_end
            continue
        line = data[position:line_end]
        match = _FIELD_RE.match(line)
        if match is None:
            problems.append(Problem.MISSING_HEADER_SEPARATOR)
            break
        _store(block, name, value, limits, problems)
        block.field_count += 1
        if block.field_count > limits.max_header_count:
            problems.append(Problem.TOO_MANY_HEADERS)
            return _give_up(block, None, [], data, position, limits, problems)
        name = match.group(1).decode("ascii").lower()
        if name == "received":
            block.received_count += 1
        value = [line[match.end() :]]
        position = next_position
    _store(block, name, value, limits, problems)
    return block, data[position:], list(dict.fromkeys(problems))


def _give_up(
    block: HeaderBlock,
    name: str | None,
    value: list[bytes],
    data: bytes,
    position: int,
    limits: ParseLimits,
    problems: list[Problem],
) -> tuple[HeaderBlock, bytes, list[Problem]]:
    """Stop reading headers at a limit: keep what was read, the body starts after the next blank line."""
    _store(block, name, value, limits, problems)
    separator = data.find(b"\n\n", position)
    return block, b"" if separator < 0 else data[separator + 2 :], list(dict.fromkeys(problems))


def _store(
    block: HeaderBlock, name: str | None, value: list[bytes], limits: ParseLimits, problems: list[Problem]
) -> None:
    if name is None or name not in KEPT_FIELDS:
        return
    copies = block.fields.setdefault(name, [])
    if len(copies) >= MAX_COPIES:
        problems.append(Problem.TOO_MANY_HEADERS)
        return
    # Unfolding: the line breaks go, the blanks that follow them stay.
    joined = b"\n".join(value)
    if len(joined) > limits.max_header_length:
        problems.append(Problem.HEADER_TOO_LONG)
        joined = joined[: limits.max_header_length]
    copies.append(_CONTINUATION_RE.sub(b" ", joined).strip(b" \t\n"))
