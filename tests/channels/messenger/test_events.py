"""Parsing Meta's webhook deliveries: signatures, the handshake, messages kept and skipped, hostile input."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.channels.adapter import ChannelInbox
from kefu.channels.messenger.events import (
    AttachmentRef,
    MalformedDelivery,
    challenge_answer,
    parse_delivery,
    signature_ok,
)
from kefu.channels.messenger.inbound import accepted_accounts
from kefu.inboxes.models import ChannelKind
from tests.channels.messenger.payloads import (
    APP_SECRET,
    PAGE_ID,
    PSID,
    delivery,
    messaging,
    read_receipt,
    signed,
)


def test_signature_is_the_hmac_of_the_raw_body() -> None:
    body = delivery(messaging())
    header = signed(body)["x-hub-signature-256"]
    assert signature_ok(APP_SECRET, body, header)
    assert signature_ok(APP_SECRET, body, header.upper().replace("SHA256=", "sha256="))
    assert not signature_ok(APP_SECRET, body + b" ", header)
    assert not signature_ok("another secret", body, header)
    assert not signature_ok(APP_SECRET, body, None)
    assert not signature_ok(APP_SECRET, body, "")
    assert not signature_ok(APP_SECRET, body, header.replace("sha256=", "sha1="))
    assert not signature_ok(APP_SECRET, body, "sha256=")
    assert not signature_ok("", body, signed(body, "")["x-hub-signature-256"])


def test_handshake_answers_the_challenge_only_for_the_right_token() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert challenge_answer(params, "tok") == "1158201444"
    assert challenge_answer(params, "other") is None
    assert challenge_answer(params, "") is None
    assert challenge_answer(params | {"hub.mode": "unsubscribe"}, "tok") is None
    assert challenge_answer(params | {"hub.challenge": "<script>alert(1)</script>"}, "tok") is None
    assert challenge_answer({"hub.mode": "subscribe", "hub.challenge": "1"}, "tok") is None


def test_a_text_message_and_its_attachments() -> None:
    body = delivery(
        messaging(
            "mid.1",
            "see screenshot",
            attachments=[
                {"type": "image", "payload": {"url": "https://scontent.xx.fbcdn.net/v/t1/shot.png?x=1"}},
                {"type": "fallback", "payload": {"url": "https://example.com", "title": "a link"}},
            ],
        )
    )
    parsed = parse_delivery(body)
    assert parsed.skipped == 0
    [event] = parsed.events
    assert (event.platform, event.account_id, event.sender_id, event.mid) == ("page", PAGE_ID, PSID, "mid.1")
    assert event.text == "see screenshot"
    assert event.attachments == (
        AttachmentRef("image", "https://scontent.xx.fbcdn.net/v/t1/shot.png?x=1"),
        AttachmentRef("fallback", None),
    )


def test_echoes_receipts_and_the_page_itself_are_not_kept() -> None:
    body = delivery(
        messaging("mid.echo", "our reply", is_echo=True),
        read_receipt(),
        messaging("mid.self", "from the page", sender=PAGE_ID),
        messaging("mid.real", "customer"),
    )
    parsed = parse_delivery(body)
    assert [e.mid for e in parsed.events] == ["mid.real"]
    assert parsed.skipped == 0


def test_instagram_deliveries_parse_the_same_way() -> None:
    parsed = parse_delivery(delivery(messaging("ig.1", "hi"), obj="instagram", account="17841400000000000"))
    assert [(e.platform, e.account_id) for e in parsed.events] == [("instagram", "17841400000000000")]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"object": "user", "entry": []}).encode(),
        json.dumps({"object": "page"}).encode(),
        json.dumps({"object": "page", "entry": {"id": "1"}}).encode(),
        b"[" * 100_000,
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        parse_delivery(body)


def test_unusable_items_are_counted_not_fatal() -> None:
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "messaging": ["junk", {"sender": {"id": PSID}, "message": {"text": "no mid"}}],
                },
                {"id": {"nested": 1}, "messaging": []},
                {"id": PAGE_ID, "messaging": [messaging("ok", "fine")]},
                {"id": PAGE_ID, "messaging": [messaging("bad.att", "x", attachments="nope")]},  # type: ignore[arg-type]
            ],
        }
    ).encode()
    parsed = parse_delivery(body)
    assert [e.mid for e in parsed.events] == ["ok"]
    assert parsed.skipped == 4


def test_too_many_items_are_refused() -> None:
    with pytest.raises(MalformedDelivery):
        parse_delivery(delivery(*[messaging(f"m{i}") for i in range(1001)]))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(entry=_json, obj=st.sampled_from(["page", "instagram"]))
def test_any_json_either_parses_or_is_refused_cleanly(entry: object, obj: str) -> None:
    body = json.dumps({"object": obj, "entry": [entry, {"id": PAGE_ID, "messaging": [entry]}]}).encode()
    try:
        parsed = parse_delivery(body)
    except MalformedDelivery:
        return
    for event in parsed.events:
        assert event.sender_id
        assert event.mid


def test_the_accounts_an_inbox_answers_for() -> None:
    def inbox(address: str, config: dict[str, object]) -> ChannelInbox:
        return ChannelInbox(uuid.uuid4(), ChannelKind.MESSENGER, address, config, {})

    assert accepted_accounts(inbox(PAGE_ID, {})) == frozenset({PAGE_ID})
    assert accepted_accounts(inbox(PAGE_ID, {"instagram_account_id": "17841400000000000"})) == frozenset(
        {PAGE_ID, "17841400000000000"}
    )
    assert accepted_accounts(inbox("Example Exchange page", {"instagram_account_id": "../x"})) is None
