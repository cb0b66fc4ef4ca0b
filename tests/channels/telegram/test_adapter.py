"""The Telegram adapter and Bot API client against the stand-in over real HTTP: the same contract as the
in-memory adapter (sent, idempotent, RetryAfter, DeliveryRefused), configuring, files, greeting, tokens."""

from __future__ import annotations

import io
import logging
import uuid

import pytest
from PIL import Image

from kefu.channels.adapter import ChannelFile, ChannelInbox, Delivered, DeliveryRefused, OutboundMessage
from kefu.channels.memory import MemoryAdapter
from kefu.channels.telegram.adapter import TelegramAdapter, split_text
from kefu.channels.telegram.api import BotApi, FileTooLarge, TelegramError
from kefu.channels.telegram.greeting import greeting_text
from kefu.channels.telegram.pacing import SendPacer
from kefu.channels.telegram.updates import FileRef, Greeting
from kefu.core.errors import InvalidInput
from kefu.i18n import get_translator
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from tests.channels.telegram.conftest import Sleeps
from tests.channels.telegram.standin import TOKEN, StandIn, rate_limited

SECRET = "s3cret-webhook-token-0123456789"


def inbox(config: dict[str, object] | None = None, **secrets: str) -> ChannelInbox:
    return ChannelInbox(
        id=uuid.UUID("00000000-0000-0000-0000-0000000000aa"),
        channel=ChannelKind.TELEGRAM,
        address="@kefu_support_bot",
        config=config or {},
        secrets=secrets or {"bot_token": TOKEN, "webhook_secret": SECRET},
    )


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, "PNG")
    return buffer.getvalue()


async def test_configure_sets_the_webhook_with_the_secret(
    plain_adapter: TelegramAdapter, standin: StandIn
) -> None:
    await plain_adapter.configure(inbox())
    assert standin.webhook == {
        "url": "https://support.example.com/channels/telegram/00000000-0000-0000-0000-0000000000aa/webhook",
        "secret_token": SECRET,
        "allowed_updates": ["message"],
    }
    await plain_adapter.configure(inbox({"mode": "polling"}))
    assert standin.webhook is None
    assert [c.method for c in standin.calls] == ["getMe", "setWebhook", "getMe", "deleteWebhook"]


async def test_configure_refuses_what_cannot_work(plain_adapter: TelegramAdapter, standin: StandIn) -> None:
    with pytest.raises(InvalidInput):
        await plain_adapter.configure(inbox(webhook_secret=SECRET))  # no token
    with pytest.raises(InvalidInput):
        await plain_adapter.configure(inbox(bot_token=TOKEN, webhook_secret="short"))
    with pytest.raises(InvalidInput):
        await plain_adapter.configure(inbox(bot_token=TOKEN, webhook_secret="has spaces in it 1234"))
    with pytest.raises(InvalidInput):
        await plain_adapter.configure(inbox({"mode": "carrier-pigeon"}))
    with pytest.raises(TelegramError) as refused:
        await plain_adapter.configure(inbox(bot_token="999:wrong", webhook_secret=SECRET))
    assert refused.value.error_code == 401
    assert standin.webhook is None


async def test_send_text_and_files(plain_adapter: TelegramAdapter, standin: StandIn) -> None:
    message = OutboundMessage(
        "Your deposit is credited.",
        files=(
            ChannelFile(png(), "shot.png", "image/png"),
            ChannelFile(b"%PDF-1.4", "a.pdf", "application/pdf"),
        ),
    )
    delivered = await plain_adapter.send(inbox(), "777000", message, idempotency_key="k1")
    assert delivered == Delivered(("101", "102", "103"))
    calls = standin.sent()
    assert [c.method for c in calls] == ["sendMessage", "sendPhoto", "sendDocument"]
    assert calls[0].params["chat_id"] == "777000"
    assert calls[0].params["text"] == "Your deposit is credited."
    assert "parse_mode" not in calls[0].params  # agents' text is never read as markup
    assert calls[1].files["photo"][1] == png()
    assert calls[2].files["document"][:2] == ("a.pdf", b"%PDF-1.4")


async def test_a_repeated_key_is_answered_not_sent_again(
    plain_adapter: TelegramAdapter, standin: StandIn
) -> None:
    first = await plain_adapter.send(inbox(), "777000", OutboundMessage("hi"), idempotency_key="k")
    again = await plain_adapter.send(inbox(), "777000", OutboundMessage("hi"), idempotency_key="k")
    assert first == again
    assert len(standin.sent()) == 1
    # The in-memory adapter keeps the same promise.
    memory = MemoryAdapter(ChannelKind.TELEGRAM)
    assert await memory.send(inbox(), "1", OutboundMessage("hi"), idempotency_key="k") == await memory.send(
        inbox(), "1", OutboundMessage("hi"), idempotency_key="k"
    )


async def test_rate_limits_are_waited_out_or_handed_to_the_outbox(
    plain_adapter: TelegramAdapter, standin: StandIn, sleeps: Sleeps
) -> None:
    standin.fail("sendMessage", *rate_limited(2))
    await plain_adapter.send(inbox(), "777000", OutboundMessage("short wait"), idempotency_key="a")
    assert sleeps.waited == [2.0]
    assert [c.params["text"] for c in standin.sent()] == ["short wait", "short wait"]
    # A long wait is the outbox's: the text went out, the photo did not; the retry sends only the photo.
    standin.fail("sendPhoto", *rate_limited(120))
    message = OutboundMessage("text first", files=(ChannelFile(png(), "p.png", "image/png"),))
    with pytest.raises(RetryAfter) as wait:
        await plain_adapter.send(inbox(), "777000", message, idempotency_key="b")
    assert wait.value.seconds == 120
    delivered = await plain_adapter.send(inbox(), "777000", message, idempotency_key="b")
    assert len(delivered.external_ids) == 2
    assert [c.method for c in standin.sent()][-3:] == ["sendMessage", "sendPhoto", "sendPhoto"]
    assert sum(1 for c in standin.sent() if c.params.get("text") == "text first") == 1


async def test_permanent_refusals(plain_adapter: TelegramAdapter, standin: StandIn) -> None:
    standin.blocked.add("555")
    with pytest.raises(DeliveryRefused) as blocked:
        await plain_adapter.send(inbox(), "555", OutboundMessage("hi"), idempotency_key="1")
    assert blocked.value.code == "bot_blocked"
    with pytest.raises(DeliveryRefused) as unknown:
        await plain_adapter.send(inbox(), "424242", OutboundMessage("hi"), idempotency_key="2")
    assert unknown.value.code == "chat_not_found"
    with pytest.raises(DeliveryRefused) as no_token:
        await plain_adapter.send(
            inbox(webhook_secret=SECRET), "777000", OutboundMessage("hi"), idempotency_key="3"
        )
    assert no_token.value.code == "not_configured"
    with pytest.raises(DeliveryRefused) as bad_token:
        await plain_adapter.send(
            inbox(bot_token="1:revoked"), "777000", OutboundMessage("hi"), idempotency_key="4"
        )
    assert bad_token.value.code == "bad_token"


async def test_server_errors_are_retried_only_where_safe(
    plain_adapter: TelegramAdapter, standin: StandIn, sleeps: Sleeps
) -> None:
    standin.fail("getMe", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    assert (await plain_adapter.api.get_me(TOKEN))["username"] == "kefu_support_bot"
    standin.fail("sendMessage", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    with pytest.raises(TelegramError):  # might have been sent: the outbox decides, with backoff
        await plain_adapter.send(inbox(), "777000", OutboundMessage("hi"), idempotency_key="x")
    assert len(standin.sent()) == 1
    standin.fail("getMe", 200, {"not": "telegram"})
    standin.fail("getMe", 200, {"not": "telegram"})
    standin.fail("getMe", 200, {"not": "telegram"})
    with pytest.raises(TelegramError):
        await plain_adapter.api.get_me(TOKEN)


async def test_long_text_is_split_within_telegrams_limit(
    plain_adapter: TelegramAdapter, standin: StandIn
) -> None:
    text = ("line of text\n" * 400) + ("😀" * 2100)
    await plain_adapter.send(inbox(), "777000", OutboundMessage(text), idempotency_key="long")
    pieces = [c.params["text"] for c in standin.sent()]
    assert len(pieces) >= 3
    assert "".join(pieces) == text
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in pieces)
    assert split_text("   ") == []


async def test_files_are_fetched_through_get_file_within_the_limit(
    plain_adapter: TelegramAdapter, standin: StandIn
) -> None:
    standin.add_file("F1", "documents/file_1.pdf", b"%PDF-1.4 hello")
    ref = FileRef("F1", "U1", "statement.pdf", "application/pdf", 14)
    fetched = await plain_adapter.fetch_file(inbox(), ref)
    assert fetched == ChannelFile(b"%PDF-1.4 hello", "statement.pdf", "application/pdf")
    assert standin.downloads == ["documents/file_1.pdf"]
    limit = plain_adapter.settings.upload_max_bytes
    with pytest.raises(FileTooLarge):  # declared too large: not even asked for
        await plain_adapter.fetch_file(inbox(), FileRef("F1", "U1", "x", None, limit + 1))
    standin.add_file("F2", "documents/big.bin", b"x" * (limit + 1))
    with pytest.raises(FileTooLarge):  # undeclared, seen while downloading
        await plain_adapter.fetch_file(inbox(), FileRef("F2", "U2", "x", None, None))
    standin.fail(
        "getFile", 400, {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"}
    )
    with pytest.raises(FileTooLarge):
        await plain_adapter.fetch_file(inbox(), FileRef("F1", "U1", "x", None, None))


@pytest.mark.parametrize(
    "path", ["../../etc/passwd", "/abs/path", "a/../b", "a?x=1", "a#b", "http://evil/x", ""]
)
async def test_hostile_file_paths_are_not_followed(
    plain_adapter: TelegramAdapter, standin: StandIn, path: str
) -> None:
    with pytest.raises(TelegramError):
        await plain_adapter.api.download(TOKEN, path, max_bytes=1000)
    assert standin.downloads == []


async def test_the_token_never_reaches_logs_or_errors(
    plain_adapter: TelegramAdapter, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    standin.blocked.add("555")
    await plain_adapter.send(inbox(), "777000", OutboundMessage("hi"), idempotency_key="t1")
    with pytest.raises(DeliveryRefused) as refused:
        await plain_adapter.send(inbox(), "555", OutboundMessage("hi"), idempotency_key="t2")
    assert any("botREDACTED/sendMessage" in r.getMessage() for r in caplog.records)  # httpx's own log line
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    assert TOKEN not in str(refused.value)
    unreachable = BotApi("http://127.0.0.1:9", timeout=2.0, sleep=Sleeps())  # nothing listens there
    with pytest.raises(TelegramError) as failed:
        await unreachable.get_me(TOKEN)
    await unreachable.aclose()
    assert failed.value.error_code == 0
    assert TOKEN not in str(failed.value)
    assert failed.value.__cause__ is None
    assert failed.value.__suppress_context__


async def test_the_greeting_is_sent_once_per_update(plain_adapter: TelegramAdapter, standin: StandIn) -> None:
    start = Greeting(update_id=5, chat_id="777000", locale="zh-CN")
    assert await plain_adapter.greet(inbox({"brand": "Example Exchange"}), start)
    assert await plain_adapter.greet(inbox({"brand": "Example Exchange"}), start)  # Telegram redelivered
    [sent] = standin.sent()
    assert "https://support.example.com/hc/zh-CN/verify" in sent.params["text"]
    standin.blocked.add("1")
    assert not await plain_adapter.greet(inbox(), Greeting(update_id=6, chat_id="1", locale="en"))


def test_the_greeting_names_the_official_check_and_what_we_never_ask() -> None:
    english = greeting_text("en-GB", "https://help.example.com/", {"brand": "Example"})
    assert "official Example support bot" in english
    assert "never ask for your password, 2FA codes or seed phrase" in english
    assert english.endswith("https://help.example.com/hc/en/verify")
    chinese = greeting_text("zh-hans", "https://help.example.com", {})
    t = get_translator("zh-CN")
    assert chinese.startswith(
        t.gettext(
            "Hello! This is the official support bot. Write your question here and a support agent "
            "will answer you in this chat."
        )
    )
    assert chinese.endswith("https://help.example.com/hc/zh-CN/verify")
    assert greeting_text("ru", "https://h", {}).endswith("https://h/hc/en/verify")


def test_pacing_allows_bursts_then_waits_then_defers() -> None:
    now = [0.0]
    pacer = SendPacer(per_chat=1.0, chat_burst=2.0, per_bot=30.0, max_wait=1.5, clock=lambda: now[0])
    assert pacer.reserve("bot", "chat") == 0
    assert pacer.reserve("bot", "chat") == 0
    assert pacer.reserve("bot", "chat") == pytest.approx(1.0)
    with pytest.raises(RetryAfter):
        pacer.reserve("bot", "chat")
    assert pacer.reserve("bot", "other chat") == 0
    now[0] = 10.0
    assert pacer.reserve("bot", "chat") == 0
