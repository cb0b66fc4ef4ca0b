"""Reading chat messages: cleaning, categories and intents in both languages, time answers."""

from __future__ import annotations

import pytest

from kefu.chat.bot.fields import tidy, tidy_time
from kefu.chat.bot.intents import (
    MAX_TEXT,
    Verdict,
    clean,
    detect_category,
    has_content,
    is_greeting,
    verdict,
    wants_human,
    wants_skip,
)
from kefu.conversations.states import Category


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My deposit hasn't arrived", Category.DEPOSIT),
        ("deposited USDT 2 hours ago", Category.DEPOSIT),
        ("充值一直没有到账", Category.DEPOSIT),
        ("充幣沒到賬", Category.DEPOSIT),  # Traditional characters fold to Simplified
        ("USDT 充币", Category.DEPOSIT),
        ("withdrawal pending for hours", Category.WITHDRAWAL),
        ("How do I withdraw BTC?", Category.WITHDRAWAL),
        ("提现一直没到账", Category.WITHDRAWAL),  # a withdrawal, though 到账 also names deposits
        ("提币失败", Category.WITHDRAWAL),
        ("my order is stuck", Category.TRADING),
        ("I can't trade BTC", Category.TRADING),
        ("ORDERS not filled", Category.TRADING),
        ("委托单一直挂着", Category.TRADING),
        ("订单失败", Category.TRADING),
        ("交易对 BTC/USDT 无法交易", Category.TRADING),
        ("下单失败了", Category.TRADING),
        ("我的账户被锁了", None),
        ("交易所在哪里", None),  # the exchange itself, not a trade
        ("borderline tradeoff", None),  # whole words only
        ("", None),
    ],
)
def test_detect_category(text: str, expected: Category | None) -> None:
    assert detect_category(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "human",
        "Agent",
        "talk to a human",
        "Can I speak to a person please?",
        "I want to talk to someone",
        "real person!!",
        "live agent",
        "人工",
        "转人工",
        "轉人工",
        "我要人工客服",
        "找真人",
        "客服",
        "ＨＵＭＡＮ",  # full-width
    ],
)
def test_wants_human(text: str) -> None:
    assert wants_human(text)


@pytest.mark.parametrize(
    "text", ["my deposit is missing", "the agent said wait", "a person sent me USDT", "提现失败", ""]
)
def test_not_asking_for_a_human(text: str) -> None:
    assert not wants_human(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", Verdict.SOLVED),
        ("Thanks, that worked!", Verdict.SOLVED),
        ("solved", Verdict.SOLVED),
        ("no problem", Verdict.SOLVED),
        ("解决了，谢谢", Verdict.SOLVED),
        ("好的", Verdict.SOLVED),
        ("没问题", Verdict.SOLVED),
        ("no", Verdict.NOT_SOLVED),
        ("not solved", Verdict.NOT_SOLVED),
        ("It didn't help", Verdict.NOT_SOLVED),
        ("still not working, thanks", Verdict.NOT_SOLVED),
        ("没解决", Verdict.NOT_SOLVED),
        ("还是不行", Verdict.NOT_SOLVED),
        ("what is the withdrawal fee for USDT on TRC20 network today?", None),  # a new question
        ("BTC", None),
    ],
)
def test_verdict(text: str, expected: Verdict | None) -> None:
    assert verdict(text) == expected


@pytest.mark.parametrize("text", ["skip", "Skip!", "I don't know", "n/a", "跳过", "不知道", "没有"])
def test_wants_skip(text: str) -> None:
    assert wants_skip(text)


@pytest.mark.parametrize("text", ["hi", "Hello!", "你好", "您好～", "在吗？"])
def test_greetings(text: str) -> None:
    assert is_greeting(text)
    assert not is_greeting(text + " my deposit is missing")


def test_clean_removes_control_and_format_characters_and_caps_length() -> None:
    assert clean("a\x00b\x1b[31m\u200bc\u202ed\r\ne\tf\ud800") == "ab[31mcd e f"
    assert clean("   \n\t ") == ""
    assert len(clean("x" * 1_000_000)) == MAX_TEXT
    assert clean("提现 😀 BTC") == "提现 😀 BTC"


def test_has_content() -> None:
    assert has_content("BTC")
    assert has_content("提现")
    assert not has_content("😀👍🔥")
    assert not has_content("?!…")
    assert not has_content("")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("2026-01-31 14:30 +08:00", "2026-01-31 14:30+08:00"),
        ("2026/1/31 14:30 UTC+8", "2026-01-31 14:30+08:00"),
        ("2026年1月31日 14:30 GMT-5", "2026-01-31 14:30-05:00"),
        ("2026-01-31T14:30Z", "2026-01-31T14:30+00:00"),
        ("2026-01-31 14:30 UTC", "2026-01-31 14:30+00:00"),
        ("2026-01-31 14:30", "2026-01-31 14:30"),  # no zone: left for the validator to ask for
        ("2026-01-31 14:30 +99:00", "2026-01-31 14:30 +99:00"),  # not an offset: left as typed
        ("yesterday", "yesterday"),
    ],
)
def test_tidy_time(answer: str, expected: str) -> None:
    assert tidy_time(answer) == expected


def test_tidy_folds_shape_fields_but_keeps_free_text() -> None:
    assert tidy("tx_hash", " ０ｘａｂ cd ") == "0xabcd"
    assert tidy("pair", "btc / usdt") == "btc/usdt"
    assert tidy("error_message", "  余额不足 (code 1001)  ") == "余额不足 (code 1001)"
