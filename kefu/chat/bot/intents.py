"""Reading a customer's chat message: cleaning it, its category, and the few intents the bot acts on.

The tables are small and explicit on purpose: a bot that guesses more than this should hand over.
Matching runs on folded text (NFKC, lower case, Traditional → Simplified), so 轉人工 and ＨＵＭＡＮ count.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final

from kefu.conversations.states import Category
from kefu.search.normalize import fold

# The widget caps a message at 4,000 characters; other callers may not, and nothing here needs more.
MAX_TEXT: Final = 4000
# Verdicts ("thanks, that worked") are short; a longer message is a new question.
MAX_VERDICT_LENGTH: Final = 40

# Checked in this order: "提现没到账" is a withdrawal, "充值交易哈希" a deposit.
CATEGORY_KEYWORDS: Final = (
    (Category.WITHDRAWAL, re.compile(r"\bwithdraw\w*|提现|提币")),
    (Category.DEPOSIT, re.compile(r"\bdeposit\w*|充值|充币|到账")),
    (Category.TRADING, re.compile(r"\border(?:s|ed)?\b|\btrad(?:e|es|ed|ing)\b|委托|订单|下单|交易")),
)
# "交易所" is the exchange itself, not a trade.
_NOT_TRADING: Final = re.compile("交易所")

# Anywhere in a message.
_HUMAN_PHRASES: Final = re.compile(
    r"\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s*)?(?:human|person|one|agent|real\s+person)\b"
    r"|\breal\s+person\b|\blive\s+agent\b|\bhuman\s+agent\b|\bhuman\s+support\b"
    r"|人工|真人|客服人员"
)
# Only as the whole message: "agent" inside a sentence may be about something else.
_HUMAN_WORDS: Final = frozenset({"human", "agent", "person", "operator", "support", "客服", "在线客服"})
_SKIP_WORDS: Final = frozenset(
    {
        "skip",
        "skip it",
        "pass",
        "n a",
        "na",
        "none",
        "i don t know",
        "don t know",
        "dont know",
        "i don t have it",
        "i dont have it",
        "跳过",
        "不知道",
        "没有",
        "无",
        "不清楚",
        "忘了",
    }
)
_GREETINGS: Final = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "hi there",
        "hello there",
        "good morning",
        "good afternoon",
        "good evening",
        "你好",
        "您好",
        "在吗",
        "在么",
        "在不在",
        "哈喽",
        "嗨",
        "有人吗",
    }
)
# "No problem" and "不错" read as negative words but mean it worked.
_POSITIVE_IDIOMS: Final = frozenset({"no problem", "not bad", "没问题", "不错", "不错啊", "没事了"})
_NEGATIVE: Final = re.compile(r"\b(?:no|not|nope|didn t|doesn t|don t|still)\b|没|不|未|还是")
_POSITIVE: Final = re.compile(
    r"\b(?:yes|yeah|yep|solved|thanks|thank you|thx|works|worked|fixed|great|ok|okay|got it|perfect)\b"
    r"|解决|谢谢|好了|可以了|明白|懂了|行了|好的|是的|对的"
)
_PUNCTUATION: Final = re.compile(r"[^\w]+")


class Verdict(StrEnum):
    SOLVED = "solved"
    NOT_SOLVED = "not_solved"


def clean(text: str) -> str:
    """The message with control and formatting characters removed, spaces collapsed, capped in length."""
    kept = []
    for ch in text[: MAX_TEXT * 2]:
        kind = unicodedata.category(ch)
        if ch in "\n\t":
            kept.append(" ")
        elif kind not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            kept.append(ch)
    return " ".join("".join(kept).split())[:MAX_TEXT]


def _words(text: str) -> str:
    """Folded text with punctuation as single spaces ("Don't!" → "don t")."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).replace("_", " ").split())


def has_content(text: str) -> bool:
    """Whether the message has any letter, digit or ideograph (emoji and punctuation alone do not)."""
    return any(ch.isalnum() for ch in text)


def is_greeting(text: str) -> bool:
    """Whether the whole message is a greeting, with nothing to search for."""
    return _words(text) in _GREETINGS


def wants_human(text: str) -> bool:
    """Whether the customer asks for a person ("talk to a human", "转人工"), in either language."""
    words = _words(text)
    return words in _HUMAN_WORDS or _HUMAN_PHRASES.search(words) is not None


def wants_skip(text: str) -> bool:
    """Whether the answer to a question means "I don't have it"."""
    return _words(text) in _SKIP_WORDS


def verdict(text: str) -> Verdict | None:
    """A short "that solved it" / "it didn't" after articles were offered; None for anything else."""
    if len(text) > MAX_VERDICT_LENGTH:
        return None
    words = _words(text)
    if words in _POSITIVE_IDIOMS:
        return Verdict.SOLVED
    if _NEGATIVE.search(words):
        return Verdict.NOT_SOLVED
    if _POSITIVE.search(words):
        return Verdict.SOLVED
    return None


def detect_category(text: str) -> Category | None:
    """Withdrawal, deposit or trading when the message names one (checked in that order), else None."""
    folded = _NOT_TRADING.sub(" ", fold(text[:MAX_TEXT]))
    for category, pattern in CATEGORY_KEYWORDS:
        if pattern.search(folded):
            return category
    return None
