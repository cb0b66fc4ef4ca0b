"""Chat-bot fixtures: a database with the demo knowledge base, the demo exchange, a scripted chat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot import texts
from kefu.chat.bot.engine import BotTurn, bot_turn
from kefu.db.uow import transaction
from kefu.i18n import get_translator
from kefu.integrations.exchange.demo import DemoExchange
from kefu.kb.demo import load_demo_kb
from kefu.request_forms.exchange_lists import clear_exchange_lists
from tests.conftest import Database

BASE_URL = "http://kefu.test"


@pytest.fixture
async def kb_db(db: Database) -> Database:
    """`db` with the bundled demo articles published and indexed (both locales)."""
    async with transaction(db.sessionmaker) as session:
        await load_demo_kb(session)
    return db


@pytest.fixture
def exchange() -> Iterator[DemoExchange]:
    """The demo exchange (lists pairs BTC/USDT, ETH/USDT, SOL/USDT, XRP/USDT, ETH/BTC), caches cleared."""
    clear_exchange_lists()
    yield DemoExchange()
    clear_exchange_lists()


@dataclass
class Chat:
    """One conversation with the bot: each call feeds the previous turn's state back, as the lead does."""

    session: AsyncSession
    locale: str
    exchange: DemoExchange | None
    state: dict[str, Any] = field(default_factory=dict)
    turns: list[BotTurn] = field(default_factory=list)

    async def say(self, text: str | None) -> BotTurn:
        return await self._turn(text=text, choice=None)

    async def tap(self, choice: str) -> BotTurn:
        return await self._turn(text=None, choice=choice)

    async def _turn(self, *, text: str | None, choice: str | None) -> BotTurn:
        turn = await bot_turn(
            self.session,
            text=text,
            choice=choice,
            state=self.state,
            locale=self.locale,
            base_url=BASE_URL,
            exchange=self.exchange,
        )
        self.state = turn.state
        self.turns.append(turn)
        return turn


@pytest.fixture
async def chat_session(kb_db: Database) -> AsyncIterator[AsyncSession]:
    """A read session on the knowledge-base database (the bot never writes)."""
    async with kb_db.sessionmaker() as session:
        yield session


def body(turn: BotTurn) -> str:
    """Every message body of a turn, joined."""
    return "\n".join(m.body for m in turn.messages)


def choice_ids(turn: BotTurn) -> list[str]:
    """The quick replies offered by the turn's last message."""
    return [c.id for c in turn.messages[-1].choices] if turn.messages else []


# Messages per locale: what the demo articles answer with confidence, and what they do not.
DEPOSIT_QUESTION = {"en": "My deposit has not arrived", "zh-CN": "充值一直没到账"}
ORDER_QUESTION = {"en": "my order failed", "zh-CN": "下单失败"}
WITHDRAWAL_QUESTION = {"en": "withdrawal pending for hours", "zh-CN": "提现一直在处理中"}
WITHDRAWAL_UNKNOWN = {"en": "my withdrawal to a friend named bob", "zh-CN": "提现给朋友小王的那笔"}
TRADING_UNKNOWN = {"en": "trade my vintage car collection for art", "zh-CN": "交易 明年 比特币 价格 预测"}
BOTH = pytest.mark.parametrize("locale", ["en", "zh-CN"])


def say(locale: str, msgid: str) -> str:
    """A bot text as the bot says it in `locale`."""
    return get_translator(locale).gettext(msgid)


def question(locale: str, field: str) -> str:
    """The bot's question for a form field, in `locale`."""
    return say(locale, texts.QUESTIONS[field])


def assert_handed_over(turn: BotTurn, locale: str) -> None:
    """The turn hands over to a person, says so last, and offers no buttons."""
    assert turn.handover
    assert turn.outcome == "handed_over"
    assert turn.state["phase"] == "handed_over"
    assert body(turn).endswith(say(locale, texts.HANDOVER))
    assert choice_ids(turn) == []
