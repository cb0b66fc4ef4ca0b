"""Parsing Telegram updates: documented payloads, what is ignored, and hostile JSON (never a crash)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.channels.telegram.updates import (
    FileRef,
    Greeting,
    Ignored,
    Incoming,
    MalformedUpdate,
    parse_update,
)
from tests.channels.telegram.payloads import (
    USER_ID,
    document_update,
    group_update,
    message_update,
    photo_update,
    sender,
    start_update,
    text_update,
)


def test_a_text_message() -> None:
    parsed = parse_update(text_update(41, "充值没到账"))
    assert parsed == Incoming(
        update_id=41,
        sender_id=str(USER_ID),
        sender_name="Wei Wang",
        locale="zh-CN",
        text="充值没到账",
        facts={"message_id": 51, "username": "wangwei"},
    )


def test_the_largest_photo_and_its_caption() -> None:
    parsed = parse_update(photo_update(42))
    assert isinstance(parsed, Incoming)
    assert parsed.text == "充值截图"
    assert parsed.files == (FileRef("AgAClarge", "AQADl", "photo_AQADl.jpg", "image/jpeg", 2000),)


def test_a_document() -> None:
    parsed = parse_update(document_update(43))
    assert isinstance(parsed, Incoming)
    assert parsed.text == ""
    assert parsed.files == (FileRef("BQACdoc", "AgADdoc", "statement.pdf", "application/pdf", 14),)


@pytest.mark.parametrize("text", ["/start", "/start ref_123", "/start@kefu_support_bot", "/help", "  /START"])
def test_start_greets_in_the_users_language(text: str) -> None:
    parsed = parse_update(message_update(44, text=text))
    assert parsed == Greeting(44, str(USER_ID), "zh-CN")
    assert parse_update(start_update(45, language="en")) == Greeting(45, str(USER_ID), "en")
    assert parse_update(start_update(46, language="ru")) == Greeting(46, str(USER_ID), "en")


def test_other_commands_are_messages() -> None:
    parsed = parse_update(text_update(47, "/withdrawal stuck"))
    assert isinstance(parsed, Incoming)
    assert parsed.text == "/withdrawal stuck"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (group_update(50), "not a private chat"),
        ({"update_id": 51, "edited_message": text_update(51, "x")["message"]}, "edited_message"),
        ({"update_id": 52, "channel_post": {"message_id": 1}}, "channel_post"),
        (message_update(53, text="hi", **{"from": sender(is_bot=True)}), "bot"),
        (message_update(54, text="hi", **{"from": sender(id=1)}), "sender is not"),
        (message_update(55, new_chat_title="x"), "no text"),
        ({"update_id": 56}, "nothing"),
    ],
)
def test_what_is_ignored(payload: dict[str, Any], reason: str) -> None:
    parsed = parse_update(payload)
    assert isinstance(parsed, Ignored)
    assert reason in parsed.reason


def test_unsupported_kinds_tell_the_agent() -> None:
    voice = {"duration": 3, "mime_type": "audio/ogg", "file_id": "AwAC", "file_unique_id": "AgAD"}
    parsed = parse_update(message_update(60, voice=voice))
    assert isinstance(parsed, Incoming)
    assert parsed.text == "[Telegram voice: not supported on this channel]"
    assert parsed.facts["unsupported"] == "voice"
    assert parsed.files == ()


def test_names_lose_control_characters() -> None:
    parsed = parse_update(
        message_update(61, text="hi", **{"from": sender(first_name="A\u202eB\x00", last_name=None)})
    )
    assert isinstance(parsed, Incoming)
    assert parsed.sender_name == "AB"


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "update",
        None,
        {"update_id": "1", "message": {}},
        {"update_id": True, "message": {}},
        {"update_id": -5},
        {"update_id": 1, "message": "text"},
        {"update_id": 1, "message": {"chat": {"id": "x", "type": "private"}}},
        {"update_id": 1, "message": {"chat": {"id": USER_ID, "type": "private"}, "from": []}},
        message_update(1, text=["list"]),
        message_update(1, photo=[]),
        message_update(1, photo=[{"file_id": 1, "file_unique_id": "u", "width": 1, "height": 1}]),
        message_update(1, document="file"),
        message_update(1, text="hi", message_id=None),
    ],
)
def test_malformed_updates(payload: object) -> None:
    with pytest.raises(MalformedUpdate):
        parse_update(payload)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
_keys = st.sampled_from(["text", "caption", "photo", "document", "from", "chat", "message_id", "voice"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    update_id=st.one_of(st.integers(min_value=-2, max_value=2**40), _json),
    message=st.dictionaries(_keys, _json, max_size=6),
    chat_type=st.sampled_from(["private", "group", None]),
)
def test_hostile_updates_never_crash_the_parser(
    update_id: object, message: dict[str, Any], chat_type: object
) -> None:
    payload = {"update_id": update_id, "message": {"chat": {"id": USER_ID, "type": chat_type}, **message}}
    json.dumps(payload)  # only what JSON can carry
    try:
        parsed = parse_update(payload)
    except MalformedUpdate:
        return
    assert isinstance(parsed, Incoming | Greeting | Ignored)
    if isinstance(parsed, Incoming):
        assert parsed.text or parsed.files
