"""The X adapter against the DM API stand-in over HTTP: requests, errors, the contract."""

from __future__ import annotations

import uuid

import pytest

from kefu.channels.adapter import ChannelFile, ChannelInbox, DeliveryRefused, OutboundMessage
from kefu.channels.x.adapter import XAdapter, XError
from kefu.core.errors import InvalidInput
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import RetryAfter
from tests.channels.x.payloads import CONSUMER_SECRET, CUSTOMER_ID
from tests.channels.x.standin import SUPPORT_ID, USER_TOKEN, XStandIn

INBOX = ChannelInbox(
    id=uuid.uuid4(),
    channel=ChannelKind.X,
    address=SUPPORT_ID,
    config={},
    secrets={"consumer_secret": CONSUMER_SECRET, "access_token": USER_TOKEN},
)


async def test_a_reply_is_one_dm_to_the_participant(adapter: XAdapter, xapi: XStandIn) -> None:
    delivered = await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage("Credited now."), idempotency_key="k")
    [call] = xapi.calls
    assert (call.participant_id, call.authorization, call.body) == (
        CUSTOMER_ID,
        f"Bearer {USER_TOKEN}",
        {"text": "Credited now."},
    )
    assert delivered.external_ids == ("1582838223112896501",)
    # The same job retried after a lost answer sends nothing more.
    assert (
        await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage("Credited now."), idempotency_key="k")
        == delivered
    )
    assert len(xapi.calls) == 1


async def test_long_text_is_split_and_a_retry_resumes(adapter: XAdapter, xapi: XStandIn) -> None:
    text = "x" * 15_000
    xapi.failures.append((201, {"data": {"dm_event_id": "first"}}, {}))
    xapi.fail(503, "Service Unavailable")
    with pytest.raises(XError):
        await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage(text), idempotency_key="k")
    delivered = await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage(text), idempotency_key="k")
    assert delivered.external_ids[0] == "first"
    assert [len(c.body["text"]) for c in xapi.calls] == [10_000, 5_000, 5_000]


async def test_rate_limits_wait_until_the_reset(adapter: XAdapter, xapi: XStandIn) -> None:
    xapi.fail(429, "Too Many Requests", {"x-rate-limit-reset": "1700000090", "x-rate-limit-remaining": "0"})
    with pytest.raises(RetryAfter) as waited:
        await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage("hi"), idempotency_key="k")
    assert waited.value.seconds == 90
    xapi.fail(429, "Too Many Requests")
    with pytest.raises(RetryAfter) as default:
        await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage("hi"), idempotency_key="k")
    assert default.value.seconds == 60


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "not_allowed"), (400, "rejected"), (404, "rejected")],
)
async def test_permanent_errors_are_refusals(
    adapter: XAdapter, xapi: XStandIn, status: int, code: str
) -> None:
    xapi.fail(status, "You cannot send messages to this user.")
    with pytest.raises(DeliveryRefused) as refused:
        await adapter.send(INBOX, CUSTOMER_ID, OutboundMessage("hi"), idempotency_key="k")
    assert refused.value.code == code
    assert USER_TOKEN not in str(refused.value)


async def test_bad_token_bad_recipient_files_and_missing_credentials(
    adapter: XAdapter, xapi: XStandIn
) -> None:
    wrong = ChannelInbox(INBOX.id, INBOX.channel, INBOX.address, {}, {"access_token": "expired"})
    with pytest.raises(DeliveryRefused) as refused:
        await adapter.send(wrong, CUSTOMER_ID, OutboundMessage("hi"), idempotency_key="k1")
    assert refused.value.code == "bad_token"
    calls = len(xapi.calls)
    with pytest.raises(DeliveryRefused) as path:
        await adapter.send(INBOX, "../../2/users/me", OutboundMessage("hi"), idempotency_key="k2")
    assert path.value.code == "unknown_recipient"
    with_file = OutboundMessage("hi", files=(ChannelFile(b"%PDF", "a.pdf", "application/pdf"),))
    with pytest.raises(DeliveryRefused) as files:
        await adapter.send(INBOX, CUSTOMER_ID, with_file, idempotency_key="k3")
    assert files.value.code == "files_not_supported"
    with pytest.raises(DeliveryRefused):
        await adapter.send(
            ChannelInbox(INBOX.id, INBOX.channel, "", {}, {}),
            CUSTOMER_ID,
            OutboundMessage("x"),
            idempotency_key="k4",
        )
    assert len(xapi.calls) == calls  # none of those reached X
    with pytest.raises(InvalidInput, match="access_token"):
        await adapter.configure(ChannelInbox(INBOX.id, INBOX.channel, "", {}, {"consumer_secret": "s"}))
    await adapter.configure(INBOX)


async def test_network_failures_are_retried(adapter: XAdapter) -> None:
    await adapter.aclose()
    unreachable = XAdapter(adapter.settings.model_copy(update={"x_api_url": "http://127.0.0.1:9"}))
    with pytest.raises(XError) as failed:
        await unreachable.send(INBOX, CUSTOMER_ID, OutboundMessage("hi"), idempotency_key="k")
    assert USER_TOKEN not in str(failed.value)
    await unreachable.aclose()
