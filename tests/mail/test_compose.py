"""Composition: the headers a mail client needs for threading, and no way to inject one."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from kefu.mail.compose import compose
from kefu.mail.headers import clean_address, one_line
from kefu.mail.render import Rendered
from kefu.mail.transport import message_bytes
from kefu.settings import Settings

SENT_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MESSAGE_ID = "<0123abcd@kefu.test>"


def make(settings: Settings, subject: str = "We received your request", **options: object) -> EmailMessage:
    rendered = Rendered(subject=subject, text="Hello\n", html="<p>Hello</p>\n", locale="en")
    defaults: dict[str, object] = {"to": "alice@example.com", "message_id": MESSAGE_ID, "sent_at": SENT_AT}
    return compose(settings, rendered, **(defaults | options))  # type: ignore[arg-type]


def reparsed(message: EmailMessage) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(message_bytes(message))
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_headers_for_threading_and_auto_replies(mail_settings: Settings) -> None:
    message = reparsed(
        make(
            mail_settings,
            reference="KF-12345678",
            in_reply_to="<parent@example.com>",
            references=["<root@example.com>", "<parent@example.com>"],
        )
    )
    assert message["From"] == "Kefu Support <support@kefu.test>"
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "We received your request [KF-12345678]"
    assert message["Date"] == "Sat, 01 Mar 2025 12:00:00 +0000"
    assert message["Message-ID"] == MESSAGE_ID
    assert message["In-Reply-To"] == "<parent@example.com>"
    assert message["References"] == "<root@example.com> <parent@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    assert message["Reply-To"] is None
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert message.get_body(("plain",)).get_content().splitlines() == ["Hello"]  # type: ignore[union-attr]


def test_replies_are_not_marked_automatic_and_reply_to_is_used(mail_settings: Settings) -> None:
    settings = mail_settings.model_copy(update={"mail_reply_to": "Help <help@kefu.test>"})
    message = reparsed(make(settings, automatic=False))
    assert message["Auto-Submitted"] is None
    assert message["Reply-To"] == "Help <help@kefu.test>"
    assert message["In-Reply-To"] is None
    assert message["References"] is None


def test_subject_cannot_inject_headers(mail_settings: Settings) -> None:
    hostile = "Hi\r\nBcc: x@evil.example\r\n\r\n<html>body"
    data = message_bytes(make(mail_settings, subject=hostile, reference="KF-12345678"))
    header_block = data.split(b"\r\n\r\n", 1)[0]
    lines = header_block.split(b"\r\n")
    assert not any(line.lower().startswith(b"bcc") for line in lines)
    parsed = reparsed(make(mail_settings, subject=hostile))
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Hi Bcc: x@evil.example <html>body"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["alice@example.com"]


@pytest.mark.parametrize(
    "to",
    [
        "alice@example.com\r\nBcc: x@evil.example",
        "alice@example.com\nCc: x@evil.example",
        "alice@example.com, x@evil.example",
        "Alice <alice@example.com>",
        '"x@evil.example" <alice@example.com>',
        " alice@example.com",
        "alice@example.com\x00",
        "alice",
        "",
        "a" * 250 + "@example.com",
        "ålice@example.com",
    ],
)
def test_recipient_cannot_be_more_than_one_plain_address(mail_settings: Settings, to: str) -> None:
    with pytest.raises(ValueError):
        make(mail_settings, to=to)


def test_addresses_are_normalised() -> None:
    assert clean_address("Alice@Example.COM") == "Alice@example.com"
    assert clean_address("bob@bücher.example") == "bob@xn--bcher-kva.example"
    assert clean_address("demo@customer.kefu.localhost") == "demo@customer.kefu.localhost"


@pytest.mark.parametrize(
    "value",
    ["<a@b>\r\nBcc: x@evil.example", "no-brackets@b", "<a b@c>", "<a@b> <c@d>", "<" + "a" * 300 + "@b>"],
)
def test_message_ids_are_checked(mail_settings: Settings, value: str) -> None:
    with pytest.raises(ValueError):
        make(mail_settings, in_reply_to=value)
    with pytest.raises(ValueError):
        make(mail_settings, references=[value])


def test_naive_time_and_too_many_references_are_refused(mail_settings: Settings) -> None:
    with pytest.raises(ValueError):
        make(mail_settings, sent_at=datetime(2025, 3, 1, 12, 0))
    with pytest.raises(ValueError):
        make(mail_settings, references=[f"<r{i}@example.com>" for i in range(21)])


def test_one_line_folds_every_line_break_and_control_character() -> None:
    assert one_line("a\r\nb\tc\x00d\u2028e\u2029f\u202eg\x85h", 100) == "a b c d e f g h"
    assert one_line("  many   spaces  ", 100) == "many spaces"
    assert one_line("abcdef", 4) == "abc…"


def test_long_chinese_subject_is_encoded_and_folded(mail_settings: Settings) -> None:
    subject = "我们已收到您的工单：" + "充币没到账" * 60
    data = message_bytes(make(mail_settings, subject=subject, reference="KF-12345678"))
    header_block = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in header_block.split(b"\r\n"))
    data.decode("ascii")  # 7-bit clean: no relay needs SMTPUTF8 or 8BITMIME
    parsed = reparsed(make(mail_settings, subject=subject, reference="KF-12345678"))
    assert parsed["Subject"].startswith("我们已收到您的工单：充币没到账")
    assert parsed["Subject"].endswith("… [KF-12345678]")
