"""The bot's place in a chat: it answers while nobody is assigned, then steps aside.

Each customer message (or quick reply) in an unassigned chat runs one bot turn
(kefu.chat.bot.engine) in the same transaction as its effects: the bot's messages, its state, the
outcome count, and on handover the category and fields it collected, which agents then see on the
conversation. A deflection ("this solved it") solves the conversation; writing again reopens it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.chat.bot.engine import BotMessage, BotTurn, Outcome, Phase, bot_turn
from kefu.chat.bot.models import BotSession
from kefu.chat.bot.outcomes import record_outcome
from kefu.conversations.actions import apply_conversation_update, do_solve_as_customer
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationUpdate
from kefu.conversations.states import AuthorKind, Category
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.inboxes.models import ChannelKind

# Phases in which the bot no longer speaks: a person has the conversation.
_SILENT = frozenset({Phase.HANDED_OVER})


@dataclass(frozen=True)
class Silence:
    """The bot said nothing. `for_good`: it handed this chat over and never speaks in it again."""

    for_good: bool


def bot_data(turn_message: BotMessage) -> dict[str, Any]:
    """The `bot` part of a bot message's data: its quick replies and article links, protocol-shaped."""
    return {
        "choices": [{"id": c.id, "label": c.label} for c in turn_message.choices],
        "articles": [{"title": a.title, "url": a.url} for a in turn_message.articles],
    }


async def do_bot_turn(
    session: AsyncSession,
    conversation: Conversation,
    *,
    text: str | None,
    choice: str | None,
    base_url: str,
) -> BotTurn | Silence:
    """Run one bot turn for the customer's text or quick reply, unless the bot stays silent."""
    if conversation.channel != ChannelKind.CHAT or conversation.assignee_id is not None:
        return Silence(for_good=False)  # an unassigned chat has the bot again
    row = await session.get(BotSession, conversation.id, with_for_update=True)
    state = dict(row.state) if row is not None else {}
    if state.get("phase") in _SILENT:
        return Silence(for_good=True)
    turn = await bot_turn(
        session,
        text=text,
        choice=choice,
        state=state,
        locale=conversation.locale,
        base_url=base_url,
        exchange=None,
    )
    if row is None:
        session.add(BotSession(conversation_id=conversation.id, state=turn.state, updated_at=utcnow()))
    else:
        row.state, row.updated_at = turn.state, utcnow()
    for message in turn.messages:
        await append_message(
            session,
            conversation,
            None,
            NewMessage(body=message.body, data={"bot": bot_data(message)}),
            author=AuthorKind.BOT,
            channel=ChannelKind.CHAT,
        )
    await record_outcome(session, conversation.id, turn)
    if turn.handover:
        await _hand_over(session, conversation, turn)
    elif turn.outcome == Outcome.DEFLECTED:
        await do_solve_as_customer(session, CustomerActor(contact_id=conversation.contact_id), conversation)
    return turn


async def _hand_over(session: AsyncSession, conversation: Conversation, turn: BotTurn) -> None:
    """What the bot learnt becomes the conversation's category and form fields, for the agent."""
    if turn.category is not None and turn.category != conversation.category:
        await apply_conversation_update(
            session, None, conversation, ConversationUpdate(category=Category(turn.category))
        )
    if turn.fields:
        conversation.form_fields = {**(conversation.form_fields or {}), **turn.fields}


async def find_choice(session: AsyncSession, conversation: Conversation, seq: int, choice: str) -> bool:
    """Whether the bot message at `seq` of this conversation offered `choice`."""
    message = await session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.seq == seq)
    )
    if message is None or message.author_kind != AuthorKind.BOT:
        return False
    offered = (message.data or {}).get("bot", {}).get("choices", [])
    return any(isinstance(c, dict) and c.get("id") == choice for c in offered)
