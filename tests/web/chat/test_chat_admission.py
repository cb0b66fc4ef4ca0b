"""A node at its limit of chat posts in flight refuses new ones with `busy` (kefu.chat.admission):
at once, with the client id and a pause, storing nothing and spending no rate-limit slot."""

from __future__ import annotations

import asyncio
import json
from contextlib import ExitStack

from kefu.chat.admission import RETRY_AFTER_MS
from kefu.observability.metrics import CHAT_POSTS_REFUSED
from kefu.runtime import Runtime
from tests.conftest import Database
from tests.web.chat.test_chat_socket import chat, count_messages, post, replay, until
from tests.web.ws.conftest import Live

# More than the visitor's 20 messages a minute: refusals must not count against it.
REFUSALS = 25


async def test_posts_past_the_limit_are_refused_with_busy_and_the_resend_is_stored(
    live: Live, runtime: Runtime, db: Database
) -> None:
    admission = runtime.chat_limits.posts
    async with chat(live) as (socket, _welcome):
        await replay(socket)
        assert (await post(socket, "c-1", "hello"))["seq"] == 1
        async with asyncio.timeout(5):
            while admission.in_flight:  # noqa: ASYNC110 - the bot's turn after the ack; no event tells
                await asyncio.sleep(0.01)
        stored = await count_messages(db)
        before = CHAT_POSTS_REFUSED._value.get()
        with ExitStack() as others:  # other customers' posts hold every place of this node
            for _ in range(admission.limit):
                others.enter_context(admission.admitted())
            for _ in range(REFUSALS):
                await socket.send(json.dumps({"type": "message", "client_id": "c-2", "body": "second"}))
                error = await until(socket, "error")
                assert (error["code"], error["client_id"], error["retry_after_ms"]) == (
                    "busy",
                    "c-2",
                    RETRY_AFTER_MS,
                )
            assert await count_messages(db) == stored
        assert admission.in_flight == 0
        assert CHAT_POSTS_REFUSED._value.get() - before == REFUSALS
        # Places free again: the client's resend is the message's first write.
        ack = await post(socket, "c-2", "second")
        assert ack["client_id"] == "c-2"
        assert await count_messages(db) > stored


def test_a_post_that_fails_gives_its_place_back() -> None:
    from kefu.chat.admission import Busy, PostAdmission

    admission = PostAdmission(limit=1)
    try:
        with admission.admitted():
            raise RuntimeError("the database went away")
    except RuntimeError:
        pass
    with admission.admitted():
        assert admission.in_flight == 1
        try:
            with admission.admitted():
                raise AssertionError("a second place was given")
        except Busy:
            pass
    assert admission.in_flight == 0
