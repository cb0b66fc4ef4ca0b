"""The interface ingest and threading build on: names, types and the "needs review" flag."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from kefu.mail.inbound.parse import (
    DEFAULT_LIMITS,
    AutoKind,
    DeliveryReport,
    ParsedAttachment,
    ParsedEmail,
    ParseLimits,
    parse_email,
)
from kefu.mail.inbound.quotes import strip_quotes_and_signature
from kefu.mail.inbound.raw import compress_raw, decompress_raw
from tests.mail.inbound.samples import fixture, typical_with_attachment


def test_public_names() -> None:
    assert callable(strip_quotes_and_signature)
    assert callable(compress_raw)
    assert callable(decompress_raw)
    assert [kind.value for kind in AutoKind] == ["auto_reply", "bounce", "mailing_list", "bulk"]
    assert [field.name for field in dataclasses.fields(ParsedAttachment)] == [
        "filename", "content_type", "data", "inline", "content_id"
    ]  # fmt: skip
    assert [field.name for field in dataclasses.fields(DeliveryReport)] == [
        "original_message_id", "recipients", "action", "status", "diagnostic"
    ]  # fmt: skip
    assert [field.name for field in dataclasses.fields(ParsedEmail)] == [
        "message_id", "in_reply_to", "references", "from_address", "from_name", "reply_to", "to", "cc",
        "subject", "date", "text", "visible_text", "html", "attachments", "auto", "report", "problems",
        "headers",
    ]  # fmt: skip
    assert ParseLimits() == DEFAULT_LIMITS
    assert (DEFAULT_LIMITS.max_parts, DEFAULT_LIMITS.max_depth) == (500, 20)


def test_everyday_message() -> None:
    parsed = parse_email(fixture("gmail_reply_en.eml"))
    assert parsed.message_id == "<CAF=abc123+xyz@mail.example.com>"
    assert parsed.in_reply_to == ("<KF-123456.1@kefu.test>",)
    assert parsed.references == ("<KF-123456.1@kefu.test>",)
    assert (parsed.from_address, parsed.from_name) == ("li.wei@example.com", "Li Wei")
    assert parsed.to == ("support@kefu.test",)
    assert parsed.subject == "Re: [KF-123456] Withdrawal pending"
    assert parsed.date == datetime(2024, 1, 2, 9, 15, 20, tzinfo=UTC)
    assert (parsed.auto, parsed.report, parsed.problems) == (None, None, ())
    assert parsed.headers["Received-Count"] == "1"
    assert parsed.headers["Return-Path"] == "<li.wei@example.com>"
    assert not parsed.needs_review


def test_parsed_values_are_frozen() -> None:
    parsed = parse_email(typical_with_attachment())
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.subject = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.attachments[0].data = b""  # type: ignore[misc]


@pytest.mark.parametrize("raw", [b"", b"\x00\xff" * 100, b"\r\n\r\n", b"From: <>\r\n\r\n"])
def test_unreadable_messages_need_review(raw: bytes) -> None:
    parsed = parse_email(raw)
    assert parsed.needs_review
