"""The bot's state machine: greeting, offering articles, locales and stored state (both languages)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot import texts
from kefu.chat.bot.engine import bot_turn
from kefu.integrations.exchange.demo import DemoExchange
from kefu.search.normalize import is_chinese
from tests.chat.bot.conftest import (
    BASE_URL,
    BOTH,
    DEPOSIT_QUESTION,
    ORDER_QUESTION,
    WITHDRAWAL_QUESTION,
    Chat,
    assert_handed_over,
    body,
    choice_ids,
    question,
    say,
)

# --- greeting --------------------------------------------------------------------------------------


@BOTH
async def test_greets_and_asks_for_the_problem(chat_session: AsyncSession, locale: str) -> None:
    c = Chat(chat_session, locale, None)
    opening = await c.say(None)
    assert body(opening) == say(locale, texts.GREETING)
    assert (opening.handover, opening.outcome, opening.category, opening.fields) == (False, None, None, {})
    hello = await c.say("你好" if locale == "zh-CN" else "Hello!")
    assert body(hello) == say(locale, texts.GREETING)
    assert not hello.handover
    # A second message with nothing to search for: a person can ask better questions.
    again = await c.say("👍")
    assert_handed_over(again, locale)


# --- offering articles -----------------------------------------------------------------------------


@BOTH
async def test_confident_answer_offers_articles_and_solved_deflects(
    chat_session: AsyncSession, locale: str
) -> None:
    c = Chat(chat_session, locale, None)
    offer = await c.say(DEPOSIT_QUESTION[locale])
    assert offer.outcome == "answered"
    assert not offer.handover
    assert offer.category == "deposit"
    (message,) = offer.messages
    assert message.body == say(locale, texts.OFFER)
    assert [c.id for c in message.choices] == ["solved", "not_solved", "human"]
    assert [c.label for c in message.choices] == [
        say(locale, texts.CHOICE_SOLVED),
        say(locale, texts.CHOICE_NOT_SOLVED),
        say(locale, texts.CHOICE_HUMAN),
    ]
    assert message.articles[0].url == f"{BASE_URL}/hc/{locale}/articles/deposit-not-credited"
    assert message.articles[0].title
    assert len(message.articles) <= 3
    solved = await c.tap("solved")
    assert body(solved) == say(locale, texts.SOLVED)
    assert solved.outcome == "deflected"
    assert not solved.handover
    assert solved.state["phase"] == "done"
    # Stray buttons after that are ignored; a new question starts over.
    assert (await c.tap("solved")).messages == ()
    new = await c.say(ORDER_QUESTION[locale])
    assert new.outcome == "answered"
    assert new.category == "trading"


@pytest.mark.parametrize(
    ("locale", "reply"), [("en", "Thanks, that worked!"), ("zh-CN", "解决了，谢谢"), ("en", "yes")]
)
async def test_typed_thanks_deflects(chat_session: AsyncSession, locale: str, reply: str) -> None:
    c = Chat(chat_session, locale, None)
    await c.say(DEPOSIT_QUESTION[locale])
    turn = await c.say(reply)
    assert turn.outcome == "deflected"
    assert not turn.handover


@BOTH
async def test_a_reworded_question_is_searched_again_then_escalated(
    chat_session: AsyncSession, locale: str
) -> None:
    c = Chat(chat_session, locale, None)
    first = await c.say(ORDER_QUESTION[locale])
    assert first.outcome == "answered"
    second = await c.say(WITHDRAWAL_QUESTION[locale])
    assert second.outcome == "answered"
    assert second.messages[0].articles[0].url.endswith("/withdrawal-pending")
    assert second.category == "trading"  # the first category detected stays
    # Two offers per question: the third attempt goes to a person, through the trading questions.
    third = await c.say(WITHDRAWAL_QUESTION[locale])
    assert third.outcome is None
    assert body(third).startswith(say(locale, texts.NOT_SOLVED))
    assert third.messages[-1].body.endswith(question(locale, "pair"))


@BOTH
async def test_a_stray_button_while_offered_asks_again(chat_session: AsyncSession, locale: str) -> None:
    c = Chat(chat_session, locale, None)
    await c.say(DEPOSIT_QUESTION[locale])
    turn = await c.tap("skip")
    assert body(turn) == say(locale, texts.OFFER_AGAIN)
    assert choice_ids(turn) == ["solved", "not_solved", "human"]
    assert turn.state["phase"] == "offered"
    assert turn.outcome is None


async def test_a_chinese_question_in_an_english_chat_finds_chinese_articles(
    chat_session: AsyncSession,
) -> None:
    turn = await Chat(chat_session, "en", None).say("充值一直没到账")
    assert turn.outcome == "answered"
    assert turn.messages[0].articles[0].url == f"{BASE_URL}/hc/zh-CN/articles/deposit-not-credited"
    assert turn.messages[0].body == say("en", texts.OFFER)  # the bot still speaks the chat's language


# --- locales and state -----------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "chinese"), [("zh-TW", True), ("zh", True), ("fr", False), ("", False)])
async def test_locale_tags(chat_session: AsyncSession, tag: str, chinese: bool) -> None:
    turn = await bot_turn(
        chat_session, text=None, choice=None, state={}, locale=tag, base_url=BASE_URL, exchange=None
    )
    assert is_chinese(body(turn)) == chinese


async def test_chinese_conversations_read_chinese(chat_session: AsyncSession, exchange: DemoExchange) -> None:
    c = Chat(chat_session, "zh-CN", exchange)
    turns = [
        await c.say(None),
        await c.say(DEPOSIT_QUESTION["zh-CN"]),
        await c.tap("not_solved"),
        await c.say("USDT"),
        await c.say("TRC20"),
        await c.say("0x12"),
        await c.say("a" * 64),
    ]
    for turn in turns:
        for message in turn.messages:
            assert is_chinese(message.body), message.body
            assert all(is_chinese(choice.label) for choice in message.choices)


async def test_state_is_json_and_round_trips(chat_session: AsyncSession, exchange: DemoExchange) -> None:
    c = Chat(chat_session, "en", exchange)
    await c.say(DEPOSIT_QUESTION["en"])
    await c.tap("not_solved")
    turn = await c.say("USDT")
    c.state = json.loads(json.dumps(turn.state))
    next_turn = await c.say("TRC20")
    assert next_turn.fields == {"asset": "USDT", "network": "TRC20"}


@pytest.mark.parametrize(
    "state",
    [
        {"phase": "nonsense"},
        {"phase": "collecting", "reasks": -4},
        {"v": "x", "fields": ["not", "a", "dict"]},
        {"phase": "offered", "offers": "many"},
    ],
)
async def test_unreadable_state_starts_over(chat_session: AsyncSession, state: dict[str, object]) -> None:
    turn = await bot_turn(
        chat_session, text=None, choice=None, state=state, locale="en", base_url=BASE_URL, exchange=None
    )
    assert body(turn) == say("en", texts.GREETING)
    assert turn.state["phase"] == "start"


@pytest.mark.parametrize(
    "state",
    [
        {"phase": "collecting", "category": "deposit", "asking": "password"},
        {"phase": "collecting", "category": "deposit", "asking": None},
        {"phase": "collecting", "category": "deposit", "asking": "asset", "fields": {"asset": "USDT"}},
    ],
)
async def test_an_edited_collecting_state_asks_what_is_missing(
    chat_session: AsyncSession, state: dict[str, object]
) -> None:
    turn = await bot_turn(
        chat_session, text="USDT", choice=None, state=state, locale="en", base_url=BASE_URL, exchange=None
    )
    assert turn.state["asking"] in ("asset", "network")
    assert body(turn).endswith(question("en", turn.state["asking"]))


async def test_collecting_without_a_plan_hands_over(chat_session: AsyncSession) -> None:
    state = {"phase": "collecting", "category": "kyc", "asking": "uid"}
    turn = await bot_turn(
        chat_session, text="123", choice=None, state=state, locale="en", base_url=BASE_URL, exchange=None
    )
    assert_handed_over(turn, "en")
