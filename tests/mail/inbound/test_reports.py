"""Never answer a machine: DSNs, free-form bounces, auto-replies, lists and bulk mail are recognised,
and a bounce says which of our messages failed for whom.
"""

from __future__ import annotations

import pytest

from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.parse import AutoKind, DeliveryReport, parse_email
from tests.mail.inbound.samples import encoded_word, fixture, message, part, with_multipart


def test_postfix_dsn() -> None:
    parsed = parse_email(fixture("postfix_dsn.eml"))
    assert parsed.auto is AutoKind.BOUNCE
    assert parsed.report == DeliveryReport(
        original_message_id="<KF-400001.1@kefu.test>",
        recipients=("nobody@example.net",),
        action="failed",
        status="5.1.1",
        diagnostic="550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown",
    )
    assert parsed.text.startswith("This is the mail system at host mx.kefu.test.")
    assert parsed.attachments == ()  # report metadata is not an attachment


def dsn(status_body: str, returned: bytes | None = None, *, report_type: str = "delivery-status") -> bytes:
    parts = [
        part("text/plain", b"Delivery to the following recipients failed."),
        part("message/delivery-status", status_body.encode()),
    ]
    if returned is not None:
        parts.append(part("message/rfc822", returned))
    return with_multipart(parts, subtype="report", params=f"; report-type={report_type}")


def test_dsn_with_several_recipients_reports_the_failed_ones() -> None:
    status = (
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; slow@example.org\nAction: delayed\nStatus: 4.4.1\n\n"
        "Final-Recipient: rfc822;Gone@Example.org\nAction: failed\nStatus: 5.1.1 (user unknown)\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\n\n"
        "Final-Recipient: rfc822; other@example.org\nAction: Failed\nStatus: 5.2.2\n"
    )
    returned = b"From: support@kefu.test\nMessage-ID: <KF-9.1@kefu.test>\nSubject: x\n\nbody"
    report = parse_email(dsn(status, returned)).report
    assert report is not None
    assert report.action == "failed"
    assert report.recipients == ("gone@example.org", "other@example.org")
    assert (report.status, report.diagnostic) == ("5.1.1", "550 5.1.1 no such user")
    assert report.original_message_id == "<KF-9.1@kefu.test>"


def test_delayed_only_dsn() -> None:
    status = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; slow@example.org\n"
    status += "Action: delayed\nStatus: 4.4.7\n"
    parsed = parse_email(dsn(status))
    assert parsed.report is not None
    assert (parsed.report.action, parsed.report.status) == ("delayed", "4.4.7")
    assert parsed.auto is AutoKind.BOUNCE


def test_dsn_without_recipients_is_still_a_bounce() -> None:
    parsed = parse_email(dsn("Reporting-MTA: dns; mx\n\ngarbage"))
    assert parsed.report is None
    assert parsed.auto is AutoKind.BOUNCE
    assert Problem.BAD_DELIVERY_STATUS in parsed.problems


def test_qmail_bounce() -> None:
    parsed = parse_email(fixture("qmail_bounce.eml"))
    assert parsed.auto is AutoKind.BOUNCE
    assert parsed.report == DeliveryReport(
        original_message_id="<KF-400002.1@kefu.test>",
        recipients=("gone@example.org",),
        action="failed",
        status="5.1.1",
        diagnostic="Remote host said: 550 5.1.1 <gone@example.org>... User unknown",
    )


def test_chinese_free_form_bounce_with_x_failed_recipients() -> None:
    raw = message(
        [
            ("From", encoded_word("系统退信", "gbk", "gb2312") + " <postmaster@mail.example.cn>"),
            ("To", "support@kefu.test"),
            ("Subject", encoded_word("系统退信：邮件投递失败", "gbk", "gbk")),
            ("X-Failed-Recipients", "wrong@example.cn"),
            ("Content-Type", "text/plain; charset=gbk"),
        ],
        (
            "您发送的邮件无法投递。\n原因：550 用户不存在\n\n----- 原始邮件 -----\n"
            "Message-ID: <KF-77.1@kefu.test>\nTo: wrong@example.cn\n"
        ).encode("gbk"),
    )
    parsed = parse_email(raw)
    assert parsed.auto is AutoKind.BOUNCE
    assert parsed.report is not None
    assert parsed.report.recipients == ("wrong@example.cn",)
    assert parsed.report.action == "failed"
    assert parsed.report.original_message_id == "<KF-77.1@kefu.test>"


def test_delay_warning_bounce() -> None:
    raw = message(
        [
            ("From", "MAILER-DAEMON@mx.example.org"),
            ("Subject", "Warning: message delayed"),
            ("X-Failed-Recipients", "slow@example.org"),
        ],
        b"Delivery has been delayed; will retry.",
    )
    report = parse_email(raw).report
    assert report is not None
    assert report.action == "delayed"


def test_a_customer_writing_about_a_bounce_is_not_one() -> None:
    raw = message(
        [("From", "customer@example.com"), ("Subject", "Undelivered Mail? my withdrawal email bounced")],
        b"Hi, your email about my withdrawal said 550 5.1.1.",
    )
    parsed = parse_email(raw)
    assert (parsed.auto, parsed.report) == (None, None)


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ([("Auto-Submitted", "auto-replied")], AutoKind.AUTO_REPLY),
        ([("Auto-Submitted", "auto-generated; owner-email=x@y.z")], AutoKind.AUTO_REPLY),
        ([("Auto-Submitted", "auto-notified")], AutoKind.AUTO_REPLY),
        ([("Auto-Submitted", "no")], None),
        ([("X-Autoreply", "yes")], AutoKind.AUTO_REPLY),
        ([("X-Autorespond", "Out of office")], AutoKind.AUTO_REPLY),
        ([("X-Auto-Response-Suppress", "All")], AutoKind.AUTO_REPLY),
        ([("X-Auto-Response-Suppress", "DR, OOF, AutoReply")], AutoKind.AUTO_REPLY),
        ([("X-Auto-Response-Suppress", "DR")], None),
        ([("X-Loop", "support@kefu.test")], AutoKind.AUTO_REPLY),
        ([("Precedence", "auto_reply")], AutoKind.AUTO_REPLY),
        ([("Precedence", "bulk")], AutoKind.BULK),
        ([("Precedence", "junk")], AutoKind.BULK),
        ([("Precedence", "list")], AutoKind.MAILING_LIST),
        ([("List-Id", "Crypto news <news.example.org>")], AutoKind.MAILING_LIST),
        ([("List-Post", "<mailto:list@example.org>")], AutoKind.MAILING_LIST),
        ([("List-Unsubscribe", "<https://example.org/u>")], AutoKind.BULK),
        ([("Return-Path", "<>")], AutoKind.AUTO_REPLY),
        ([("Return-Path", "<customer@example.com>")], None),
        ([("Subject", "自动回复: 您的工单")], AutoKind.AUTO_REPLY),
        ([("Subject", "Automatic reply: [KF-1] hi")], AutoKind.AUTO_REPLY),
        ([("Subject", "Out of Office: travelling")], AutoKind.AUTO_REPLY),
        ([("Precedence", "bulk"), ("Auto-Submitted", "auto-generated")], AutoKind.AUTO_REPLY),
    ],
)
def test_auto_kinds(headers: list[tuple[str, str]], kind: AutoKind | None) -> None:
    subject = [] if any(name == "Subject" for name, _ in headers) else [("Subject", "hello")]
    raw = message([("From", "someone@example.com"), *subject, *headers], b"text")
    assert parse_email(raw).auto is kind


def test_out_of_office_fixture() -> None:
    assert parse_email(fixture("out_of_office_en.eml")).auto is AutoKind.AUTO_REPLY


def test_read_receipt_is_automatic() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"Your message was read."),
            part(
                "message/disposition-notification", b"Disposition: manual-action/MDN-sent-manually; displayed"
            ),
        ],
        subtype="report",
        params="; report-type=disposition-notification",
    )
    parsed = parse_email(raw)
    assert (parsed.auto, parsed.report) == (AutoKind.AUTO_REPLY, None)
