"""The MIME tree of a message, built within limits: parts, depth and bytes are counted as it grows.

A hand-written splitter instead of `email.feedparser`, whose recursion and line-by-line work cannot
be bounded from outside: here a 10,000-part or 100-deep bomb stops at the limit with a problem
recorded, and a boundary is found with `bytes.find`, not per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from kefu.mail.inbound.encoded_words import header_bytes_to_str
from kefu.mail.inbound.headers import HeaderBlock, split_entity
from kefu.mail.inbound.limits import ParseLimits, Problem, Problems
from kefu.mail.inbound.params import content_type, parse_header_params
from kefu.mail.inbound.transfer import decode_transfer, decoded_size_estimate, transfer_kind

MAX_BOUNDARY_CHARS: Final = 200
# A line that looks like a delimiter, used to recover a multipart whose boundary is missing or wrong.
# After "--boundary": an optional "--" (close), blanks, then the end of the line.
_DELIMITER_TAIL: Final = rb"(--)?[ \t]*(?=\n|\Z)"
_GUESS_RE: Final = re.compile(rb"^--([!-~]{1,70})[ \t]*$", re.MULTILINE)


@dataclass
class Budget:
    """What is left of the limits for the whole message (nested messages share it)."""

    limits: ParseLimits
    problems: Problems
    parts: int = 0
    decoded_bytes: int = 0


@dataclass
class Entity:
    """One MIME entity: its kept headers, type, parameters and (still transfer-encoded) body."""

    headers: HeaderBlock
    content_type: str
    params: dict[str, str]
    body: bytes
    depth: int
    children: list[Entity] = field(default_factory=list)
    charset_hint: str | None = None
    decoded: bytes | None = None

    def header_text(self, name: str) -> str | None:
        """The first value of header `name` (lower-case) as text, 8-bit bytes decoded leniently."""
        value = self.headers.first(name)
        if value is None:
            return None
        text, _ = header_bytes_to_str(value, self.charset_hint)
        return text

    def disposition(self) -> tuple[str | None, dict[str, str]]:
        """The Content-Disposition token ("inline", "attachment") and its parameters."""
        value = self.header_text("content-disposition")
        if value is None:
            return None, {}
        token, params, _ = parse_header_params(value)
        return token or None, params

    def filename(self) -> str | None:
        """The declared file name: Content-Disposition filename, else Content-Type name."""
        _, params = self.disposition()
        name = params.get("filename") or self.params.get("name")
        return name if name and name.strip() else None

    def walk(self) -> list[Entity]:
        """This entity and its descendants, depth first, in document order."""
        out: list[Entity] = []
        stack: list[Entity] = [self]
        while stack:
            entity = stack.pop()
            out.append(entity)
            stack.extend(reversed(entity.children))
        return out


def parse_entity(
    data: bytes,
    budget: Budget,
    *,
    depth: int = 0,
    default_type: str = "text/plain",
    boundaries: tuple[bytes, ...] = (),
    charset_hint: str | None = None,
) -> Entity:
    """Parse one entity (LF line endings) and, for multiparts, its children within `budget`."""
    headers, body, problems = split_entity(data, budget.limits)
    budget.problems.extend(problems)
    raw_type, _ = header_bytes_to_str(headers.first("content-type") or b"", charset_hint)
    ctype, params, type_problems = content_type(raw_type or None, default_type)
    budget.problems.extend(type_problems)
    hint = params.get("charset") or charset_hint
    entity = Entity(headers, ctype, params, body, depth, charset_hint=hint)
    if not ctype.startswith("multipart/"):
        return entity
    if depth >= budget.limits.max_depth:
        budget.problems.add(Problem.TOO_DEEP)
        entity.body = b""
        return entity
    boundary = _boundary(params.get("boundary"), budget)
    chunks: list[bytes] | None = None
    if boundary is not None:
        if boundary in boundaries:
            budget.problems.add(Problem.REUSED_BOUNDARY)
        chunks = _split(body, boundary, budget)
        if chunks is None:
            budget.problems.add(Problem.BOUNDARY_NOT_FOUND)
    if chunks is None:
        guessed = _guess_boundary(body)
        chunks = _split(body, guessed, budget) if guessed else None
        boundary = guessed
    if chunks is None or boundary is None:
        # Nothing to split on: read the body as the text it probably is.
        entity.content_type = "text/plain"
        return entity
    child_type = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
    for chunk in chunks:
        child = parse_entity(
            chunk,
            budget,
            depth=depth + 1,
            default_type=child_type,
            boundaries=(*boundaries, boundary),
            charset_hint=hint,
        )
        entity.children.append(child)
    entity.body = b""
    return entity


def _boundary(value: str | None, budget: Budget) -> bytes | None:
    if value is None or not value.strip():
        budget.problems.add(Problem.MISSING_BOUNDARY)
        return None
    boundary = value.strip()[:MAX_BOUNDARY_CHARS]
    return boundary.encode("utf-8", "replace")


def _guess_boundary(body: bytes) -> bytes | None:
    match = _GUESS_RE.search(body, 0, 65536)
    if match is None:
        return None
    boundary = match.group(1)
    return boundary[:-2] if boundary.endswith(b"--") else boundary


def _split(body: bytes, boundary: bytes, budget: Budget) -> list[bytes] | None:
    """The parts between delimiter lines of `boundary`; None when no delimiter line exists.

    Stops at the close delimiter, at the end (`missing_closing_boundary`) or at the parts limit.
    """
    limits = budget.limits
    chunks: list[bytes] = []
    start: int | None = None  # where the current part's content begins
    for line_start, line_end, closing in _delimiters(body, boundary):
        if start is not None:
            if budget.parts >= limits.max_parts:
                budget.problems.add(Problem.TOO_MANY_PARTS)
                return chunks
            budget.parts += 1
            # The line break before a delimiter belongs to the delimiter.
            chunks.append(body[start : max(start, line_start - 1)])
        if closing:
            return chunks
        start = min(line_end + 1, len(body))
    if start is None:
        return None
    budget.problems.add(Problem.MISSING_CLOSING_BOUNDARY)
    if budget.parts < limits.max_parts:
        budget.parts += 1
        chunks.append(body[start:])
    else:
        budget.problems.add(Problem.TOO_MANY_PARTS)
    return chunks


def _delimiters(body: bytes, boundary: bytes) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_close) of each line that is exactly a delimiter, found by regex in C: a body
    of near-miss lines ("--boundaryX") must not cost a Python loop per line.
    """
    escaped = re.escape(boundary)
    first = re.compile(b"--" + escaped + _DELIMITER_TAIL).match(body)
    if first is not None:
        yield 0, first.end(), first.group(1) is not None
    for match in re.compile(b"\n--" + escaped + _DELIMITER_TAIL).finditer(body):
        yield match.start() + 1, match.end(), match.group(1) is not None


def decoded_body(entity: Entity, budget: Budget) -> bytes | None:
    """The transfer-decoded body of a leaf, or None when it would pass the per-part or total limit.

    Decoded once; the result is kept on the entity and counted against the message's total.
    """
    if entity.decoded is not None:
        return entity.decoded
    limits = budget.limits
    kind, problems = transfer_kind(entity.header_text("content-transfer-encoding") or "")
    budget.problems.extend(problems)
    estimate = decoded_size_estimate(entity.body, kind)
    if estimate > limits.max_part_bytes:
        budget.problems.add(Problem.PART_TOO_LARGE)
        return None
    if budget.decoded_bytes + estimate > limits.max_total_bytes:
        budget.problems.add(Problem.TOTAL_TOO_LARGE)
        return None
    data, problems = decode_transfer(entity.body, kind)
    budget.problems.extend(problems)
    budget.decoded_bytes += len(data)
    entity.decoded = data
    return data
