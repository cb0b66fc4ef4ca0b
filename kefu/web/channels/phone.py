"""Twilio's voice webhooks for a phone inbox: `/channels/phone/{inbox_id}/…`.

Who may call them: Twilio only. Every request must carry a valid `X-Twilio-Signature` for the
inbox's auth token over the public URL and the posted fields (kefu.channels.phone.twilio); anything
else is answered 403 with nothing stored. Unknown, inactive or non-phone inboxes are 404.

- `POST …/voice` — a call comes in: the call becomes a conversation; the caller hears the hours and
  the language menu.
- `POST …/gather?step=…` — a key press in the menu (the state is in the signed query string).
- `POST …/recording` — a voice message was recorded (its reference is stored, never the audio).
- `POST …/transcription` — Twilio's transcript of a voice message (when the inbox asks for one).
- `POST …/status` — the call's final status.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.channels.contact import phone_hours
from kefu.channels.credentials import open_secrets
from kefu.channels.phone import calls, ivr
from kefu.channels.phone.callbacks import do_book_ivr_callback, ivr_window
from kefu.channels.phone.twilio import SIGNATURE_HEADER, check_signature, public_url
from kefu.channels.phone.twiml import CONTENT_TYPE, DEFAULT_VOICE, TwiML
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, NotFound
from kefu.db.uow import transaction
from kefu.i18n import get_translator
from kefu.inboxes.models import ChannelKind, Inbox
from kefu.runtime import Runtime
from kefu.schedules.service import get_calendar_for_team
from kefu.storage.envelope import DecryptionFailed
from kefu.trust.keys import keyring_from_settings
from kefu.web.channels.common import BodyTooLarge, read_capped_body
from kefu.web.deps import RuntimeDep, client_ip

router = APIRouter(prefix="/phone", include_in_schema=False)
log = structlog.get_logger(__name__)

# Twilio's form posts are a few hundred bytes; a transcript can reach a few KiB.
MAX_BODY: Final = 64 * 1024
MAX_FIELDS: Final = 100
DEFAULT_VOICEMAIL_SECONDS: Final = 120

Work = Callable[[AsyncSession, Inbox, calls.Call, dict[str, str]], Awaitable[Response]]


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _twiml(doc: TwiML) -> Response:
    return Response(doc.to_bytes(), media_type=CONTENT_TYPE)


async def _read_body(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _Refused(415)
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit()):
        raise _Refused(400)
    try:
        body = await read_capped_body(request, MAX_BODY)
    except BodyTooLarge:
        raise _Refused(413) from None
    try:
        return parse_qsl(
            body.decode("ascii"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except ValueError:  # includes non-ASCII bytes, broken UTF-8 escapes and too many fields
        raise _Refused(400) from None


async def _active_inbox(session: AsyncSession, inbox_id: uuid.UUID) -> Inbox:
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or not inbox.is_active or inbox.channel != ChannelKind.PHONE:
        raise _Refused(404)
    return inbox


def _verify(request: Request, runtime: Runtime, inbox: Inbox, pairs: list[tuple[str, str]]) -> None:
    try:
        token = open_secrets(keyring_from_settings(runtime.settings), inbox).get("auth_token", "")
    except DecryptionFailed:
        token = ""
    url = public_url(runtime.settings.base_url, request.url.path, request.url.query)
    if not check_signature(token, url, pairs, request.headers.get(SIGNATURE_HEADER)):
        log.warning("phone_webhook_bad_signature", inbox_id=str(inbox.id), configured=bool(token))
        raise _Refused(403)


async def _handle(request: Request, runtime: Runtime, inbox_id: uuid.UUID, work: Work) -> Response:
    """Read, look up, verify, then do `work` in one transaction (a refusal stores nothing)."""
    try:
        pairs = await _read_body(request)
        async with transaction(runtime.sessionmaker) as session:
            inbox = await _active_inbox(session, inbox_id)
            _verify(request, runtime, inbox, pairs)
            params = dict(pairs)
            try:
                if len(params) != len(pairs):
                    raise InvalidInput("a field is repeated")
                call = calls.parse_call(params)
                return await work(session, inbox, call, params)
            except (InvalidInput, ValueError) as exc:
                message = exc.message if isinstance(exc, InvalidInput) else str(exc)
                await record_audit(
                    session,
                    action="channel.webhook_rejected",
                    actor=None,
                    target_type="inbox",
                    target_id=str(inbox.id),
                    ip=client_ip(request),
                    details={"channel": "phone", "path": request.url.path[-40:], "reason": message[:200]},
                )
                return Response(status_code=400)
    except _Refused as refused:
        return Response(status_code=refused.status)
    except NotFound:
        return Response(status_code=404)


def _action(runtime: Runtime, inbox: Inbox, name: str, query: str = "") -> str:
    return public_url(runtime.settings.base_url, f"/channels/phone/{inbox.id}/{name}", query)


def _voice(inbox: Inbox) -> str:
    voice = inbox.config.get("voice")
    return voice if isinstance(voice, str) and voice.isascii() and 0 < len(voice) <= 40 else DEFAULT_VOICE


def _name(inbox: Inbox) -> str:
    name = inbox.config.get("greeting_name")
    return name[:80] if isinstance(name, str) and name.strip() else inbox.name


def _max_voicemail(inbox: Inbox) -> int:
    value = inbox.config.get("max_voicemail_seconds")
    return value if isinstance(value, int) and 10 <= value <= 600 else DEFAULT_VOICEMAIL_SECONDS


async def _menu(runtime: Runtime, session: AsyncSession, inbox: Inbox, state: ivr.MenuState) -> Response:
    now = utcnow()
    hours = await phone_hours(session, inbox.team_id, now=now, locale=state.locale)
    action = _action(runtime, inbox, "gather", ivr.state_query(state))
    return _twiml(
        ivr.menu_twiml(state, hours=hours, now=now, action=action, name=_name(inbox), voice=_voice(inbox))
    )


def _no_number(locale: str, inbox: Inbox) -> Response:
    t = get_translator(locale)
    text = t.gettext(
        "We cannot see your phone number, so we cannot call you back. "
        "Please contact us through our help center. Goodbye."
    )
    return _twiml(ivr.goodbye_twiml(locale, text, voice=_voice(inbox)))


@router.post("/{inbox_id}/voice")
async def voice(inbox_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    """Twilio (signed): an incoming call. Opens the conversation; answers the hours and the menu."""

    async def work(session: AsyncSession, inbox: Inbox, call: calls.Call, params: dict[str, str]) -> Response:
        if call.caller is None:
            return _no_number(calls.caller_locale(call), inbox)
        await calls.do_start_call(session, inbox, call, blobs=runtime.blobs, settings=runtime.settings)
        return await _menu(runtime, session, inbox, ivr.MenuState())

    return await _handle(request, runtime, inbox_id, work)


async def _callback(
    runtime: Runtime, session: AsyncSession, inbox: Inbox, call: calls.Call, state: ivr.MenuState
) -> Response:
    now = utcnow()
    t = get_translator(state.locale)
    calendar = await get_calendar_for_team(session, inbox.team_id)
    window = ivr_window(calendar, now)
    if window is None or call.caller is None:
        text = t.gettext("Sorry, we cannot book a call back now. Please leave a voice message instead.")
        return _twiml(ivr.goodbye_twiml(state.locale, text, voice=_voice(inbox)))
    ingested = await calls.do_start_call(session, inbox, call, blobs=runtime.blobs, settings=runtime.settings)
    callback = await do_book_ivr_callback(
        session,
        ingested.conversation,
        inbox=inbox,
        number=call.caller,
        window=window,
        topic=state.topic or "callback",
        locale=state.locale,
    )
    await calls.do_note_call(
        session,
        inbox,
        call,
        {"callback_id": str(callback.id)},
        blobs=runtime.blobs,
        settings=runtime.settings,
    )
    start, end = window
    text = ivr.callback_sentence(t, start, end, now)
    return _twiml(ivr.goodbye_twiml(state.locale, text, voice=_voice(inbox), safety=True))


@router.post("/{inbox_id}/gather")
async def gather(inbox_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    """Twilio (signed): a key press (`Digits`) in the menu state named by the query string."""

    async def work(session: AsyncSession, inbox: Inbox, call: calls.Call, params: dict[str, str]) -> Response:
        state = ivr.parse_state(dict(request.query_params))
        if call.caller is None:
            return _no_number(state.locale, inbox)
        decision = ivr.advance(state, params.get("Digits", ""))
        await calls.do_record_step(
            session, inbox, call, decision, blobs=runtime.blobs, settings=runtime.settings
        )
        final = decision.state
        if decision.kind == "menu":
            return await _menu(runtime, session, inbox, final)
        if decision.kind == "voicemail":
            query = ivr.state_query(final)
            transcribe = (
                _action(runtime, inbox, "transcription") if inbox.config.get("transcribe") is True else None
            )
            doc = ivr.voicemail_twiml(
                final,
                action=_action(runtime, inbox, "recording", query),
                transcribe=transcribe,
                max_length=_max_voicemail(inbox),
                voice=_voice(inbox),
            )
            return _twiml(doc)
        if decision.kind == "callback":
            return await _callback(runtime, session, inbox, call, final)
        t = get_translator(final.locale)
        return _twiml(ivr.goodbye_twiml(final.locale, t.gettext("Goodbye."), voice=_voice(inbox)))

    return await _handle(request, runtime, inbox_id, work)


@router.post("/{inbox_id}/recording")
async def recording(inbox_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    """Twilio (signed): a voice message's RecordingSid/RecordingUrl/RecordingDuration."""

    async def work(session: AsyncSession, inbox: Inbox, call: calls.Call, params: dict[str, str]) -> Response:
        state = ivr.parse_state(dict(request.query_params))
        if call.caller is None:
            return _no_number(state.locale, inbox)
        await calls.do_voicemail(
            session, inbox, call, params, state, blobs=runtime.blobs, settings=runtime.settings
        )
        t = get_translator(state.locale)
        text = t.gettext("Thank you. We have your message and will get back to you. Goodbye.")
        return _twiml(ivr.goodbye_twiml(state.locale, text, voice=_voice(inbox), safety=True))

    return await _handle(request, runtime, inbox_id, work)


@router.post("/{inbox_id}/transcription")
async def transcription(inbox_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    """Twilio (signed): the transcript of a voice message."""

    async def work(session: AsyncSession, inbox: Inbox, call: calls.Call, params: dict[str, str]) -> Response:
        if call.caller is not None:
            await calls.do_transcript(
                session, inbox, call, params, blobs=runtime.blobs, settings=runtime.settings
            )
        return Response(status_code=204)

    return await _handle(request, runtime, inbox_id, work)


@router.post("/{inbox_id}/status")
async def status(inbox_id: uuid.UUID, request: Request, runtime: RuntimeDep) -> Response:
    """Twilio (signed): the call's status callback; its final status and duration go on the call."""

    async def work(session: AsyncSession, inbox: Inbox, call: calls.Call, params: dict[str, str]) -> Response:
        call_status = params.get("CallStatus", "")
        duration = params.get("CallDuration", "")
        if call_status not in calls.CALL_STATUSES:
            raise InvalidInput("unknown CallStatus")
        if call.caller is not None:
            updates: dict[str, object] = {"call_status": call_status}
            if duration.isascii() and duration.isdigit() and len(duration) <= 6:
                updates["call_duration"] = int(duration)
            await calls.do_note_call(
                session, inbox, call, updates, blobs=runtime.blobs, settings=runtime.settings
            )
        return Response(status_code=204)

    return await _handle(request, runtime, inbox_id, work)
