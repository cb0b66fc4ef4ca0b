"""Small asyncio helpers shared by the long-lived socket loops."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_waiters(*waiters: asyncio.Future[Any] | None) -> None:
    """Cancel pending futures and wait for them, so a subscription never closes under a pending read."""
    for waiter in waiters:
        if waiter is not None and not waiter.done():
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await waiter
