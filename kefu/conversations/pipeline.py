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
from typing import Any, Final

from sqlalchemy import Table
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
    # Rows a processor asked to write with the opening statement (see OPENING_ROWS), by table name:
    # the processor adopts them when the conversation ended up as predicted, else updates them.
    opened_with: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


Processor = Callable[[AsyncSession, ConversationChange], Awaitable[None]]

PROCESSORS: Final = (
    "kefu.automation.triggers:process_change",
    "kefu.routing.actions:process_change",
    "kefu.sla.actions:process_change",
    # Last: they send what the agent wrote, after triggers may have changed the conversation.
    "kefu.mail.replies:process_change",
    "kefu.channels.delivery:process_change",
)

# Processors that predict a row of their own for a conversation about to be opened, so that the
# row goes into the opening statement instead of a round trip of its own (the SLA clocks).
OPENING_ROWS: Final = ("kefu.sla.actions:opening_row",)

OpeningRow = Callable[[AsyncSession, Conversation], Awaitable["tuple[Table, dict[str, object]] | None"]]

# For a conversation opened in one statement outside any ORM transaction
# (kefu.conversations.quick_open): each processor's check that it would do nothing at all for the
# opening `change`. A processor without a check here is never taken to be quiet.
QUIET_ON_OPENING: Final = {
    "kefu.automation.triggers:process_change": "kefu.automation.triggers:quiet_on_opening",
    "kefu.routing.actions:process_change": "kefu.routing.actions:quiet_on_opening",
    "kefu.sla.actions:process_change": "kefu.sla.actions:quiet_on_opening",
    "kefu.mail.replies:process_change": "kefu.mail.replies:quiet_on_opening",
    "kefu.channels.delivery:process_change": "kefu.channels.delivery:quiet_on_opening",
}

QuietCheck = Callable[[AsyncSession, ConversationChange], Awaitable[bool]]

_running: ContextVar[bool] = ContextVar("kefu_pipeline_running", default=False)


@cache
def load_processors() -> tuple[Processor, ...]:
    """The processors in order (imported once)."""
    return tuple(_load(path) for path in PROCESSORS)


@cache
def load_opening_rows() -> tuple[OpeningRow, ...]:
    """The OPENING_ROWS predictors in order (imported once)."""
    return tuple(_load(path) for path in OPENING_ROWS)


def _load(path: str) -> Any:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@cache
def load_quiet_checks() -> tuple[QuietCheck, ...] | None:
    """Every processor's QUIET_ON_OPENING check in order; None when a processor has none."""
    if any(path not in QUIET_ON_OPENING for path in PROCESSORS):
        return None
    return tuple(_load(QUIET_ON_OPENING[path]) for path in PROCESSORS)


async def pipeline_is_quiet(session: AsyncSession, change: ConversationChange) -> bool:
    """Whether running the pipeline on `change` (an opening) would change and write nothing.

    Asked before the conversation is written; `change.opened_with` holds the predicted rows.
    """
    checks = load_quiet_checks()
    if checks is None:
        return False
    for check in checks:
        if not await check(session, change):
            return False
    return True


async def predict_opening_rows(
    session: AsyncSession, conversation: Conversation
) -> list[tuple[Table, dict[str, object]]]:
    """The rows processors expect `conversation` (not yet written) to need, to write with it.

    Each is keyed by `conversation_id`; the opening inserts it only when it inserts the conversation.
    """
    rows = []
    for predict in load_opening_rows():
        row = await predict(session, conversation)
        if row is not None:
            rows.append(row)
    return rows


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
