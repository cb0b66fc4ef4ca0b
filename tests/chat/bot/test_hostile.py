"""Hostile and odd input: huge text, control characters, empty messages, emoji, odd buttons."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot import texts
from kefu.chat.bot.engine import BotTurn, bot_turn
from kefu.i18n import get_translator
from kefu.integrations.exchange.demo import DemoExchange
from kefu.request_forms.messages import field_message
from tests.chat.bot.conftest import BASE_URL, Chat, body

HOSTILE = [
    "",
    "   \n\t  ",
    "\x00\x01\x02\x7f",
    "\u200b\u200e\u202e\ufeff",
    "😀" * 5000,
    "🔥💯👍",
    "\ud800\udfff lone surrogates",
    "deposit " * 200_000,  # 1.6 MB
    "提现" * 100_000,
    "'; DROP TABLE conversations; --",
    "<script>alert(1)</script> my deposit",
    "%(name)s %s {0} {{x}}",
    "\x00my deposit\x00 has not arrived",
    "a\u0301\u0301\u0301\u0301" * 1000,  # stacked combining marks
]


def _assert_well_formed(turn: BotTurn) -> None:
    json.dumps(turn.state)  # storable as JSON
    for message in turn.messages:
        message.body.encode("utf-8")  # no lone surrogates reach the database or the socket
        assert len(message.body) < 2000
        assert len(message.articles) <= 3
    for value in turn.fields.values():
        value.encode("utf-8")


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_hostile_first_messages(chat_session: AsyncSession, text: str, locale: str) -> None:
    turn = await bot_turn(
        chat_session, text=text, choice=None, state={}, locale=locale, base_url=BASE_URL, exchange=None
    )
    _assert_well_formed(turn)
    assert turn.messages  # always an answer: a greeting, articles or a handover


@pytest.mark.parametrize("text", ["", "\x00\x1b", "😀😀", "  "])
async def test_contentless_messages_get_the_greeting_once(chat_session: AsyncSession, text: str) -> None:
    c = Chat(chat_session, "en", None)
    first = await c.say(text)
    assert body(first) == get_translator("en").gettext(texts.GREETING)
    assert not first.handover
    second = await c.say(text)
    assert second.handover


async def test_a_huge_message_is_searched_by_its_beginning(chat_session: AsyncSession) -> None:
    turn = await Chat(chat_session, "en", None).say("My deposit has not arrived. " + "blah " * 500_000)
    assert turn.outcome == "answered"
    assert turn.messages[0].articles[0].url.endswith("/deposit-not-credited")


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_answers_to_questions(
    chat_session: AsyncSession, text: str, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, "en", exchange)
    await c.say("my withdrawal to a friend named bob")
    assert c.state["asking"] == "asset"
    turn = await c.say(text)
    _assert_well_formed(turn)
    assert turn.state["phase"] == "collecting"
    assert turn.fields == {}  # none of these is an asset symbol
    assert turn.state["asking"] == "asset"


async def test_a_huge_error_message_answer_is_refused_with_the_limit(
    chat_session: AsyncSession, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, "en", exchange)
    await c.say("trade my vintage car collection for art")
    for _ in range(3):
        await c.tap("skip")
    assert c.state["asking"] == "error_message"
    turn = await c.say("x" * 1_000_000)
    assert body(turn).startswith(
        field_message(get_translator("en"), "error_message", "string_too_long", {"max_length": 2000})
    )
    assert turn.state["asking"] == "error_message"
    done = await c.say("Order rejected\x00\u202e: 51008")
    assert done.fields == {"error_message": "Order rejected: 51008"}


@pytest.mark.parametrize("choice", ["", "SOLVED", "solved ", "x" * 10_000, "__proto__", "skip"])
async def test_unknown_buttons_at_the_start_only_greet(chat_session: AsyncSession, choice: str) -> None:
    turn = await bot_turn(
        chat_session, text=None, choice=choice, state={}, locale="en", base_url=BASE_URL, exchange=None
    )
    assert body(turn) == get_translator("en").gettext(texts.GREETING)
    assert not turn.handover
    assert turn.outcome is None


async def test_a_base_url_with_a_trailing_slash(chat_session: AsyncSession) -> None:
    turn = await bot_turn(
        chat_session,
        text="my order failed",
        choice=None,
        state={},
        locale="en",
        base_url="https://support.example.com/",
        exchange=None,
    )
    assert turn.messages[0].articles[0].url == "https://support.example.com/hc/en/articles/order-failed"
