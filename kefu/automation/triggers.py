"""Triggers in the conversation pipeline: pick the rules for a change, evaluate them, apply their actions.

Triggers run in position order against the live conversation, each at most once per change; a
trigger sees what earlier ones did (their changes count as "changed" for later `updated` rules).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.automation.models import Trigger
from kefu.automation.rules import (
    TEXT_CONDITIONS,
    Action,
    AddNote,
    CategoryIs,
    Condition,
    FieldChanged,
    HasTag,
    SetCategory,
    SetPriority,
    SetStatus,
    SetTeam,
    Snapshot,
    TriggerOn,
    matches_all,
    parse_actions,
    parse_conditions,
    tags_after,
)
from kefu.conversations.actions import apply_conversation_update
from kefu.conversations.models import Conversation, Message
from kefu.conversations.pipeline import ConversationChange
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import AuthorKind, Category, MessageKind, Priority
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.errors import KefuError
from kefu.db.cache import ConfigCache
from kefu.inboxes.models import ChannelKind, Team

log = structlog.get_logger(__name__)


def kinds_of(change: ConversationChange) -> frozenset[TriggerOn]:
    """Which trigger kinds a change wakes: created, updated (fields changed), customer_message."""
    if change.created:
        return frozenset({TriggerOn.CREATED})
    kinds: set[TriggerOn] = set()
    if change.changed - {"message"}:
        kinds.add(TriggerOn.UPDATED)
    message = change.message
    if (
        message is not None
        and message.author_kind == AuthorKind.CUSTOMER
        and message.kind == MessageKind.REPLY
    ):
        kinds.add(TriggerOn.CUSTOMER_MESSAGE)
    return frozenset(kinds)


@dataclass(frozen=True)
class TriggerRule:
    """An active trigger, parsed once and shared by every change in this process."""

    id: uuid.UUID
    name: str
    on: TriggerOn
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]


# Invalidated by every trigger change (kefu.automation.actions); other processes follow within seconds.
ACTIVE_TRIGGERS: ConfigCache[tuple[TriggerRule, ...]] = ConfigCache("active_triggers")


async def _load_rules(session: AsyncSession) -> tuple[TriggerRule, ...]:
    rows = await session.scalars(
        select(Trigger)
        .where(Trigger.is_active.is_(True))
        .order_by(Trigger.position, Trigger.created_at, Trigger.id)
    )
    rules = []
    for trigger in rows:
        try:
            conditions, actions = parse_conditions(trigger.conditions), parse_actions(trigger.actions)
        except ValidationError:
            log.warning("trigger_unreadable", trigger_id=str(trigger.id))
            continue
        rules.append(
            TriggerRule(trigger.id, trigger.name, TriggerOn(trigger.on), tuple(conditions), tuple(actions))
        )
    return tuple(rules)


async def load_active_triggers(session: AsyncSession, kinds: frozenset[TriggerOn]) -> list[TriggerRule]:
    """Active triggers of `kinds` in position order (cached per process; see kefu.db.cache)."""
    rules = await ACTIVE_TRIGGERS.get(session, None, _load_rules)
    return [rule for rule in rules if rule.on in kinds]


async def _first_message_text(session: AsyncSession, change: ConversationChange) -> str:
    if change.created and change.message is not None:
        return change.message.body
    body = await session.scalar(
        select(Message.body).where(Message.conversation_id == change.conversation.id, Message.seq == 1)
    )
    return body or ""


def snapshot_of(
    conversation: Conversation, *, first_message: str, message: str, changed: frozenset[str]
) -> Snapshot:
    """The conversation as conditions see it now."""
    return Snapshot(
        category=str(conversation.category),
        priority=str(conversation.priority),
        status=str(conversation.status),
        channel=str(conversation.channel),
        team_id=conversation.team_id,
        locale=conversation.locale,
        tags=frozenset(conversation.tags),
        subject=conversation.subject,
        form_fields=dict(conversation.form_fields or {}),
        first_message=first_message,
        message=message,
        changed=changed,
    )


def _update_for(action: Action) -> ConversationUpdate | None:
    if isinstance(action, SetPriority):
        return ConversationUpdate(priority=action.value)
    if isinstance(action, SetCategory):
        return ConversationUpdate(category=action.value)
    if isinstance(action, SetTeam):
        return ConversationUpdate(team_id=action.team_id)
    if isinstance(action, SetStatus):
        return ConversationUpdate(status=action.value)
    return None


async def apply_actions(
    session: AsyncSession, conversation: Conversation, actions: Sequence[Action], *, trigger_name: str
) -> set[str]:
    """Apply `actions` as the system; returns the fields that changed.

    An action that no longer fits (a deleted team, a status the conversation cannot move to) is
    skipped and logged: a stale rule must never stop a customer from opening a conversation.
    """
    changed: set[str] = set()
    updates: list[ConversationUpdate] = []
    try:
        updates = [u for u in (_update_for(a) for a in actions) if u is not None]
        tags = tags_after(conversation.tags, actions)
        if tags is not None:
            updates.append(ConversationUpdate(tags=tags))
    except ValidationError:
        log.warning("trigger_action_invalid", trigger=trigger_name)
    for update in updates:
        try:
            previous = await apply_conversation_update(session, None, conversation, update)
        except KefuError as exc:
            log.warning("trigger_action_skipped", trigger=trigger_name, reason=exc.message)
            continue
        changed |= set(previous)
    for action in actions:
        if isinstance(action, AddNote):
            await append_message(
                session,
                conversation,
                None,
                NewMessage(body=action.body, kind=MessageKind.NOTE, data={"trigger": trigger_name}),
                author=AuthorKind.SYSTEM,
                channel=ChannelKind(conversation.channel),
            )
    return changed


async def process_change(session: AsyncSession, change: ConversationChange) -> None:
    """Run the active triggers woken by `change`, in position order, each at most once."""
    kinds = kinds_of(change)
    if not kinds:
        return
    rules = await load_active_triggers(session, kinds)
    if not rules:
        return
    first_message, message = await _texts(session, change, rules)
    changed = set(change.changed - {"message"})
    conversation = change.conversation
    for rule in rules:
        snapshot = snapshot_of(
            conversation, first_message=first_message, message=message, changed=frozenset(changed)
        )
        if not matches_all(rule.conditions, snapshot):
            continue
        changed |= await apply_actions(session, conversation, rule.actions, trigger_name=rule.name)


async def _texts(
    session: AsyncSession, change: ConversationChange, rules: Sequence[TriggerRule]
) -> tuple[str, str]:
    """(the first message's text when a condition reads it, else "", the change's message text)."""
    needs_first = any(isinstance(c, TEXT_CONDITIONS) for rule in rules for c in rule.conditions)
    first_message = await _first_message_text(session, change) if needs_first else ""
    return first_message, change.message.body if change.message is not None else ""


async def quiet_on_opening(session: AsyncSession, change: ConversationChange) -> bool:
    """Pipeline QUIET_ON_OPENING check: no trigger woken by `change` matches it, so none acts (a
    trigger sees only earlier triggers' changes, and there would be none)."""
    kinds = kinds_of(change)
    rules = await load_active_triggers(session, kinds) if kinds else []
    if not rules:
        return True
    first_message, message = await _texts(session, change, rules)
    snapshot = snapshot_of(
        change.conversation,
        first_message=first_message,
        message=message,
        changed=frozenset(change.changed - {"message"}),
    )
    return not any(matches_all(rule.conditions, snapshot) for rule in rules)


SECURITY_TRIGGER = "Security category: urgent, Security team"
PHISHING_TRIGGER = "Phishing report: Security team"
PHISHING_TAGGED_TRIGGER = "Tagged phishing report: Security team"


async def seed_default_triggers(session: AsyncSession) -> list[Trigger]:
    """Add the demo's default triggers that are missing (idempotent); returns those added."""
    team_id = await session.scalar(select(Team.id).where(Team.slug == "security"))
    existing = set((await session.scalars(select(Trigger.name))).all())
    wanted: list[tuple[str, TriggerOn, list[Condition], list[Action]]] = []
    security_actions: list[Action] = [SetPriority(type="set_priority", value=Priority.URGENT)]
    if team_id is not None:
        security_actions.append(SetTeam(type="set_team", team_id=team_id))
        to_security: list[Action] = [SetTeam(type="set_team", team_id=team_id)]
        phishing = HasTag(type="tag", value="phishing-report")
        # Agents usually tag a report after reading it, so the rule also runs when tags change.
        wanted.append((PHISHING_TRIGGER, TriggerOn.CREATED, [phishing], to_security))
        wanted.append(
            (
                PHISHING_TAGGED_TRIGGER,
                TriggerOn.UPDATED,
                [FieldChanged(type="changed", field="tags"), phishing],
                to_security,
            )
        )
    security: list[Condition] = [CategoryIs(type="category", value=Category.SECURITY)]
    wanted.insert(0, (SECURITY_TRIGGER, TriggerOn.CREATED, security, security_actions))
    added: list[Trigger] = []
    for position, (name, on, conditions, actions) in enumerate(wanted):
        if name in existing:
            continue
        trigger = Trigger(
            name=name,
            position=position,
            on=on.value,
            conditions=[c.model_dump(mode="json") for c in conditions],
            actions=[a.model_dump(mode="json") for a in actions],
            created_by_id=None,
        )
        session.add(trigger)
        added.append(trigger)
    await session.flush()
    return added
