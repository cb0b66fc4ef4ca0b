"""Parsing Account Activity deliveries: CRC, signatures, DMs kept and skipped, hostile input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.channels.x.events import MalformedActivity, crc_response, expand_links, parse_activity, signature_ok
from tests.channels.x.payloads import CONSUMER_SECRET, CUSTOMER_ID, activity, dm_event, signed
from tests.channels.x.standin import SUPPORT_ID


def test_crc_response_is_the_base64_hmac_of_the_token() -> None:
    # Computed separately: base64(HMAC-SHA256(key=consumer secret, message=crc_token)).
    expected = "sha256=HWRdYfDOtxRxRCRrVhFqa63FywJv9h61vQG/daVTiTM="
    assert crc_response(CONSUMER_SECRET, "crc-token-123") == expected


def test_delivery_signatures() -> None:
    body = activity(dm_event())
    header = signed(body)["x-twitter-webhooks-signature"]
    assert signature_ok(CONSUMER_SECRET, body, header)
    assert not signature_ok(CONSUMER_SECRET, body + b"\n", header)
    assert not signature_ok("other", body, header)
    assert not signature_ok(CONSUMER_SECRET, body, None)
    assert not signature_ok(CONSUMER_SECRET, body, header.removeprefix("sha256="))
    assert not signature_ok("", body, signed(body, "")["x-twitter-webhooks-signature"])


def test_a_dm_with_its_sender_name_and_expanded_links() -> None:
    urls = [{"url": "https://t.co/abc", "expanded_url": "https://kefu.example/tx/0x12", "indices": [5, 28]}]
    parsed = parse_activity(activity(dm_event("1", "see: https://t.co/abc", urls=urls)))
    [message] = parsed.messages
    assert (message.id, message.sender_id, message.recipient_id) == ("1", CUSTOMER_ID, SUPPORT_ID)
    assert message.text == "see: https://kefu.example/tx/0x12"
    assert message.sender_name == "Jordan Brinks"
    assert message.media is None
    assert parsed.for_user_id == SUPPORT_ID


def test_our_own_messages_and_other_activity_are_not_kept() -> None:
    body = json.loads(
        activity(dm_event("1", "our reply", sender=SUPPORT_ID, recipient=CUSTOMER_ID), dm_event("2"))
    )
    body["direct_message_events"].append({"type": "message_delete", "id": "3"})
    body["direct_message_indicate_typing_events"] = [{"created_timestamp": "1", "sender_id": CUSTOMER_ID}]
    body["tweet_create_events"] = [{"id_str": "5"}]
    parsed = parse_activity(json.dumps(body).encode())
    assert [m.id for m in parsed.messages] == ["2"]
    assert parsed.skipped == 0


def test_media_is_named_not_fetched() -> None:
    attachment = {
        "type": "media",
        "media": {"id_str": "9", "type": "photo", "media_url_https": "https://ton.x.com/1"},
    }
    [message] = parse_activity(activity(dm_event("1", "look https://t.co/x", attachment=attachment))).messages
    assert message.media == "photo"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"nope",
        b"[]",
        b'{"direct_message_events": []}',
        b'{"for_user_id": "abc", "direct_message_events": []}',
        b'{"for_user_id": "1", "direct_message_events": {}}',
        b'{"for_user_id": "1", "users": []}',
        b"{" * 100_000,
    ],
)
def test_malformed_deliveries_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedActivity):
        parse_activity(body)


def test_broken_events_are_counted() -> None:
    body = json.loads(activity(dm_event("2")))
    body["direct_message_events"] += [
        "junk",
        {"type": "message_create", "id": "x1", "message_create": {}},
        {"type": "message_create", "id": "4", "message_create": {"sender_id": "5", "message_data": {}}},
    ]
    parsed = parse_activity(json.dumps(body).encode())
    assert [m.id for m in parsed.messages] == ["2"]
    assert parsed.skipped == 3
    assert expand_links("a", {"urls": [{"url": "", "expanded_url": "x"}, 1]}) == "a"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(event=_json, users=_json)
def test_any_json_either_parses_or_is_refused_cleanly(event: object, users: object) -> None:
    body = json.dumps({"for_user_id": "1", "direct_message_events": [event], "users": users}).encode()
    try:
        parsed = parse_activity(body)
    except MalformedActivity:
        return
    for message in parsed.messages:
        assert message.sender_id.isdigit()
