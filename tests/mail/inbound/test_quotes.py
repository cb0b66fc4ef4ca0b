"""What an agent sees first: the new text of a reply, without history or signature (EN and ZH)."""

from __future__ import annotations

import time

import pytest

from kefu.mail.inbound.parse import parse_email
from kefu.mail.inbound.quotes import strip_quotes_and_signature
from tests.mail.inbound.samples import fixture, message


@pytest.mark.parametrize(
    ("name", "visible"),
    [
        (
            "gmail_reply_en.eml",
            "Hi,\n\nThe withdrawal is still pending after 3 hours. TXID: 0xabc…123\n\nThanks,\nLi",
        ),
        ("outlook_reply_en.eml", "Hello, my account is locked after I changed my phone.\n\nPlease help."),
        ("qq_reply_zh.eml", "您好，我的提现一直没有到账，订单号 W20240102001。"),
        ("netease_reply_zh.eml", "好的，交易哈希是 0x5f3a...9c1d，麻烦尽快处理。"),
        ("foxmail_reply_zh.eml", "已经上传了身份证照片，请查收。\n\n韩梅梅"),
    ],
)
def test_client_fixtures(name: str, visible: str) -> None:
    parsed = parse_email(fixture(name))
    assert parsed.visible_text == visible
    assert parsed.text.startswith(visible.split("\n")[0])
    assert len(parsed.text) > len(parsed.visible_text)  # the full original stays


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("Thanks!\n\nOn Mon, Jan 1, 2024 at 10:00 AM Bob <b@x.com> wrote:\n> old\n> text", "Thanks!"),
        (
            "Thanks!\n\nOn Mon, Jan 1, 2024 at 10:00 AM Kefu Support <\nsupport@kefu.test> wrote:\n\n> old",
            "Thanks!",
        ),
        ("Thanks!\nOn 1/1/24 10:00, Bob wrote:\nunprefixed old text", "Thanks!"),
        ("Ok\n\n-----Original Message-----\nFrom: a\nSent: b\nTo: c\nSubject: d\n\nold", "Ok"),
        (
            "Ok\n________________________________\n"
            "From: Support <s@kefu.test>\nSent: Monday\nTo: me\nSubject: x\nold",
            "Ok",
        ),
        ("Ok\n\nFrom: Support <s@kefu.test>\nDate: Monday\nTo: me\nSubject: x\n\nold", "Ok"),
        (
            "好的\n\n------------------ 原始邮件 ------------------\n"
            "发件人: 客服\n发送时间: 今天\n收件人: 我\n\n旧",
            "好的",
        ),
        ("好的\n\n------------------ Original ------------------\nFrom: a\nDate: b\nTo: c\n\nold", "好的"),
        (
            "好的\n\n-----原始邮件-----\n发件人：客服\n"
            "发送时间：2024年1月2日 15:02\n收件人：我\n主题：工单\n\n旧",
            "好的",
        ),
        ("好的\n\n发件人：客服 <s@kefu.test>\n发送时间：2024年1月2日\n收件人：我\n主题：工单\n旧", "好的"),
        ("收到\n\n在 2024年1月2日，下午3:02，客服 <support@kefu.test> 写道：\n\n> 旧内容", "收到"),
        ("收到\n\n张三 <z@example.cn> 于2024年1月2日周二 15:02写道：\n> 旧内容", "收到"),
        ('收到\n\n在 2024-01-02 15:02:11，"客服" <support@kefu.test> 写道：\n>旧内容', "收到"),
        ("收到\n\n寄件者: 客服\n寄件日期: 2024年1月2日\n收件者: 我\n主旨: 工单\n\n舊", "收到"),
        ("Hello\n\nSent from my iPhone", "Hello"),
        ("Hello\n\nSent from my iPhone\n\nOn Mon, Jan 1, 2024 Bob wrote:\n> old", "Hello"),
        ("你好\n\n发自我的iPhone", "你好"),
        ("你好\n\n发自网易邮箱大师", "你好"),
        ("Hello\n\nGet Outlook for Android", "Hello"),
        ("Hello\n\n-- \nJohn Smith\nExample Corp", "Hello"),
        ("Hello\n--\nJohn", "Hello"),
        ("New text\n\n> quoted\n> more quoted\n\n", "New text"),
        ("New text\n\nJohn Doe wrote:\n> quoted", "New text"),
    ],
)
def test_stripping(text: str, visible: str) -> None:
    assert strip_quotes_and_signature(text) == visible


def test_bottom_posted_reply_keeps_the_reply() -> None:
    text = "On Mon, Jan 1, 2024 Bob wrote:\n> What is your order id?\n\nIt is W123.\n\nThanks"
    assert strip_quotes_and_signature(text) == "It is W123.\n\nThanks"


def test_inline_replies_keep_the_context() -> None:
    text = "> What is your order id?\nW123\n> And the network?\nTRC20"
    assert strip_quotes_and_signature(text) == text


def test_signature_far_from_the_end_is_content() -> None:
    text = "Intro\n--\n" + "\n".join(f"line {i}" for i in range(20))
    assert strip_quotes_and_signature(text) == text


def test_all_quoted_message_is_shown_whole() -> None:
    text = "On Mon, Jan 1, 2024 Bob wrote:\n> only quoted"
    assert strip_quotes_and_signature(text) == text


def test_forwarded_message_keeps_its_content() -> None:
    body = (
        b"FYI, is this phishing?\n\n-----Original Message-----\nFrom: fake@evil.example\nSent: today\n"
        b"To: me\nSubject: verify\n\nSend your seed phrase."
    )
    parsed = parse_email(message([("From", "a@example.com"), ("Subject", "Fwd: verify")], body))
    assert "Send your seed phrase." in parsed.visible_text


def test_long_lines_are_linear() -> None:
    text = ("On " * 200_000) + "\n" + ("在" * 200_000 + "写道") + "\n" + "> x\n" * 50_000
    started = time.perf_counter()
    strip_quotes_and_signature(text)
    assert time.perf_counter() - started < 1
