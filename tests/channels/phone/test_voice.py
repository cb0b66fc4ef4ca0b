"""Twilio's voice webhooks: signatures, the menu walked in both languages in and out of hours, voice
messages and call backs, each call a conversation. Both databases; the clock is frozen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kefu.audit.models import AuditEvent
from kefu.channels.phone.models import CallbackRequest, CallbackSource, CallbackStatus
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation, Message
from kefu.core.clock import FrozenClock
from kefu.inboxes.models import ChannelKind
from kefu.runtime import Runtime
from tests.channels.phone.conftest import (
    AUTH_TOKEN,
    CALLER,
    LABOUR_DAY_10,
    SATURDAY_10,
    Line,
    call_sid,
    gather_action,
    parse_twiml,
    post_twilio,
    spoken,
    twilio_params,
)
from tests.factories import make_agent


def voice_url(line: Line, name: str = "voice") -> str:
    return f"/channels/phone/{line.inbox.id}/{name}"


async def counts(runtime: Runtime) -> tuple[int, int, int]:
    async with runtime.sessionmaker() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(Conversation)) or 0),
            int(await session.scalar(select(func.count()).select_from(Message)) or 0),
            int(await session.scalar(select(func.count()).select_from(CallbackRequest)) or 0),
        )


async def call_facts(runtime: Runtime, sid: str) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        message = await session.scalar(select(Message).where(Message.client_id == f"phone:{sid}"))
        assert message is not None
        facts = message.data["channel"]
        assert isinstance(facts, dict)
        return facts


# --- who may call ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"sign": False},
        {"signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"token": "another account's token"},
    ],
    ids=["missing", "garbage", "wrong-token"],
)
async def test_unsigned_or_badly_signed_calls_are_refused_and_store_nothing(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock, change: dict[str, Any]
) -> None:
    for name in ("voice", "gather?step=language", "recording?step=next&lang=en&topic=funds", "status"):
        response = await post_twilio(phone_client, voice_url(line, name), twilio_params(Digits="1"), **change)
        assert response.status_code == 403, name
    assert await counts(runtime) == (0, 0, 0)


async def test_a_signature_for_another_url_or_other_fields_is_refused(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    from kefu.channels.phone.twilio import compute_signature

    params = twilio_params(Digits="2")
    signed_for_topic = compute_signature(
        AUTH_TOKEN, f"http://kefu.test{voice_url(line, 'gather')}?step=language", list(params.items())
    )
    # The state in the query string is signed: moving it elsewhere breaks the signature.
    response = await post_twilio(
        phone_client, voice_url(line, "gather?step=topic&lang=en"), params, signature=signed_for_topic
    )
    assert response.status_code == 403
    good = compute_signature(AUTH_TOKEN, f"http://kefu.test{voice_url(line)}", list(params.items()))
    tampered = params | {"From": "+6591234567"}
    response = await post_twilio(phone_client, voice_url(line), tampered, signature=good)
    assert response.status_code == 403
    assert await counts(runtime) == (0, 0, 0)


async def test_unknown_inboxes_odd_bodies_and_malformed_fields(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    response = await post_twilio(
        phone_client, "/channels/phone/00000000-0000-0000-0000-000000000000/voice", twilio_params()
    )
    assert response.status_code == 404
    response = await phone_client.post(voice_url(line), json=twilio_params())
    assert response.status_code == 415
    response = await phone_client.post(
        voice_url(line),
        content=b"a=" + b"x" * 70_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    # Signed, but not what Twilio ever sends: 400 and an audit event, no conversation.
    response = await post_twilio(phone_client, voice_url(line), twilio_params(sid="CA-not-a-sid"))
    assert response.status_code == 400
    response = await post_twilio(
        phone_client, voice_url(line, "gather?step=topic&lang=fr"), twilio_params(Digits="1")
    )
    assert response.status_code == 400
    assert await counts(runtime) == (0, 0, 0)
    async with runtime.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert actions.count("channel.webhook_rejected") == 2


# --- the menu ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("when", ["open", "closed", "holiday"])
async def test_the_menu_walked_to_a_call_back(
    phone_client: httpx.AsyncClient,
    runtime: Runtime,
    line: Line,
    clock: FrozenClock,
    language: str,
    when: str,
) -> None:
    at = {"open": clock.now(), "closed": SATURDAY_10, "holiday": LABOUR_DAY_10}[when]
    clock.advance(at - clock.now())
    key = {"en": "1", "zh-CN": "2"}[language]
    say_language = {"en": "en-US", "zh-CN": "zh-CN"}[language]
    sid = call_sid(7)

    root = parse_twiml(await post_twilio(phone_client, voice_url(line), twilio_params(sid)))
    said = spoken(root)
    assert {lang for lang, _ in said} == {"en-US", "zh-CN"}  # the language menu speaks both
    english = " ".join(text for lang, text in said if lang == "en-US")
    assert "Welcome to Kefu Exchange support." in english
    if when == "open":
        assert "open now, until today at 18:00, Asia/Shanghai time" in english
    else:
        assert "closed now" in english
        opens = (
            "on Monday 03-17 at 09:00" if when == "closed" else "on Tuesday 05-06 at 09:00"
        )  # the May Day holiday runs to May 5
        assert opens in english
    assert "For English, press 1." in english

    # Language, then the topic menu in that language only.
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(sid, Digits=key)))
    assert {lang for lang, _ in spoken(root)} == {say_language}
    assert "step=topic" in gather_action(root)

    # Deposits and withdrawals, then "call me back".
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(sid, Digits="2")))
    assert "step=next" in gather_action(root)
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(sid, Digits="2")))
    assert root.find("Hangup") is not None
    assert root.find("Gather") is None
    assert {lang for lang, _ in spoken(root)} == {say_language}

    async with runtime.sessionmaker() as session:
        [conversation] = list(await session.scalars(select(Conversation)))
        [callback] = list(await session.scalars(select(CallbackRequest)))
        identity = await session.scalar(
            select(ContactIdentity).where(ContactIdentity.contact_id == conversation.contact_id)
        )
    assert conversation.channel == ChannelKind.PHONE
    assert conversation.inbox_id == line.inbox.id
    assert conversation.team_id == line.team_id
    assert identity is not None
    assert (identity.kind, identity.value) == (IdentityKind.PHONE, CALLER)
    assert (callback.source, callback.status, callback.number) == (
        CallbackSource.IVR,
        CallbackStatus.REQUESTED,
        CALLER,
    )
    assert callback.official_number == line.inbox.address
    expected_start = {
        "open": clock.now(),
        "closed": datetime(2025, 3, 17, 1, 0, tzinfo=UTC),  # Monday 09:00 Shanghai
        "holiday": datetime(2025, 5, 6, 1, 0, tzinfo=UTC),
    }[when]
    assert callback.window_start == expected_start
    assert (callback.window_end - callback.window_start).total_seconds() == 2 * 3600
    facts = await call_facts(runtime, sid)
    assert facts["menu_path"] == [key, "2", "2"]
    assert (facts["language"], facts["topic"], facts["outcome"]) == (language, "funds", "callback")
    assert facts["callback_id"] == str(callback.id)
    assert facts["from"] == CALLER


async def test_wrong_keys_are_asked_again_then_goodbye(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    root = parse_twiml(await post_twilio(phone_client, voice_url(line), twilio_params()))
    action = gather_action(root)
    for expected_tries in (1, 2):
        root = parse_twiml(await post_twilio(phone_client, action, twilio_params(Digits="7")))
        action = gather_action(root)
        assert f"tries={expected_tries}" in action
        assert "Sorry, that is not an option." in [text for _, text in spoken(root)]
    # Nothing pressed (Twilio follows the Redirect without Digits) counts too.
    root = parse_twiml(await post_twilio(phone_client, action, twilio_params()))
    assert root.find("Hangup") is not None
    assert (await call_facts(runtime, call_sid()))["menu_path"] == ["7", "7", "-"]


async def test_the_topic_key_9_books_a_call_back_at_once(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    root = parse_twiml(await post_twilio(phone_client, voice_url(line), twilio_params()))
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(Digits="1")))
    action = gather_action(root)
    root = parse_twiml(await post_twilio(phone_client, action, twilio_params(Digits="9")))
    assert "call you back on this number between today at 10:00 and 12:00" in " ".join(
        t for _, t in spoken(root)
    )
    # Twilio retrying the same key press books nothing twice.
    await post_twilio(phone_client, action, twilio_params(Digits="9"))
    assert (await counts(runtime))[2] == 1


async def test_a_withheld_number_hears_why_and_nothing_is_stored(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    root = parse_twiml(
        await post_twilio(phone_client, voice_url(line), twilio_params(From="+266696687", Caller=""))
    )
    assert root.find("Hangup") is not None
    assert "cannot see your phone number" in " ".join(t for _, t in spoken(root))
    assert await counts(runtime) == (0, 0, 0)


# --- voice messages -----------------------------------------------------------------------------------


async def test_a_voice_message_after_hours_joins_the_calls_conversation(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    clock.advance(SATURDAY_10 - clock.now())
    sid = call_sid(9)
    root = parse_twiml(await post_twilio(phone_client, voice_url(line), twilio_params(sid)))
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(sid, Digits="2")))
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(sid, Digits="4")))
    root = parse_twiml(await post_twilio(phone_client, gather_action(root), twilio_params(sid, Digits="1")))
    record = root.find("Record")
    assert record is not None
    assert record.get("maxLength") == "120"
    recording = {
        "RecordingSid": "RE" + "b" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC"
        + "a" * 32
        + "/Recordings/RE"
        + "b" * 32,
        "RecordingDuration": "17",
        "Digits": "#",
    }
    response = await post_twilio(phone_client, str(record.get("action")), twilio_params(sid, **recording))
    root = parse_twiml(response)
    assert root.find("Hangup") is not None
    # Twilio retries a webhook it did not see answered: no duplicate.
    await post_twilio(phone_client, str(record.get("action")), twilio_params(sid, **recording))
    assert await counts(runtime) == (1, 2, 0)

    agent = await make_agent(runtime.sessionmaker, "li@kefu.test")
    listed = await phone_client.get("/api/v1/conversations", headers=agent.headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["channel"] == "phone"
    messages = await phone_client.get(f"/api/v1/conversations/{item['id']}/messages", headers=agent.headers)
    bodies = [m["body"] for m in messages.json()["items"]]
    assert bodies == [f"Phone call from {CALLER}", "Voicemail (17s)"]
    async with runtime.sessionmaker() as session:
        voicemail = await session.scalar(select(Message).where(Message.client_id == f"phone:{sid}:recording"))
    assert voicemail is not None
    facts = voicemail.data["channel"]
    assert facts["recording_sid"] == recording["RecordingSid"]
    assert facts["recording_url"] == recording["RecordingUrl"]
    assert facts["recording_duration"] == 17
    assert facts["menu_path"] == ["2", "4", "1"]
    assert (facts["language"], facts["topic"]) == ("zh-CN", "security")


async def test_recording_fields_are_checked_and_foreign_urls_not_kept(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    url = voice_url(line, "recording?step=next&lang=en&topic=trading")
    bad = {"RecordingSid": "RE" + "b" * 32, "RecordingDuration": "-3"}
    assert (await post_twilio(phone_client, url, twilio_params(**bad))).status_code == 400
    assert await counts(runtime) == (0, 0, 0)
    odd = {"RecordingSid": "RE" + "c" * 32, "RecordingDuration": "5", "RecordingUrl": "javascript:alert(1)"}
    parse_twiml(await post_twilio(phone_client, url, twilio_params(**odd)))
    async with runtime.sessionmaker() as session:
        voicemail = await session.scalar(
            select(Message).where(Message.client_id == f"phone:{call_sid()}:recording")
        )
    assert voicemail is not None
    assert voicemail.data["channel"]["recording_url"] is None


async def test_call_status_and_transcripts(
    phone_client: httpx.AsyncClient, runtime: Runtime, line: Line, clock: FrozenClock
) -> None:
    parse_twiml(await post_twilio(phone_client, voice_url(line), twilio_params()))
    response = await post_twilio(
        phone_client, voice_url(line, "status"), twilio_params(CallStatus="completed", CallDuration="42")
    )
    assert response.status_code == 204
    facts = await call_facts(runtime, call_sid())
    assert (facts["call_status"], facts["call_duration"]) == ("completed", 42)
    transcript = {
        "TranscriptionSid": "TR" + "d" * 32,
        "TranscriptionStatus": "completed",
        "TranscriptionText": "My withdrawal is stuck, password hunter2 <script>",
        "RecordingSid": "RE" + "b" * 32,
    }
    assert (
        await post_twilio(phone_client, voice_url(line, "transcription"), twilio_params(**transcript))
    ).status_code == 204
    async with runtime.sessionmaker() as session:
        text = await session.scalar(
            select(Message.body).where(Message.client_id == f"phone:{call_sid()}:transcript")
        )
    assert text is not None
    assert text.startswith("Voicemail transcript: My withdrawal is stuck")
