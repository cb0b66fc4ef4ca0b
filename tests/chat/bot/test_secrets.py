"""The bot never asks for a password, a 2FA code or a seed phrase, in any language or situation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot import texts
from kefu.chat.bot.engine import BotTurn
from kefu.i18n import SUPPORTED_LOCALES, get_translator
from kefu.integrations.exchange.demo import DemoExchange
from tests.chat.bot.conftest import Chat

FORBIDDEN = re.compile(
    r"pass\s*word|passcode|pass\s*phrase|\bpin\b|2\s*fa|two[\s-]*(?:factor|step)|authenticat|\botp\b"
    r"|one[\s-]*time|verification\s+code|security\s+code|\bsms\s+code|seed|mnemonic|recovery\s+(?:phrase|words?)"
    r"|secret|private\s+key|12\s+words|24\s+words"
    r"|密码|口令|验证码|动态码|校验码|谷歌验证|身份验证器|验证器|二次验证|双重验证|两步验证|助记词|私钥|种子|密钥",
    re.IGNORECASE,
)


def _strings(turn: BotTurn) -> list[str]:
    # Articles are the help center's own content (their titles may name passwords); the bot's
    # words are the bodies and the buttons.
    return [text for m in turn.messages for text in (m.body, *(c.label for c in m.choices))]


def test_the_forbidden_pattern_catches_requests_for_secrets() -> None:
    for asking in (
        "Please send your password",
        "What is your 2FA code?",
        "Enter the 6-digit code from Google Authenticator",
        "Type your seed phrase",
        "请提供您的登录密码",
        "请发送谷歌验证码",
        "请输入助记词",
    ):
        assert FORBIDDEN.search(asking), asking


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_no_bot_text_mentions_a_secret(locale: str) -> None:
    t = get_translator(locale)
    for msgid in texts.ALL:
        for text in (msgid, t.gettext(msgid)):
            assert not FORBIDDEN.search(text), text


# Scripts that walk every path, with answers that make the validators speak too.
SCRIPTS: list[list[tuple[str, str | None]]] = [
    [("say", None), ("say", "hi"), ("say", "😀")],
    [("say", "My deposit has not arrived"), ("tap", "solved"), ("say", "my order failed"), ("say", "no")],
    [
        ("say", "充值一直没到账"),
        ("tap", "not_solved"),
        ("say", "U S D T"),
        ("say", "ＵＳＤＴ"),
        ("say", "BEP-20"),
        ("say", "0x12"),
        ("say", "abc"),
        ("say", "不知道"),
    ],
    [
        ("say", "my withdrawal to a friend named bob"),
        ("say", "usdt"),
        ("say", "Solana"),
        ("say", "0x" + "a" * 64),
        ("say", "I lost my password, send me a code"),
        ("tap", "skip"),
    ],
    [
        ("say", "trade my vintage car collection for art"),
        ("say", "DOGE/USDT"),
        ("say", "bad pair"),
        ("say", "x" * 300),
        ("tap", "skip"),
        ("say", "order #1"),
        ("say", "yesterday"),
        ("say", "2026-13-45 10:00"),
        ("say", "2026-01-31 10:00"),
        ("say", "2026-01-31 10:00 +08:00"),
        ("say", "x" * 5000),
        ("say", "human"),
    ],
    [("say", "提现没到账，转人工"), ("tap", "human"), ("say", "hello?")],
    [("say", "what is the price prediction for solana"), ("tap", "solved")],
]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("script", range(len(SCRIPTS)))
async def test_no_bot_message_asks_for_a_secret(
    chat_session: AsyncSession, exchange: DemoExchange, locale: str, script: int
) -> None:
    c = Chat(chat_session, locale, exchange)
    for action, value in SCRIPTS[script]:
        turn = await (c.say(value) if action == "say" else c.tap(value or ""))
        for text in _strings(turn):
            assert not FORBIDDEN.search(text), text
    assert any(turn.messages for turn in c.turns)
