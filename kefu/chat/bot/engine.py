"""The chat bot's decisions: one customer message (or quick reply) in, the bot's messages out.

Phases, kept in the JSON state the caller stores between turns:

    start ──confident──► offered ──solved──► done (deflected; a new message starts over)
      │                     │
      └──not confident──────┴──not solved / person──► collecting ──► handed_over
         (or "talk to a person")                       (deposit, withdrawal, trading only)

Asking for a person is honoured at any time; during collection it skips the remaining questions.
The bot reads and decides only: it never commits, routes or stores messages (the caller does).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.bot import texts
from kefu.chat.bot.articles import ArticleLink, find_articles
from kefu.chat.bot.fields import PLANS, check_answer, missing_fields
from kefu.chat.bot.intents import (
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
from kefu.i18n import Translator, get_translator, normalise_locale
from kefu.integrations.exchange.port import ExchangePort

# An invalid answer is asked again at most twice, then skipped.
MAX_REASKS: Final = 2
# Articles offered per question before a person takes over (a reworded question gets one more try).
MAX_OFFERS: Final = 2
# Messages with nothing to search for ("hi", "👍") before a person takes over.
MAX_PROMPTS: Final = 1


class Phase(StrEnum):
    START = "start"
    OFFERED = "offered"
    COLLECTING = "collecting"
    HANDED_OVER = "handed_over"
    DONE = "done"


class Outcome(StrEnum):
    ANSWERED = "answered"  # articles were offered with confidence
    DEFLECTED = "deflected"  # the customer said they solved it
    HANDED_OVER = "handed_over"  # a person takes over


class ChoiceId(StrEnum):
    SOLVED = "solved"
    NOT_SOLVED = "not_solved"
    HUMAN = "human"
    SKIP = "skip"


@dataclass(frozen=True)
class Choice:
    """A quick reply: the client sends `id` back when the customer taps `label`."""

    id: str
    label: str


@dataclass(frozen=True)
class BotMessage:
    """One bot message: plain text already in the conversation's language, quick replies, articles."""

    body: str
    choices: tuple[Choice, ...] = ()
    articles: tuple[ArticleLink, ...] = ()


@dataclass(frozen=True)
class BotTurn:
    """What the bot says and decided for one customer input."""

    messages: tuple[BotMessage, ...]
    state: dict[str, Any]  # JSON: store it and pass it back on the next turn
    handover: bool  # route to a person now
    category: str | None  # a kefu.conversations.states.Category value when detected
    fields: dict[str, str]  # validated form fields, named as in kefu.request_forms
    outcome: str | None  # an Outcome value to count, or None


class BotState(BaseModel):
    """The conversation's bot state; anything unreadable starts over rather than failing a chat."""

    model_config = ConfigDict(extra="ignore")

    v: int = 1
    phase: Phase = Phase.START
    category: Category | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    asking: str | None = None
    reasks: int = Field(default=0, ge=0)
    skipped: list[str] = Field(default_factory=list)
    offers: int = Field(default=0, ge=0)
    prompts: int = Field(default=0, ge=0)

    @classmethod
    def load(cls, raw: object) -> BotState:
        """The state stored after the previous turn (a fresh one when missing or malformed)."""
        try:
            return cls.model_validate(raw if isinstance(raw, dict) else {})
        except ValidationError:
            return cls()


@dataclass(frozen=True)
class Ready:
    """Text translated already (a validator's message), used as it is in a bot message."""

    text: str


Paragraph = str | Ready  # a msgid from `texts`, or Ready text

_LABELS: Final = {
    ChoiceId.SOLVED: texts.CHOICE_SOLVED,
    ChoiceId.NOT_SOLVED: texts.CHOICE_NOT_SOLVED,
    ChoiceId.HUMAN: texts.CHOICE_HUMAN,
    ChoiceId.SKIP: texts.CHOICE_SKIP,
}
OFFER_CHOICES: Final = (ChoiceId.SOLVED, ChoiceId.NOT_SOLVED, ChoiceId.HUMAN)
QUESTION_CHOICES: Final = (ChoiceId.SKIP, ChoiceId.HUMAN)


@dataclass
class _Context:
    """What every step of one turn needs."""

    session: AsyncSession
    t: Translator
    locale: str
    base_url: str
    exchange: ExchangePort | None

    def say(
        self,
        *paragraphs: Paragraph,
        choices: tuple[ChoiceId, ...] = (),
        articles: tuple[ArticleLink, ...] = (),
    ) -> BotMessage:
        """One message of paragraphs in the conversation's language."""
        body = "\n\n".join(p.text if isinstance(p, Ready) else self.t.gettext(p) for p in paragraphs)
        buttons = tuple(Choice(id=c.value, label=self.t.gettext(_LABELS[c])) for c in choices)
        return BotMessage(body=body, choices=buttons, articles=articles)


def _turn(
    state: BotState,
    *messages: BotMessage,
    handover: bool = False,
    outcome: Outcome | None = None,
) -> BotTurn:
    return BotTurn(
        messages=messages,
        state=state.model_dump(mode="json"),
        handover=handover,
        category=state.category.value if state.category else None,
        fields=dict(state.fields),
        outcome=outcome.value if outcome else None,
    )


def _hand_over(ctx: _Context, state: BotState, *lead: Paragraph) -> BotTurn:
    state.phase = Phase.HANDED_OVER
    state.asking = None
    return _turn(state, ctx.say(*lead, texts.HANDOVER), handover=True, outcome=Outcome.HANDED_OVER)


def _ask(ctx: _Context, state: BotState, name: str, *lead: Paragraph, reasks: int = 0) -> BotTurn:
    state.phase = Phase.COLLECTING
    state.asking = name
    state.reasks = reasks
    return _turn(state, ctx.say(*lead, texts.QUESTIONS[name], choices=QUESTION_CHOICES))


def _next_question(ctx: _Context, state: BotState, *lead: Paragraph) -> BotTurn:
    """Ask the next missing field, or hand over when none is left."""
    remaining = missing_fields(state.category, state.fields, state.skipped)
    if remaining:
        return _ask(ctx, state, remaining[0], *lead)
    if state.fields:
        return _hand_over(ctx, state, *lead, texts.COLLECTED)
    return _hand_over(ctx, state, *lead)


def _escalate(ctx: _Context, state: BotState, *lead: Paragraph) -> BotTurn:
    """Not answered by articles: collect the category's fields first, if it has any, then hand over."""
    if missing_fields(state.category, state.fields, state.skipped):
        return _next_question(ctx, state, *lead, texts.COLLECT_INTRO)
    return _hand_over(ctx, state, *lead)


def _deflect(ctx: _Context, state: BotState) -> BotTurn:
    state.phase = Phase.DONE
    state.asking = None
    return _turn(state, ctx.say(texts.SOLVED), outcome=Outcome.DEFLECTED)


async def _question(ctx: _Context, state: BotState, text: str) -> BotTurn:
    """A message that should describe a problem: offer articles, or escalate."""
    if not has_content(text) or is_greeting(text):
        if state.prompts >= MAX_PROMPTS:
            return _escalate(ctx, state)
        state.prompts += 1
        return _turn(state, ctx.say(texts.GREETING))
    state.category = state.category or detect_category(text)
    if state.offers >= MAX_OFFERS:
        return _escalate(ctx, state, texts.NOT_SOLVED)
    articles = await find_articles(ctx.session, text, locale=ctx.locale, base_url=ctx.base_url)
    if not articles:
        return _escalate(ctx, state, texts.NOT_FOUND)
    state.phase = Phase.OFFERED
    state.offers += 1
    message = ctx.say(texts.OFFER, choices=OFFER_CHOICES, articles=articles)
    return _turn(state, message, outcome=Outcome.ANSWERED)


async def _collect(ctx: _Context, state: BotState, text: str | None, choice: str | None) -> BotTurn:
    """An answer to the pending question (or a quick reply to it)."""
    name = state.asking
    if state.category not in PLANS or name not in PLANS[state.category] or name in state.fields:
        return _next_question(ctx, state)  # a stale or edited state: ask what is still missing
    if choice == ChoiceId.SKIP or (text is not None and wants_skip(text)):
        state.skipped.append(name)
        return _next_question(ctx, state)
    if text is None:  # another button: the question stands
        return _ask(ctx, state, name, reasks=state.reasks)
    checked = await check_answer(
        ctx.session, state.category, state.fields, name, text, locale=ctx.locale, exchange=ctx.exchange
    )
    if checked.value is not None:
        state.fields[name] = checked.value
        more = missing_fields(state.category, state.fields, state.skipped)
        return _next_question(ctx, state, *((texts.THANKS_NEXT,) if more else ()))
    if state.reasks >= MAX_REASKS:
        state.skipped.append(name)
        return _next_question(ctx, state, texts.SKIPPED_AFTER_TRIES)
    return _ask(ctx, state, name, Ready(checked.error or ""), reasks=state.reasks + 1)


async def bot_turn(
    session: AsyncSession,
    *,
    text: str | None,
    choice: str | None,
    state: dict[str, Any],
    locale: str,
    base_url: str,
    exchange: ExchangePort | None,
) -> BotTurn:
    """The bot's answer to one customer message (`text`) or quick reply (`choice`).

    `state` is what the previous turn returned ({} for a new conversation); `locale` is the
    conversation's (any tag; unsupported ones read English). `exchange` checks trading pairs (None:
    the process's installed one, if any). Reads only: the caller stores messages and state, routes a
    handover and commits. After a handover, or a stray button after "solved", the bot says nothing.
    """
    current = BotState.load(state)
    chosen = normalise_locale(locale) or "en"
    ctx = _Context(session, get_translator(chosen), chosen, base_url, exchange)
    cleaned = clean(text) if text is not None else None
    phase = current.phase
    if phase == Phase.HANDED_OVER or (phase == Phase.DONE and cleaned is None):
        return _turn(current)
    asks_person = choice == ChoiceId.HUMAN or (cleaned is not None and wants_human(cleaned))
    if phase == Phase.COLLECTING:
        if asks_person:
            return _hand_over(ctx, current)
        if choice == ChoiceId.SOLVED:
            return _deflect(ctx, current)
        return await _collect(ctx, current, cleaned, choice)
    if phase == Phase.DONE:  # a new question after a solved one starts over
        current = BotState()
    if asks_person:
        if cleaned:
            current.category = current.category or detect_category(cleaned)
        return _escalate(ctx, current)
    if phase == Phase.OFFERED:
        said = verdict(cleaned) if cleaned is not None else None
        if choice == ChoiceId.SOLVED or said == Verdict.SOLVED:
            return _deflect(ctx, current)
        if choice == ChoiceId.NOT_SOLVED or said == Verdict.NOT_SOLVED:
            return _escalate(ctx, current, texts.NOT_SOLVED)
        if cleaned is None:
            return _turn(current, ctx.say(texts.OFFER_AGAIN, choices=OFFER_CHOICES))
        return await _question(ctx, current, cleaned)
    if cleaned is None:  # a new chat (or a stray button): invite the question
        return _turn(current, ctx.say(texts.GREETING))
    return await _question(ctx, current, cleaned)


__all__ = [
    "ArticleLink",
    "BotMessage",
    "BotState",
    "BotTurn",
    "Choice",
    "ChoiceId",
    "Outcome",
    "Phase",
    "bot_turn",
]
