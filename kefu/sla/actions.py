"""The SLA processor of the conversation pipeline: keeps each conversation's clocks in step.

It reconciles with the conversation's final state rather than trusting `change.changed` alone,
because processors that ran before it (triggers, routing) may have changed priority, team or
status without a change record of their own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.models import Conversation, Message
from kefu.conversations.pipeline import ConversationChange
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.core.clock import utcnow
from kefu.db.base import adopt, table_of
from kefu.db.cache import ConfigCache
from kefu.schedules.calendar import BusinessCalendar
from kefu.schedules.service import get_calendar_for_team
from kefu.sla import deadlines
from kefu.sla.models import ClockState, ConversationSla, SlaPolicy
from kefu.sla.schemas import SlaPolicyIn

_FINISHED = (Status.SOLVED, Status.CLOSED)
_SLA = table_of(ConversationSla)
_INSERT_SLA = insert(_SLA)


def basis_of(conversation: Conversation) -> str:
    """What a policy is picked for: a difference means the policy must be picked again."""
    team = "" if conversation.team_id is None else str(conversation.team_id)
    return f"{conversation.priority}|{conversation.category}|{team}|{conversation.channel}"


# Invalidated by every policy change below; other processes follow within seconds (kefu.db.cache).
ACTIVE_POLICIES: ConfigCache[tuple[SlaPolicy, ...]] = ConfigCache("active_sla_policies")


async def _load_policies(session: AsyncSession) -> tuple[SlaPolicy, ...]:
    rows = await session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.is_active.is_(True))
        .order_by(SlaPolicy.position, SlaPolicy.created_at)
    )
    policies = tuple(rows.all())
    # Detached copies: they outlive this session and are only ever read.
    for policy in policies:
        session.expunge(policy)
    return policies


async def list_active_policies(session: AsyncSession) -> list[SlaPolicy]:
    """Active policies in the order they are tried (cached per process)."""
    return list(await ACTIVE_POLICIES.get(session, None, _load_policies))


async def pick_policy_for(session: AsyncSession, conversation: Conversation) -> SlaPolicy | None:
    """The policy that applies to `conversation` now (None: no targets)."""
    return deadlines.pick_policy(
        await list_active_policies(session),
        priority=str(conversation.priority),
        category=str(conversation.category),
        channel=str(conversation.channel),
    )


async def do_repick_policy(
    session: AsyncSession, row: ConversationSla, conversation: Conversation, calendar: BusinessCalendar
) -> None:
    """Pick the policy again and recompute the live deadlines from the conversation's start."""
    policy = await pick_policy_for(session, conversation)
    row.policy_id = None if policy is None else policy.id
    row.basis = basis_of(conversation)
    deadlines.apply_targets(
        row,
        calendar,
        deadlines.policy_targets(policy),
        responded=conversation.first_response_at is not None,
        finished=conversation.status in _FINISHED,
    )


def new_row(conversation: Conversation) -> ConversationSla:
    """An empty SLA row (every column set, so the clock functions can read it before a flush)."""
    return ConversationSla(
        conversation_id=conversation.id,
        started_at=conversation.created_at,
        basis="",
        targets={},
        paused_seconds=0,
        next_response_met=0,
        next_response_missed=0,
        first_response_breached=False,
        next_response_breached=False,
        resolution_breached=False,
        overdue=False,
    )


_KEYS = tuple(column.key for column in _SLA.columns)


def _values(row: ConversationSla) -> dict[str, object]:
    """Every column of `row`, a new (transient) one from `new_row`: its state holds what was set and
    an unset column reads as None, as the attribute would (read directly: this runs on every create)."""
    state = row.__dict__
    return {key: state.get(key) for key in _KEYS}


async def _reconcile(
    session: AsyncSession, row: ConversationSla, conversation: Conversation, message: Message | None
) -> ConversationSla:
    """`row` brought in step with the conversation's state and, for an existing one, `message`."""
    now = utcnow()
    loaded: list[BusinessCalendar] = []

    async def calendar() -> BusinessCalendar:
        if not loaded:
            loaded.append(await get_calendar_for_team(session, conversation.team_id))
        return loaded[0]

    if row.basis != basis_of(conversation):
        await do_repick_policy(session, row, conversation, await calendar())
    await _follow_status(row, conversation, now, calendar, before_message=True)
    if message is not None and message.kind == MessageKind.REPLY:
        if message.author_kind == AuthorKind.AGENT:
            deadlines.achieve_response(row, message.created_at)
        elif message.author_kind == AuthorKind.CUSTOMER and conversation.first_response_at is not None:
            deadlines.start_next_response(row, await calendar(), message.created_at)
    await _follow_status(row, conversation, now, calendar, before_message=False)
    deadlines.refresh(row)
    return row


async def opening_row(session: AsyncSession, conversation: Conversation) -> tuple[Table, dict[str, object]]:
    """The clocks a conversation about to be opened starts with, for the opening statement to write
    (kefu.conversations.pipeline.OPENING_ROWS): one round trip fewer per new conversation."""
    return _SLA, _values(await _reconcile(session, new_row(conversation), conversation, None))


def _as_predicted(written: Mapping[str, object], conversation: Conversation) -> bool:
    """Whether the clocks written with the opening still fit: nothing that picks the policy (the
    basis) changed, and the conversation is still new and unanswered, as it was when predicted."""
    return (
        written.get("basis") == basis_of(conversation)
        and conversation.status == Status.NEW
        and conversation.first_response_at is None
    )


async def quiet_on_opening(_session: AsyncSession, change: ConversationChange) -> bool:
    """Pipeline QUIET_ON_OPENING check: the clocks predicted for the opening are still right, so
    the processor would write nothing more."""
    written = change.opened_with.get(_SLA.name)
    return change.created and written is not None and _as_predicted(written, change.conversation)


async def process_change(session: AsyncSession, change: ConversationChange) -> None:
    """Update the SLA clocks of `change.conversation` (inside the caller's transaction)."""
    conversation = change.conversation
    if change.created:
        # A conversation created in this transaction has no row yet, or the one its opening wrote
        # as predicted before triggers and routing ran: compare, and write only a difference.
        written = change.opened_with.get(_SLA.name)
        if written is not None and _as_predicted(written, conversation):
            adopt(session, ConversationSla(**written))
            return
        values = _values(await _reconcile(session, new_row(conversation), conversation, None))
        if written is None:
            await (await session.connection()).execute(_INSERT_SLA, values)
            # Adopted with every column set (an unset one would have to be loaded on access).
            adopt(session, ConversationSla(**values))
            return
        stored = adopt(session, ConversationSla(**written))
        changed = {key: value for key, value in values.items() if written.get(key) != value}
        for key, value in changed.items():
            setattr(stored, key, value)
        if changed:
            await session.flush()
        return
    row = await session.get(ConversationSla, conversation.id)
    if row is None:  # opened before SLA clocks existed
        values = _values(await _reconcile(session, new_row(conversation), conversation, change.message))
        await (await session.connection()).execute(_INSERT_SLA, values)
        adopt(session, ConversationSla(**values))
        return
    await _reconcile(session, row, conversation, change.message)
    await session.flush()


async def _follow_status(
    row: ConversationSla,
    conversation: Conversation,
    now: datetime,
    calendar: Callable[[], Awaitable[BusinessCalendar]],
    *,
    before_message: bool,
) -> None:
    """Resume/reopen before the message is counted; pause/stop after it (a reply may set pending)."""
    status = Status(conversation.status)
    if before_message:
        if status in _FINISHED:
            return
        if row.resolution_state == ClockState.ACHIEVED and row.resolution_at is not None:
            deadlines.reopen(row, await calendar(), now)
        if status != Status.PENDING and row.paused_at is not None:
            deadlines.resume(row, await calendar(), now)
        return
    if status in _FINISHED:
        deadlines.stop(row, await calendar(), now)
    elif status == Status.PENDING:
        deadlines.pause(row, now)


def _apply_policy(policy: SlaPolicy, data: SlaPolicyIn) -> None:
    policy.name = data.name
    policy.position = data.position
    policy.is_active = data.is_active
    policy.priorities = [str(p) for p in data.priorities]
    policy.categories = [str(c) for c in data.categories]
    policy.channels = [str(c) for c in data.channels]
    policy.first_response_minutes = data.first_response_minutes
    policy.next_response_minutes = data.next_response_minutes
    policy.resolution_minutes = data.resolution_minutes


async def do_create_policy(session: AsyncSession, data: SlaPolicyIn) -> SlaPolicy:
    """A new policy; it applies to conversations created or re-picked from now on."""
    ACTIVE_POLICIES.invalidate_after_commit(session)
    policy = SlaPolicy()
    _apply_policy(policy, data)
    session.add(policy)
    await session.flush()
    return policy


async def do_update_policy(session: AsyncSession, policy: SlaPolicy, data: SlaPolicyIn) -> SlaPolicy:
    """Replace every field of `policy` (running conversations keep their targets until re-picked)."""
    ACTIVE_POLICIES.invalidate_after_commit(session)
    _apply_policy(policy, data)
    await session.flush()
    return policy


async def do_delete_policy(session: AsyncSession, policy: SlaPolicy) -> None:
    """Delete `policy`; conversations that used it keep their deadlines (policy_id becomes NULL)."""
    ACTIVE_POLICIES.invalidate_after_commit(session)
    await session.delete(policy)
    await session.flush()
