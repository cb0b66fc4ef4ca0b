"""Who hears about a change, computed in one place so nothing internal reaches a customer."""

from __future__ import annotations

import uuid
from typing import Final, Protocol

from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import MessageKind

# Every staff `message.created`, for the few process-level listeners of all messages (the console's
# list hints, kefu.web.ws.inbox_feed; the reports). Lists hear of conversation changes on
# "conversations:all"; messages stay off it, so a console socket is not offered every message.
MESSAGES_TOPIC: Final = "messages:all"


class ConversationFacts(Protocol):
    """The fields a staff event tells about its conversation (a Conversation, or a statement's row)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def reference(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def team_id(self) -> uuid.UUID | None: ...
    @property
    def assignee_id(self) -> uuid.UUID | None: ...


def staff_topic(conversation_id: uuid.UUID) -> str:
    """Agents watching one conversation."""
    return f"conversation:{conversation_id}"


def customer_topic(conversation_id: uuid.UUID) -> str:
    """The customer's own view of a conversation: replies only, never notes or internal events."""
    return f"customer-conversation:{conversation_id}"


def inbox_topics(conversation: Conversation) -> tuple[str, ...]:
    """Lists that show the conversation: everyone's 'all' view, its team and its assignee."""
    topics = ["conversations:all"]
    if conversation.team_id is not None:
        topics.append(f"team:{conversation.team_id}")
    if conversation.assignee_id is not None:
        topics.append(f"agent:{conversation.assignee_id}")
    return tuple(topics)


def staff_message_topics(conversation: ConversationFacts) -> tuple[str, ...]:
    """Staff topics for a new message: agents watching the conversation, and MESSAGES_TOPIC (the
    customer gets a separate, smaller event for replies)."""
    return (staff_topic(conversation.id), MESSAGES_TOPIC)


def message_topics(conversation: Conversation, message: Message) -> tuple[str, ...]:
    """Every topic that hears of a new message: staff always, the customer only for replies."""
    topics = list(staff_message_topics(conversation))
    if message.kind == MessageKind.REPLY:
        topics.append(customer_topic(conversation.id))
    return tuple(topics)


def conversation_topics(conversation: Conversation) -> tuple[str, ...]:
    """Topics for a created/updated conversation (staff only: status changes are internal events)."""
    return (staff_topic(conversation.id), *inbox_topics(conversation))


def routing_snapshot(conversation: Conversation) -> tuple[object, ...]:
    """The fields that decide which lists show a conversation; a change means lists must refresh."""
    return (
        conversation.status,
        conversation.priority,
        conversation.category,
        conversation.team_id,
        conversation.assignee_id,
    )


def conversation_payload(conversation: ConversationFacts) -> dict[str, object]:
    """What staff clients need to place a conversation event (and gateways to filter it by access)."""
    return {
        "conversation_id": str(conversation.id),
        "reference": conversation.reference,
        "status": str(conversation.status),
        "priority": str(conversation.priority),
        "team_id": None if conversation.team_id is None else str(conversation.team_id),
        "assignee_id": None if conversation.assignee_id is None else str(conversation.assignee_id),
    }
