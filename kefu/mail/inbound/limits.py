"""How much of a hostile message the parser reads, and the defect codes it records on the way."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_PROBLEMS = 64


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on the work one message may cost; past any of them the parser records a problem, stops
    descending and keeps what it has (the raw bytes are stored whole elsewhere).
    """

    # Providers refuse more than 25–35 MB; anything past this is not read (but still stored raw).
    max_bytes: int = 40 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20
    # Header fields per entity (5,000 Received lines fit) and bytes of one entity's header section.
    max_header_count: int = 10_000
    max_header_bytes: int = 2 * 1024 * 1024
    # One header field's value; longer ones are cut before any decoding.
    max_header_length: int = 64 * 1024
    max_part_bytes: int = 25 * 1024 * 1024
    max_total_bytes: int = 50 * 1024 * 1024
    # What an agent can read; longer bodies are cut (the raw message keeps the rest).
    max_text_chars: int = 1_000_000
    max_html_chars: int = 2_000_000
    max_attachments: int = 100


DEFAULT_LIMITS = ParseLimits()


class Problem(StrEnum):
    """Short codes for the defects the parser met; they travel with the message for agents and metrics."""

    PARSER_ERROR = "parser_error"
    MESSAGE_TOO_LARGE = "message_too_large"
    HEADERS_TOO_LARGE = "headers_too_large"
    HEADER_TOO_LONG = "header_too_long"
    TOO_MANY_HEADERS = "too_many_headers"
    MISSING_HEADER_SEPARATOR = "missing_header_separator"
    BAD_HEADER_LINE = "bad_header_line"
    NUL_BYTES = "nul_bytes"
    BARE_CR = "bare_cr"
    BAD_CHARSET = "bad_charset"
    MISSING_CHARSET = "missing_charset"
    MISLABELED_CHARSET = "mislabeled_charset"
    RAW_8BIT_HEADER = "raw_8bit_header"
    BAD_ENCODED_WORD = "bad_encoded_word"
    BAD_CONTENT_TYPE = "bad_content_type"
    MISSING_BOUNDARY = "missing_boundary"
    BOUNDARY_NOT_FOUND = "boundary_not_found"
    REUSED_BOUNDARY = "reused_boundary"
    MISSING_CLOSING_BOUNDARY = "missing_closing_boundary"
    TOO_MANY_PARTS = "too_many_parts"
    TOO_DEEP = "too_deep"
    UNKNOWN_TRANSFER_ENCODING = "unknown_transfer_encoding"
    WRONG_TRANSFER_ENCODING = "wrong_transfer_encoding"
    BAD_BASE64 = "bad_base64"
    TRUNCATED_BASE64 = "truncated_base64"
    BAD_QUOTED_PRINTABLE = "bad_quoted_printable"
    BAD_UUENCODE = "bad_uuencode"
    UUENCODE = "uuencode"
    TNEF = "tnef"
    PART_TOO_LARGE = "part_too_large"
    TOTAL_TOO_LARGE = "total_too_large"
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    TEXT_TRUNCATED = "text_truncated"
    HTML_TRUNCATED = "html_truncated"
    HTML_TOO_COMPLEX = "html_too_complex"
    MISSING_FROM = "missing_from"
    MULTIPLE_FROM = "multiple_from"
    AMBIGUOUS_FROM = "ambiguous_from"
    BAD_ADDRESS = "bad_address"
    ENCODED_ADDRESS = "encoded_address"
    MISSING_DATE = "missing_date"
    BAD_DATE = "bad_date"
    BAD_MESSAGE_ID = "bad_message_id"
    BAD_DELIVERY_STATUS = "bad_delivery_status"


class Problems:
    """An ordered, de-duplicated and capped record of problems met while parsing one message."""

    def __init__(self) -> None:
        self._seen: dict[Problem, None] = {}

    def add(self, problem: Problem) -> None:
        """Record `problem` once; a flood of defects cannot grow the record past MAX_PROBLEMS."""
        if len(self._seen) < MAX_PROBLEMS:
            self._seen.setdefault(problem, None)

    def extend(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        """Record each of `problems` in order."""
        for problem in problems:
            self.add(problem)

    def __contains__(self, problem: object) -> bool:
        return problem in self._seen

    def as_tuple(self) -> tuple[str, ...]:
        """The codes in the order they were first met."""
        return tuple(str(problem) for problem in self._seen)
