"""Collecting form fields before a handover, and asking for a person, in English and Chinese."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot import texts
from kefu.chat.bot.engine import MAX_REASKS
from kefu.i18n import get_translator
from kefu.integrations.exchange.demo import DemoExchange
from kefu.request_forms.exchange_lists import install_exchange
from kefu.request_forms.messages import field_message
from tests.chat.bot.conftest import (
    BOTH,
    DEPOSIT_QUESTION,
    ORDER_QUESTION,
    TRADING_UNKNOWN,
    WITHDRAWAL_UNKNOWN,
    Chat,
    assert_handed_over,
    body,
    choice_ids,
    question,
    say,
)

TRC20_HASH = "a" * 64

# --- not solved / not confident: collecting fields, then handing over -----------------------------


@BOTH
async def test_deposit_not_solved_collects_asset_network_and_tx_hash(
    chat_session: AsyncSession, locale: str, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, locale, exchange)
    await c.say(DEPOSIT_QUESTION[locale])
    ask_asset = await c.tap("not_solved")
    assert not ask_asset.handover
    assert ask_asset.outcome is None
    assert body(ask_asset) == "\n\n".join(
        [say(locale, texts.NOT_SOLVED), say(locale, texts.COLLECT_INTRO), question(locale, "asset")]
    )
    assert choice_ids(ask_asset) == ["skip", "human"]
    ask_network = await c.say("usdt")
    assert ask_network.fields == {"asset": "USDT"}
    assert body(ask_network) == say(locale, texts.THANKS_NEXT) + "\n\n" + question(locale, "network")
    ask_hash = await c.say("TRC20")
    assert body(ask_hash).endswith(question(locale, "tx_hash"))
    done = await c.say(f"  {TRC20_HASH}  ")
    assert_handed_over(done, locale)
    assert done.fields == {"asset": "USDT", "network": "TRC20", "tx_hash": TRC20_HASH}
    assert done.category == "deposit"
    assert body(done).startswith(say(locale, texts.COLLECTED))


@BOTH
async def test_trading_fields_are_validated_one_by_one(
    chat_session: AsyncSession, locale: str, exchange: DemoExchange
) -> None:
    t = get_translator(locale)
    c = Chat(chat_session, locale, exchange)
    await c.say(ORDER_QUESTION[locale])
    ask_pair = await c.tap("human")
    assert body(ask_pair).endswith(question(locale, "pair"))
    # Shaped like a pair but not listed by the exchange: the validator's message, the same question.
    unknown = await c.say("DOGE/USDT")
    assert body(unknown) == field_message(t, "pair", "kefu_pair_unknown") + "\n\n" + question(locale, "pair")
    assert choice_ids(unknown) == ["skip", "human"]
    ask_order = await c.say("btc-usdt")
    assert ask_order.fields == {"pair": "BTC/USDT"}
    bad_id = await c.say("order #12 34!")
    assert body(bad_id) == (
        field_message(t, "order_id", "string_pattern_mismatch") + "\n\n" + question(locale, "order_id")
    )
    await c.say("ORD-1001")
    no_zone = await c.say("2026-01-31 14:30")
    assert body(no_zone).startswith(field_message(t, "occurred_at", "kefu_time_zone_missing"))
    ask_error = await c.say("2026-01-31 14:30 +08:00")
    assert ask_error.fields["occurred_at"] == "2026-01-31T14:30:00+08:00"
    assert body(ask_error).endswith(question(locale, "error_message"))
    done = await c.say("余额不足 Insufficient balance <b>(code 1001)</b>")
    assert_handed_over(done, locale)
    assert done.fields == {
        "pair": "BTC/USDT",
        "order_id": "ORD-1001",
        "occurred_at": "2026-01-31T14:30:00+08:00",
        "error_message": "余额不足 Insufficient balance <b>(code 1001)</b>",
    }


@BOTH
async def test_an_invalid_answer_is_asked_twice_more_then_skipped(
    chat_session: AsyncSession, locale: str, exchange: DemoExchange
) -> None:
    t = get_translator(locale)
    c = Chat(chat_session, locale, exchange)
    await c.say(DEPOSIT_QUESTION[locale])
    await c.tap("not_solved")
    await c.say("USDT")
    await c.say("TRC20")
    expected = field_message(t, "tx_hash", "kefu_tx_hash_format", {"rule": "hex64", "network": "TRC20"})
    for attempt in range(MAX_REASKS):
        turn = await c.say("0x" + "a" * 64)  # an EVM hash: the wrong shape for TRC20
        assert body(turn) == expected + "\n\n" + question(locale, "tx_hash"), attempt
        assert turn.state["asking"] == "tx_hash"
        assert not turn.handover
    last = await c.say("not-a-hash")
    assert_handed_over(last, locale)
    assert body(last).startswith(say(locale, texts.SKIPPED_AFTER_TRIES))
    assert "tx_hash" not in last.fields
    assert last.fields == {"asset": "USDT", "network": "TRC20"}


@pytest.mark.parametrize(("locale", "skip"), [("en", "I don't know"), ("zh-CN", "不知道")])
async def test_questions_can_be_skipped_by_button_or_words(
    chat_session: AsyncSession, locale: str, skip: str, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, locale, exchange)
    first = await c.say(WITHDRAWAL_UNKNOWN[locale])
    assert first.category == "withdrawal"
    assert body(first).startswith(say(locale, texts.NOT_FOUND))
    assert body(first).endswith(question(locale, "asset"))
    assert body(await c.tap("skip")).endswith(question(locale, "network"))
    assert body(await c.say(skip)).endswith(question(locale, "tx_hash"))
    done = await c.tap("skip")
    assert_handed_over(done, locale)
    assert done.fields == {}
    assert not body(done).startswith(say(locale, texts.COLLECTED))  # nothing was collected


@BOTH
async def test_not_confident_with_a_category_collects_fields(
    chat_session: AsyncSession, locale: str, exchange: DemoExchange
) -> None:
    turn = await Chat(chat_session, locale, exchange).say(TRADING_UNKNOWN[locale])
    assert turn.category == "trading"
    assert turn.outcome is None
    assert not turn.handover
    assert body(turn) == "\n\n".join(
        [say(locale, texts.NOT_FOUND), say(locale, texts.COLLECT_INTRO), question(locale, "pair")]
    )


@pytest.mark.parametrize(
    ("locale", "text"), [("en", "are you hiring software engineers"), ("zh-CN", "你们公司在哪里招聘实习生")]
)
async def test_not_confident_without_a_category_hands_over(
    chat_session: AsyncSession, locale: str, text: str
) -> None:
    turn = await Chat(chat_session, locale, None).say(text)
    assert_handed_over(turn, locale)
    assert turn.category is None
    assert body(turn) == say(locale, texts.NOT_FOUND) + "\n\n" + say(locale, texts.HANDOVER)


# --- asking for a person ---------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "text"), [("en", "talk to a human"), ("zh-CN", "转人工")])
async def test_asking_for_a_person_first_hands_over(
    chat_session: AsyncSession, locale: str, text: str
) -> None:
    turn = await Chat(chat_session, locale, None).say(text)
    assert_handed_over(turn, locale)
    assert body(turn) == say(locale, texts.HANDOVER)


@pytest.mark.parametrize(
    ("locale", "text"), [("en", "withdrawal stuck, let me talk to a person"), ("zh-CN", "提现没到账，转人工")]
)
async def test_asking_for_a_person_about_a_transfer_collects_first(
    chat_session: AsyncSession, locale: str, text: str, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, locale, exchange)
    turn = await c.say(text)
    assert turn.category == "withdrawal"
    assert body(turn).endswith(question(locale, "asset"))
    await c.say("USDT")
    # Asking again during the questions skips the rest.
    done = await c.say("人工" if locale == "zh-CN" else "human")
    assert_handed_over(done, locale)
    assert done.fields == {"asset": "USDT"}


@BOTH
async def test_the_person_button_skips_the_remaining_questions(
    chat_session: AsyncSession, locale: str, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, locale, exchange)
    await c.say(TRADING_UNKNOWN[locale])
    done = await c.tap("human")
    assert_handed_over(done, locale)
    assert done.fields == {}


@BOTH
async def test_solved_during_questions_deflects(
    chat_session: AsyncSession, locale: str, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, locale, exchange)
    await c.say(DEPOSIT_QUESTION[locale])
    await c.tap("not_solved")
    turn = await c.tap("solved")
    assert turn.outcome == "deflected"
    assert not turn.handover


async def test_the_bot_is_silent_after_a_handover(chat_session: AsyncSession) -> None:
    c = Chat(chat_session, "en", None)
    handed = await c.say("human")
    for later in ("hello?", "my deposit is missing", "human"):
        turn = await c.say(later)
        assert turn.messages == ()
        assert not turn.handover
        assert turn.outcome is None
        assert turn.state == handed.state
    assert (await c.tap("solved")).messages == ()


async def test_other_buttons_during_questions_repeat_the_question(
    chat_session: AsyncSession, exchange: DemoExchange
) -> None:
    c = Chat(chat_session, "en", exchange)
    await c.say(TRADING_UNKNOWN["en"])
    turn = await c.tap("not_solved")
    assert body(turn) == question("en", "pair")
    assert turn.state["asking"] == "pair"


async def test_without_an_exchange_pairs_are_checked_for_shape_only(chat_session: AsyncSession) -> None:
    # No exchange at all: not even the one an app built by an earlier test installed for the process.
    previous = install_exchange(None)
    try:
        await _shape_only(chat_session)
    finally:
        install_exchange(previous)


async def _shape_only(chat_session: AsyncSession) -> None:
    c = Chat(chat_session, "en", None)
    await c.say(TRADING_UNKNOWN["en"])
    turn = await c.say("doge_usdt")
    assert turn.fields == {"pair": "DOGE/USDT"}
    bad = await c.say("not a pair")
    assert bad.state["asking"] == "order_id"  # the pair was accepted; this was an order id answer
    assert body(bad).startswith(field_message(get_translator("en"), "order_id", "string_pattern_mismatch"))
