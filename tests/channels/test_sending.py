"""SentParts: a retry under the same idempotency key resumes after the parts already sent."""

from __future__ import annotations

from collections import OrderedDict

from kefu.channels import sending
from kefu.channels.adapter import Delivered
from kefu.channels.sending import SentParts, remember


def test_a_retry_resumes_after_the_sent_parts_and_a_finished_reply_is_answered_from_memory() -> None:
    parts = SentParts()
    assert parts.finished("reply-1") is None
    sent = parts.begin("reply-1")
    sent.append("m1")  # the second part failed: the job is retried
    assert parts.begin("reply-1") == ["m1"]
    resumed = parts.begin("reply-1")
    resumed.append("m2")
    delivered = parts.finish("reply-1", resumed)
    assert delivered == Delivered(("m1", "m2"))
    assert parts.finished("reply-1") == delivered
    assert parts.begin("reply-2") == []  # keys do not share progress


def test_remember_forgets_the_oldest_over_the_limit() -> None:
    store: OrderedDict[str, int] = OrderedDict()
    for index in range(sending.MAX_REMEMBERED + 2):
        remember(store, f"k{index}", index)
    remember(store, "k2", 2)  # touched again: newest
    assert len(store) == sending.MAX_REMEMBERED
    assert "k0" not in store
    assert "k1" not in store
    assert next(reversed(store)) == "k2"
