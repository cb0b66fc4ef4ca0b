"""A phone call as a conversation: the call's message carries the caller, the menu path and the call's
state; a voice message and its transcript arrive as further messages. All through `do_ingest`.

External ids: the call is its CallSid, the voice message `<CallSid>:recording`, the transcript
`<CallSid>:transcript`; a webhook Twilio retries therefore adds nothing twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.adapter import InboundMessage
from kefu.channels.ingest import Ingested, do_ingest
from kefu.channels.phone.ivr import Decision, MenuState
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.settings import Settings
from kefu.storage.base import BlobStore

CALL_SID: Final = re.compile(r"CA[0-9a-fA-F]{32}", re.ASCII)
RECORDING_SID: Final = re.compile(r"RE[0-9a-fA-F]{32}", re.ASCII)
TRANSCRIPTION_SID: Final = re.compile(r"TR[0-9a-fA-F]{32}", re.ASCII)
CALL_STATUSES: Final = frozenset(
    {"queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
# Regions whose callers hear Chinese first and get Chinese-language conversations until they choose.
_CHINESE_REGIONS: Final = frozenset({"CN", "TW", "HK", "MO"})
MAX_URL: Final = 500
MAX_TRANSCRIPT: Final = 5000
MAX_MENU_PATH: Final = 20


@dataclass(frozen=True)
class Call:
    """The Twilio parameters every voice webhook carries."""

    sid: str
    caller: str | None  # E.164; None for a withheld or unparseable caller id
    called: str
    region: str | None


def parse_call(params: Mapping[str, str]) -> Call:
    """The call of a webhook's form fields; InvalidInput when Twilio never sends such a thing."""
    sid = params.get("CallSid", "")
    if not CALL_SID.fullmatch(sid):
        raise InvalidInput("CallSid is missing or malformed")
    raw = params.get("From", "")[:40]
    caller, region = None, None
    try:
        number = phonenumbers.parse(raw, None)
        if phonenumbers.is_valid_number(number):
            caller = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            region = phonenumbers.region_code_for_number(number)
    except phonenumbers.NumberParseException:
        pass  # "Anonymous", "+266696687" (withheld) and the like: no number to call back
    return Call(sid, caller, params.get("To", "")[:40], region)


def caller_locale(call: Call) -> str:
    """The language a call's conversation starts in, before the caller chooses one."""
    return "zh-CN" if call.region in _CHINESE_REGIONS else "en"


def _inbound(
    inbox: Inbox, call: Call, external_id: str, text: str, facts: dict[str, object], locale: str
) -> InboundMessage:
    assert call.caller is not None
    return InboundMessage(
        inbox_id=inbox.id,
        channel=ChannelKind.PHONE,
        sender_id=call.caller,
        external_id=external_id,
        text=text,
        locale=locale,
        facts=facts,
    )


async def do_start_call(
    session: AsyncSession, inbox: Inbox, call: Call, *, blobs: BlobStore, settings: Settings
) -> Ingested:
    """The call's message (created on the first webhook, found again on later ones)."""
    facts: dict[str, object] = {
        "call_sid": call.sid,
        "from": call.caller,
        "to": call.called,
        "menu_path": [],
    }
    text = f"Phone call from {call.caller}"
    return await do_ingest(
        session,
        _inbound(inbox, call, call.sid, text, facts, caller_locale(call)),
        blobs=blobs,
        settings=settings,
    )


def _channel_facts(ingested: Ingested) -> dict[str, object]:
    facts = ingested.message.data.get("channel")
    return dict(facts) if isinstance(facts, dict) else {}


def _set_facts(ingested: Ingested, facts: dict[str, object]) -> None:
    # A new dict, so the JSON column sees the change.
    ingested.message.data = {**ingested.message.data, "channel": facts}


async def do_record_step(
    session: AsyncSession,
    inbox: Inbox,
    call: Call,
    decision: Decision,
    *,
    blobs: BlobStore,
    settings: Settings,
) -> Ingested:
    """Add the key pressed and what it chose to the call's facts."""
    ingested = await do_start_call(session, inbox, call, blobs=blobs, settings=settings)
    facts = _channel_facts(ingested)
    previous = facts.get("menu_path")
    path = [str(step) for step in previous] if isinstance(previous, list) else []
    if len(path) < MAX_MENU_PATH:
        path.append(decision.digit or "-")
    facts["menu_path"] = path
    state: MenuState = decision.state
    if state.language:
        facts["language"] = state.language
    if state.topic:
        facts["topic"] = state.topic
    if decision.kind != "menu":
        facts["outcome"] = decision.kind
    _set_facts(ingested, facts)
    return ingested


async def do_note_call(
    session: AsyncSession,
    inbox: Inbox,
    call: Call,
    updates: Mapping[str, object],
    *,
    blobs: BlobStore,
    settings: Settings,
) -> Ingested:
    """Merge `updates` (call status, the call back booked) into the call's facts."""
    ingested = await do_start_call(session, inbox, call, blobs=blobs, settings=settings)
    _set_facts(ingested, {**_channel_facts(ingested), **updates})
    return ingested


def _duration(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise InvalidInput("RecordingDuration is not a number of seconds")
    return int(text)


def _twilio_url(text: str) -> str | None:
    # Only a reference for agents (never fetched by Kefu): kept when it is Twilio's https URL.
    url = text.strip()
    if len(url) <= MAX_URL and re.fullmatch(r"https://api\.twilio\.com/[A-Za-z0-9/._-]+", url):
        return url
    return None


async def do_voicemail(
    session: AsyncSession,
    inbox: Inbox,
    call: Call,
    params: Mapping[str, str],
    state: MenuState,
    *,
    blobs: BlobStore,
    settings: Settings,
) -> Ingested:
    """Store the voice message's reference as a message of the call's conversation."""
    sid = params.get("RecordingSid", "")
    if not RECORDING_SID.fullmatch(sid):
        raise InvalidInput("RecordingSid is missing or malformed")
    seconds = _duration(params.get("RecordingDuration", "0") or "0")
    call_facts = _channel_facts(await do_start_call(session, inbox, call, blobs=blobs, settings=settings))
    facts: dict[str, object] = {
        "call_sid": call.sid,
        "from": call.caller,
        "recording_sid": sid,
        "recording_url": _twilio_url(params.get("RecordingUrl", "")),
        "recording_duration": seconds,
        "menu_path": call_facts.get("menu_path", []),
        "language": state.language,
        "topic": state.topic,
    }
    return await do_ingest(
        session,
        _inbound(inbox, call, f"{call.sid}:recording", f"Voicemail ({seconds}s)", facts, state.locale),
        blobs=blobs,
        settings=settings,
    )


async def do_transcript(
    session: AsyncSession,
    inbox: Inbox,
    call: Call,
    params: Mapping[str, str],
    *,
    blobs: BlobStore,
    settings: Settings,
) -> Ingested | None:
    """Store a voice message's transcript (redacted like any text); None when Twilio had none."""
    sid = params.get("TranscriptionSid", "")
    if not TRANSCRIPTION_SID.fullmatch(sid):
        raise InvalidInput("TranscriptionSid is missing or malformed")
    text = params.get("TranscriptionText", "").strip()[:MAX_TRANSCRIPT]
    if params.get("TranscriptionStatus") != "completed" or not text:
        return None
    facts: dict[str, object] = {
        "call_sid": call.sid,
        "transcription_sid": sid,
        "recording_sid": params.get("RecordingSid", "")[:34],
    }
    return await do_ingest(
        session,
        _inbound(inbox, call, f"{call.sid}:transcript", f"Voicemail transcript: {text}", facts, "en"),
        blobs=blobs,
        settings=settings,
    )
