"""Templates: every one renders in every locale, text and HTML; customer text is escaped; slots behave."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.i18n import SUPPORTED_LOCALES
from kefu.mail.render import format_due, render
from kefu.mail.specs import TEMPLATES, get_spec

# One valid context per registered template: adding a template without one fails the test below.
SAMPLES: dict[str, dict[str, Any]] = {
    "customer_sign_in": {
        "code": "012345",
        "link": "https://kefu.test/hc/en/requests/sign-in?t=a&u=b",
        "minutes": 15,
    },
    "agent_reply": {
        "reference": "KF-12345678",
        "subject": "Deposit missing",
        "body": "We found it.\nIt is credited now. <b>not bold</b>",
        "requests_url": "https://kefu.test/hc/en/my/requests",
        "files": ["receipt.png"],
    },
    "request_received": {
        "reference": "KF-12345678",
        "subject": "Deposit missing",
        "first_response_due": "2025-03-01T12:00:00+00:00",
        "requests_url": "https://kefu.test/hc/en/requests",
        "time_zone": "Asia/Shanghai",
    },
    "chat_transcript": {
        "reference": "KF-12345678",
        "subject": "Deposit missing",
        "transcript": [
            {"author": "You", "at": "2025-03-01T12:00:00+00:00", "body": "Where is my <b>USDT</b>?"},
            {"author": "Li Wei", "at": "2025-03-01T12:01:30+00:00", "body": "Credited now.\nSorry!"},
        ],
        "time_zone": "Asia/Shanghai",
    },
    "secret_redacted": {
        "reference": "KF-12345678",
        "labels": ["seed phrase (recovery words)", "password"],
        "requests_url": "https://kefu.test/hc/en/my/requests",
    },
    "identity_code": {"reference": "KF-12345678", "code": "004217", "minutes": 10},
    "anti_phishing_code_changed": {
        "changed_at": "2025-03-01T12:00:00+00:00",
        "requests_url": "https://kefu.test/hc/en/my/requests",
        "time_zone": "Asia/Shanghai",
    },
    "agent_email_changed": {
        "old_email": "li@kefu.test",
        "new_email": "li.wei@kefu.test",
        "changed_by": "Root <Admin>",
        "changed_at": "2025-03-01T12:00:00+00:00",
        "recipient": "old",
    },
    "recovery_received": {
        "reference": "KF-12345678",
        "purge_days": 30,
        "requests_url": "https://kefu.test/hc/en/my/requests",
    },
    "callback_scheduled": {
        "reference": "KF-12345678",
        "window": "Tue, Mar 11, 2025 10:00–11:00 (Asia/Shanghai)",
        "official_number": "+8640012345678",
        "number_ending": "8000",
    },
    "recovery_decided": {
        "reference": "KF-12345678",
        "outcome": "approved",
        "reason": "We confirmed your identity and unlocked your account. You can sign in again now.",
        "purge_days": 30,
        "requests_url": "https://kefu.test/hc/en/my/requests",
        "hold_reason": "Withdrawals are locked for 24 hours after a 2FA reset.",
        "hold_until": "2025-03-02 12:00 (Asia/Shanghai)",
    },
}


def rendered(name: str, locale: str = "en", code: str | None = None, **changes: Any) -> Any:
    spec = get_spec(name)
    return render(spec, locale, spec.check_context(SAMPLES[name] | changes), code)


def test_every_template_has_a_sample() -> None:
    assert set(SAMPLES) == set(TEMPLATES)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_renders_text_and_html_in_every_locale(name: str, locale: str) -> None:
    result = rendered(name, locale)
    assert result.locale == locale
    assert result.subject
    assert "\n" not in result.subject
    assert result.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in result.html
    assert "<script" not in result.html
    assert result.text.strip()
    assert "<p" not in result.text
    assert "{{" not in result.text + result.html  # nothing left unrendered


def test_sign_in_email_says_what_the_brief_asks() -> None:
    result = rendered("customer_sign_in")
    assert result.subject == "Your sign-in code"
    for part in (result.text, result.html):
        assert "012345" in part
        assert "My requests" in part
        assert "valid for 15 minutes" in part
        assert "If you did not ask for this code" in part
        assert (
            "never ask you for this code, your password, two-factor (2FA) codes or your seed phrase" in part
        )
    assert "https://kefu.test/hc/en/requests/sign-in?t=a&u=b" in result.text  # text is not escaped
    assert 'href="https://kefu.test/hc/en/requests/sign-in?t=a&amp;u=b"' in result.html
    assert "valid for 1 minute." in rendered("customer_sign_in", minutes=1).text


def test_sign_in_email_in_chinese() -> None:
    result = rendered("customer_sign_in", "zh-CN")
    assert result.subject == "您的登录验证码"
    for part in (result.text, result.html):
        assert "请使用以下验证码登录“我的工单”" in part
        assert "15 分钟内有效" in part
        assert "绝不会向您索要此验证码" in part


def test_chat_transcript_lists_every_line_escaped_in_the_readers_zone() -> None:
    english = rendered("chat_transcript")
    assert english.subject == "Your chat transcript: Deposit missing"
    assert "Li Wei · Sat, Mar 1, 2025 20:01 (Asia/Shanghai)" in english.text
    assert "Where is my <b>USDT</b>?" in english.text
    assert "Where is my &lt;b&gt;USDT&lt;/b&gt;?" in english.html
    assert "<b>USDT</b>" not in english.html
    chinese = rendered("chat_transcript", "zh-CN")
    assert chinese.subject == "您的聊天记录：Deposit missing"
    spec = get_spec("chat_transcript")
    for bad in (
        [],
        [{"author": "x", "at": "yesterday", "body": "hi"}],
        [{"author": "", "at": None, "body": ""}],
    ):
        with pytest.raises(ValueError, match="transcript"):
            spec.check_context(SAMPLES["chat_transcript"] | {"transcript": bad})


def test_request_received_in_both_languages() -> None:
    english = rendered("request_received")
    assert english.subject == "We received your request: Deposit missing"
    assert "Your reference is KF-12345678." in english.text
    assert "We aim to answer by Sat, Mar 1, 2025 20:00 (Asia/Shanghai)." in english.text
    assert "reply to this email" in english.text
    assert "https://kefu.test/hc/en/requests" in english.text
    assert 'href="https://kefu.test/hc/en/requests"' in english.html

    chinese = rendered("request_received", "zh-CN", subject="充币没到账")
    assert chinese.subject == "我们已收到您的工单：充币没到账"
    assert "您的工单编号是 KF-12345678。" in chinese.text
    assert "我们争取在 2025年3月1日周六 20:00 (Asia/Shanghai) 前答复您。" in chinese.text
    assert "直接回复本邮件" in chinese.html


def test_due_time_is_omitted_when_null_and_defaults_to_utc() -> None:
    spec = get_spec("request_received")
    context = {key: value for key, value in SAMPLES["request_received"].items() if key != "time_zone"}
    utc = render(spec, "en", spec.check_context(context))
    assert "We aim to answer by Sat, Mar 1, 2025 12:00 (UTC)." in utc.text
    none = rendered("request_received", first_response_due=None)
    assert "aim to answer" not in none.text + none.html
    assert (
        format_due("2025-03-01T23:30:00-05:00", "Asia/Shanghai", "en")
        == "Sun, Mar 2, 2025 12:30 (Asia/Shanghai)"
    )


def test_hostile_subject_is_escaped_in_html_and_kept_on_one_line() -> None:
    hostile = 'Help <script>alert("x")</script>\r\nBcc: victim@evil.example\u2028<img src=x onerror=alert(1)>'
    result = rendered("request_received", subject=hostile)
    assert "<script>" not in result.html
    assert "<img" not in result.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in result.html
    assert "\r" not in result.subject
    assert "\n" not in result.subject
    assert "\u2028" not in result.subject
    assert result.subject.startswith('We received your request: Help <script>alert("x")</script> Bcc: victim')
    assert "\nBcc:" not in result.text


def test_long_subject_is_capped_and_empty_subject_named() -> None:
    long = rendered("request_received", subject="x" * 1000)
    assert len(long.subject) < 200
    assert long.subject.endswith("…")
    empty = rendered("request_received", subject=" \r\n ")
    assert empty.subject == "We received your request: (no subject)"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_anti_phishing_code_is_shown_first_when_set_and_absent_otherwise(name: str) -> None:
    with_code = rendered(name, code="<b>BLUE-42</b>")
    assert with_code.text.startswith("Your anti-phishing code: <b>BLUE-42</b>\n")
    assert "Your anti-phishing code: &lt;b&gt;BLUE-42&lt;/b&gt;" in with_code.html
    body = with_code.html.split("<body", 1)[1]
    first = body.index("<p")
    assert "anti-phishing" in body[first : body.index("</p>", first)]  # the first paragraph
    without = rendered(name)
    assert "Your anti-phishing code:" not in without.text + without.html
    assert "防钓鱼码：BLUE-42" in rendered(name, "zh-CN", code="BLUE-42").text


def test_an_agent_reply_keeps_lines_escapes_html_and_names_files() -> None:
    result = rendered("agent_reply")
    assert result.subject == "Re: Deposit missing"
    assert "We found it.\nIt is credited now." in result.text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in result.html
    assert "receipt.png" in result.text
    assert "receipt.png" in result.html
    zh = rendered("agent_reply", "zh-CN")
    assert "您的编号是 KF-12345678" in zh.text
    only_files = rendered("agent_reply", body="")
    assert "receipt.png" in only_files.text
