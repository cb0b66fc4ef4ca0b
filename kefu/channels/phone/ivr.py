"""The phone menu: language, then topic, then a voice message or a call back. Pure (no database).

The state travels in the query string of each `<Gather action>` URL; Twilio signs that URL with
the rest of the request, so a caller cannot change it, and every value is still checked here.
What the caller chose is also recorded on the call's message (see kefu.channels.phone.calls).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal
from urllib.parse import urlencode

from babel.dates import get_day_names

from kefu.channels.hours import LineHours
from kefu.channels.phone.twiml import TwiML
from kefu.conversations.states import Category
from kefu.i18n import Translator, babel_identifier, get_translator


class Step(StrEnum):
    LANGUAGE = "language"
    TOPIC = "topic"
    NEXT = "next"  # a voice message or a call back


LANGUAGE_KEYS: Final = {"1": "en", "2": "zh-CN"}
TOPIC_KEYS: Final = {"1": "account", "2": "funds", "3": "trading", "4": "security", "9": "callback"}
NEXT_KEYS: Final = {"1": "voicemail", "2": "callback"}
# Which request category a topic files the conversation under.
TOPIC_CATEGORIES: Final = {
    "account": Category.ACCOUNT_ACCESS,
    "funds": Category.DEPOSIT,
    "deposit": Category.DEPOSIT,
    "withdrawal": Category.WITHDRAWAL,
    "trading": Category.TRADING,
    "security": Category.SECURITY,
    "callback": Category.CALLBACK,
    "other": Category.CALLBACK,
}
# Wrong or missing keys before the menu says goodbye.
MAX_TRIES: Final = 3


@dataclass(frozen=True)
class MenuState:
    """Where the caller is in the menu."""

    step: Step = Step.LANGUAGE
    language: str | None = None
    topic: str | None = None
    tries: int = 0

    @property
    def locale(self) -> str:
        return self.language or "en"


@dataclass(frozen=True)
class Decision:
    """What follows a key press: another menu, a recording, a call back, or goodbye."""

    kind: Literal["menu", "voicemail", "callback", "goodbye"]
    state: MenuState
    digit: str  # what was pressed ("" for nothing)


def parse_state(query: dict[str, str]) -> MenuState:
    """The state in an action URL's query; ValueError for anything our URLs never carry."""
    step = Step(query.get("step", Step.LANGUAGE.value))
    language = query.get("lang") or None
    topic = query.get("topic") or None
    tries_text = query.get("tries", "0")
    if language is not None and language not in LANGUAGE_KEYS.values():
        raise ValueError("unknown language")
    if topic is not None and topic not in TOPIC_KEYS.values():
        raise ValueError("unknown topic")
    if not (tries_text.isascii() and tries_text.isdigit()) or int(tries_text) > MAX_TRIES:
        raise ValueError("bad tries")
    if step != Step.LANGUAGE and language is None:
        raise ValueError("a language is chosen before the topic")
    if step == Step.NEXT and topic is None:
        raise ValueError("a topic is chosen before the next step")
    return MenuState(step, language, topic, int(tries_text))


def state_query(state: MenuState) -> str:
    """The query string carrying `state` (the inverse of parse_state)."""
    values = {"step": state.step.value}
    if state.language:
        values["lang"] = state.language
    if state.topic:
        values["topic"] = state.topic
    if state.tries:
        values["tries"] = str(state.tries)
    return urlencode(values)


def advance(state: MenuState, digits: str) -> Decision:
    """The caller pressed `digits` in `state`."""
    digit = digits.strip()[:1]
    if state.step == Step.LANGUAGE and digit in LANGUAGE_KEYS:
        return Decision("menu", MenuState(Step.TOPIC, LANGUAGE_KEYS[digit]), digit)
    if state.step == Step.TOPIC and digit in TOPIC_KEYS:
        topic = TOPIC_KEYS[digit]
        if topic == "callback":
            return Decision("callback", replace(state, topic=topic, tries=0), digit)
        return Decision("menu", MenuState(Step.NEXT, state.language, topic), digit)
    if state.step == Step.NEXT and digit in NEXT_KEYS:
        return Decision(NEXT_KEYS[digit], replace(state, tries=0), digit)  # type: ignore[arg-type]
    if state.tries + 1 >= MAX_TRIES:
        return Decision("goodbye", state, digit)
    return Decision("menu", replace(state, tries=state.tries + 1), digit)


# --- what the caller hears -----------------------------------------------------------------------


def _clock(t: Translator, when: datetime, now: datetime) -> str:
    clock = when.strftime("%H:%M")
    if when.date() == now.astimezone(when.tzinfo).date():
        return t.gettext("today at %(time)s", time=clock)
    day = get_day_names("wide", locale=babel_identifier(t.locale))[when.weekday()]
    return t.gettext("on %(day)s %(date)s at %(time)s", day=day, date=when.strftime("%m-%d"), time=clock)


def hours_sentence(t: Translator, hours: LineHours, now: datetime) -> str:
    """The line's hours as one spoken sentence (times in the line's own zone, which it names)."""
    if hours.always_open:
        return t.gettext("Our phone line is open 24 hours a day.")
    zone = hours.timezone
    if hours.open_now and hours.closes_at is not None:
        return t.gettext(
            "Our phone line is open now, until %(when)s, %(zone)s time.",
            when=_clock(t, hours.closes_at, now),
            zone=zone,
        )
    if hours.open_now:
        return t.gettext("Our phone line is open now.")
    if hours.opens_at is None:
        return t.gettext("Our phone line is closed.")
    return t.gettext(
        "Our phone line is closed now. We open again %(when)s, %(zone)s time.",
        when=_clock(t, hours.opens_at, now),
        zone=zone,
    )


def _safety(t: Translator) -> str:
    return t.gettext("We will never ask for your password, two-factor codes or recovery phrase.")


def menu_twiml(
    state: MenuState, *, hours: LineHours, now: datetime, action: str, name: str, voice: str
) -> TwiML:
    """The prompt of `state` inside a Gather posting to `action`, then a retry if nothing is pressed."""
    doc = TwiML(voice)
    gather = doc.gather(action)
    if state.tries:
        doc.say(get_translator(state.locale).gettext("Sorry, that is not an option."), state.locale, gather)
    if state.step == Step.LANGUAGE:
        for locale, key in (("en", "1"), ("zh-CN", "2")):
            t = get_translator(locale)
            if not state.tries:
                doc.say(t.gettext("Welcome to %(name)s support.", name=name), locale, gather)
                doc.say(hours_sentence(t, hours, now), locale, gather)
            doc.say(
                t.gettext("For English, press %(key)s.", key=key)
                if locale == "en"
                else t.gettext("For Chinese, press %(key)s.", key=key),
                locale,
                gather,
            )
    elif state.step == Step.TOPIC:
        t = get_translator(state.locale)
        doc.say(
            t.gettext(
                "For your account or signing in, press 1. For deposits and withdrawals, press 2. "
                "For trading, press 3. For security, or to report fraud, press 4. "
                "To ask for a call back, press 9."
            ),
            state.locale,
            gather,
        )
        doc.say(_safety(t), state.locale, gather)
    else:
        t = get_translator(state.locale)
        if hours.open_now:
            text = t.gettext("An agent can call you back on this number.")
        else:
            text = hours_sentence(t, hours, now)
        doc.say(text, state.locale, gather)
        doc.say(
            t.gettext("To leave a voice message, press 1. To have an agent call you back, press 2."),
            state.locale,
            gather,
        )
    # Nothing pressed: Twilio carries on after the Gather, so ask again (counting the try).
    doc.redirect(action)
    return doc


def voicemail_twiml(
    state: MenuState, *, action: str, transcribe: str | None, max_length: int, voice: str
) -> TwiML:
    """Ask for a message and record it; its reference is posted to `action`."""
    doc = TwiML(voice)
    t = get_translator(state.locale)
    doc.say(
        t.gettext("Please leave your message after the tone. Press the hash key when you are done."),
        state.locale,
    )
    doc.record(action, max_length=max_length, transcribe_callback=transcribe)
    doc.say(t.gettext("We did not receive a message. Goodbye."), state.locale)
    doc.hangup()
    return doc


def goodbye_twiml(locale: str, text: str, *, voice: str, safety: bool = False) -> TwiML:
    """Say `text` (already in `locale`), the safety reminder if asked, and hang up."""
    doc = TwiML(voice)
    doc.say(text, locale)
    if safety:
        doc.say(_safety(get_translator(locale)), locale)
    doc.hangup()
    return doc


def callback_sentence(t: Translator, start: datetime, end: datetime, now: datetime) -> str:
    """ "An agent will call you back on this number between … and …" in the line's zone."""
    return t.gettext(
        "Thank you. An agent will call you back on this number between %(start)s and %(end)s, %(zone)s time.",
        start=_clock(t, start, now),
        end=end.strftime("%H:%M"),
        zone=str(start.tzinfo),
    )
