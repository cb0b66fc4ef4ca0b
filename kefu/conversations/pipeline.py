"""What runs inside the transaction after a conversation changes: triggers, then routing, then SLA.

The conversations domain cannot import the domains that react to it (they import its models), so the
processors are named here by dotted path and imported on first use. They run in this order because
each reads what the previous one decided: a trigger may move a conversation to a team, routing then
picks an agent of that team, and SLA deadlines follow the final priority, category and team.

A processor changes the conversation through `apply_conversation_update` (never the public `do_*`
actions), so the pipeline does not re-enter itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor
from kefu.conversations.models import Conversation, Message


@dataclass(frozen=True)
class ConversationChange:
    """One committed-to-be change: what happened to `conversation` and who did it.

    `changed` names the fields that changed ("status", "priority", "category", "team", "assignee",
    "tags", "message"); `previous` holds their old values. A new conversation has `created` set and
    `message` holds its first message.
    """

    conversation: Conversation
    actor: Actor | None
    created: bool = False
    changed: frozenset[str] = frozenset()
    previous: Mapping[str, object] = field(default_factory=dict)
    message: Message | None = None


Processor = Callable[[AsyncSession, ConversationChange], Awaitable[None]]

PROCESSORS: Final = (
    "kefu.automation.triggers:process_change",
    "kefu.routing.actions:process_change",
    "kefu.sla.actions:process_change",
    # Last: they send what the agent wrote, after triggers may have changed the conversation.
    "kefu.mail.replies:process_change",
    "kefu.channels.delivery:process_change",
)

_running: ContextVar[bool] = ContextVar("kefu_pipeline_running", default=False)


@cache
def load_processors() -> tuple[Processor, ...]:
    """The processors in order (imported once)."""
    loaded: list[Processor] = []
    for path in PROCESSORS:
        module_name, _, attribute = path.partition(":")
        loaded.append(getattr(importlib.import_module(module_name), attribute))
    return tuple(loaded)


async def run_pipeline(session: AsyncSession, change: ConversationChange) -> None:
    """Run every processor on `change`; a change made by a processor does not start another run."""
    if _running.get():
        return
    token = _running.set(True)
    try:
        for processor in load_processors():
            await processor(session, change)
    finally:
        _running.reset(token)
