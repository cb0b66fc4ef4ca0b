"""The Messenger adapter against the Graph stand-in over HTTP: Send API calls, errors, files, the contract."""

from __future__ import annotations

import logging
import uuid

import pytest

from kefu.channels.adapter import ChannelFile, ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.channels.messenger.adapter import MessengerAdapter, attachment_filename, split_text
from kefu.channels.messenger.events import AttachmentRef
from kefu.channels.messenger.graph import DownloadRefused, GraphError
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from tests.channels.messenger.payloads import APP_SECRET, PSID, VERIFY_TOKEN
from tests.channels.messenger.standin import PAGE_TOKEN, GraphStandIn

INBOX = ChannelInbox(
    id=uuid.uuid4(),
    channel=ChannelKind.MESSENGER,
    address="1067280970047460",
    config={},
    secrets={"page_access_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN},
)


async def test_a_reply_is_a_send_api_response_message(
    adapter: MessengerAdapter, graph: GraphStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    delivered = await adapter.send(INBOX, PSID, OutboundMessage("Credited now."), idempotency_key="k1")
    assert delivered == Delivered(("m_1",))
    [call] = graph.calls
    assert call.query == {"access_token": PAGE_TOKEN}
    assert call.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Credited now."},
    }
    # httpx logs each request's URL: the token is never in it.
    assert "me/messages" in caplog.text
    assert PAGE_TOKEN not in caplog.text


async def test_the_same_key_sends_once_and_long_text_is_split(
    adapter: MessengerAdapter, graph: GraphStandIn
) -> None:
    text = ("line of text\n" * 200).strip()
    first = await adapter.send(INBOX, PSID, OutboundMessage(text), idempotency_key="k")
    again = await adapter.send(INBOX, PSID, OutboundMessage(text), idempotency_key="k")
    assert first == again
    assert len(graph.calls) == len(first.external_ids) == 2
    sent = [c.body["message"]["text"] for c in graph.calls]
    assert all(len(piece) <= 2000 for piece in sent)
    assert "".join(sent) == text


async def test_a_retry_sends_only_the_parts_not_yet_sent(
    adapter: MessengerAdapter, graph: GraphStandIn
) -> None:
    message = OutboundMessage(
        "see the file", files=(ChannelFile(b"%PDF-1.4 ...", "statement.pdf", "application/pdf"),)
    )
    graph.calls.clear()
    graph.fail(500, 2, "An unexpected error has occurred. Please retry your request later.")
    graph.failures.insert(0, (200, {"recipient_id": PSID, "message_id": "m_text"}))
    with pytest.raises(GraphError):
        await adapter.send(INBOX, PSID, message, idempotency_key="k")
    delivered = await adapter.send(INBOX, PSID, message, idempotency_key="k")
    assert delivered.external_ids == ("m_text", "m_3")
    texts = [c for c in graph.calls if c.file is None]
    uploads = [c for c in graph.calls if c.file is not None]
    assert len(texts) == 1
    assert len(uploads) == 2  # the failed attempt and its retry
    call = uploads[-1]
    assert call.file == ("statement.pdf", b"%PDF-1.4 ...", "application/pdf")
    assert call.body["message"] == {"attachment": {"type": "file", "payload": {"is_reusable": False}}}
    assert call.body["messaging_type"] == "RESPONSE"
    assert call.query == {"access_token": PAGE_TOKEN}


@pytest.mark.parametrize(
    ("status", "code", "subcode", "expected"),
    [
        (400, 10, 2018278, "outside_24h_window"),
        (400, 10, 2534022, "outside_24h_window"),
        (400, 551, None, "recipient_unavailable"),
        (400, 100, 2018001, "unknown_recipient"),
        (400, 190, None, "bad_token"),
        (403, 200, None, "not_allowed"),
        (400, 100, None, "rejected"),
    ],
)
async def test_permanent_errors_are_refusals(
    adapter: MessengerAdapter, graph: GraphStandIn, status: int, code: int, subcode: int | None, expected: str
) -> None:
    graph.fail(status, code, "(#10) This message is sent outside of allowed window.", subcode)
    with pytest.raises(DeliveryRefused) as refused:
        await adapter.send(INBOX, PSID, OutboundMessage("hello"), idempotency_key="k")
    assert refused.value.code == expected
    assert PAGE_TOKEN not in str(refused.value)


@pytest.mark.parametrize(("status", "code"), [(429, 4), (400, 613), (400, 32), (400, 17)])
async def test_rate_limits_are_retried_later(
    adapter: MessengerAdapter, graph: GraphStandIn, status: int, code: int
) -> None:
    graph.fail(status, code, "Calls to this api have exceeded the rate limit.")
    with pytest.raises(RetryAfter) as waited:
        await adapter.send(INBOX, PSID, OutboundMessage("hello"), idempotency_key="k")
    assert waited.value.seconds >= 1
    # The next attempt goes through.
    assert (await adapter.send(INBOX, PSID, OutboundMessage("hello"), idempotency_key="k")).external_ids


async def test_server_errors_and_network_failures_are_retried_without_the_token(
    adapter: MessengerAdapter, graph: GraphStandIn, settings: object
) -> None:
    graph.failures.append((503, {}))
    with pytest.raises(GraphError) as failed:
        await adapter.send(INBOX, PSID, OutboundMessage("hello"), idempotency_key="k")
    assert PAGE_TOKEN not in str(failed.value)
    assert "127.0.0.1" not in str(failed.value)


async def test_a_wrong_token_and_missing_credentials(adapter: MessengerAdapter) -> None:
    wrong = ChannelInbox(INBOX.id, INBOX.channel, INBOX.address, {}, {"page_access_token": "nope"})
    with pytest.raises(DeliveryRefused) as refused:
        await adapter.send(wrong, PSID, OutboundMessage("hi"), idempotency_key="k1")
    assert refused.value.code == "bad_token"
    empty = ChannelInbox(INBOX.id, INBOX.channel, INBOX.address, {}, {})
    with pytest.raises(DeliveryRefused):
        await adapter.send(empty, PSID, OutboundMessage("hi"), idempotency_key="k2")
    with pytest.raises(InvalidInput, match="app_secret, verify_token"):
        await adapter.configure(ChannelInbox(INBOX.id, INBOX.channel, "", {}, {"page_access_token": "x"}))
    await adapter.configure(INBOX)
    with pytest.raises(DeliveryRefused) as nothing:
        await adapter.send(INBOX, PSID, OutboundMessage("   "), idempotency_key="k3")
    assert nothing.value.code == "empty"


async def test_files_over_metas_limit_are_refused_before_sending(
    adapter: MessengerAdapter, graph: GraphStandIn
) -> None:
    big = ChannelFile(b"0" * (25 * 1024 * 1024 + 1), "video.mp4", "video/mp4")
    with pytest.raises(DeliveryRefused) as refused:
        await adapter.send(INBOX, PSID, OutboundMessage("hi", files=(big,)), idempotency_key="k")
    assert refused.value.code == "file_too_large"
    assert graph.calls == []


async def test_attachments_are_fetched_within_limits(adapter: MessengerAdapter, graph: GraphStandIn) -> None:
    url = graph.cdn("shot.png", b"\x89PNG fake", "image/png")
    file = await adapter.fetch_attachment(AttachmentRef("image", url), 0)
    assert (file.data, file.filename, file.content_type) == (b"\x89PNG fake", "shot.png", "image/png")
    # Meta's lookaside URLs redirect to the CDN: followed while they stay on allowed hosts.
    graph.redirects["a"] = url
    assert (
        await adapter.fetch_attachment(AttachmentRef("image", f"{graph.root}/hop/a"), 0)
    ).data == b"\x89PNG fake"
    graph.cdn("big", b"0" * (adapter.settings.upload_max_bytes + 1), "video/mp4")
    with pytest.raises(DownloadRefused) as big:
        await adapter.fetch_attachment(AttachmentRef("video", f"{graph.root}/cdn/big"), 0)
    assert big.value.reason == "too_large"
    with pytest.raises(DownloadRefused) as missing:
        await adapter.fetch_attachment(AttachmentRef("file", f"{graph.root}/cdn/nothing"), 0)
    assert missing.value.reason == "failed"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1:9/x",
        "http://scontent.xx.fbcdn.net/x.png",  # not https
        "https://fbcdn.net.evil.example/x.png",
        "https://user:pass@scontent.xx.fbcdn.net/x.png",
        "file:///etc/passwd",
        "gopher://fbcdn.net/x",
    ],
)
async def test_attachment_urls_off_metas_servers_are_not_fetched(adapter: MessengerAdapter, url: str) -> None:
    with pytest.raises(DownloadRefused) as refused:
        await adapter.fetch_attachment(AttachmentRef("image", url), 0)
    assert refused.value.reason == "not_allowed"


async def test_a_redirect_off_metas_servers_is_not_followed(
    adapter: MessengerAdapter, graph: GraphStandIn
) -> None:
    graph.redirects["evil"] = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(DownloadRefused) as refused:
        await adapter.fetch_attachment(AttachmentRef("image", f"{graph.root}/hop/evil"), 0)
    assert refused.value.reason == "not_allowed"


def test_names_and_splitting() -> None:
    assert (
        attachment_filename(AttachmentRef("image", "https://x.fbcdn.net/v/a/12_n.jpg?stp=1"), 0, None)
        == "12_n.jpg"
    )
    assert (
        attachment_filename(AttachmentRef("audio", "https://x.fbcdn.net/v/a/clip"), 1, "audio/mpeg")
        == "audio-2.mp3"
    )
    assert (
        attachment_filename(AttachmentRef("file", "https://x/..%2F..%2Fetc%2Fpasswd.txt"), 0, None)
        == "etc_passwd.txt"
    )
    assert split_text("a" * 4500) == ["a" * 2000, "a" * 2000, "a" * 500]
    assert split_text("") == []
