"""The one gate of every chat frame that changes a conversation: it must still be this customer's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.chat.service import find_contact
from kefu.conversations.models import Conversation
from kefu.web.chat.frames import ProtocolError

if TYPE_CHECKING:
    from kefu.web.chat.connection import ChatConnection


async def own_conversation(session: AsyncSession, connection: ChatConnection) -> Conversation:
    """The socket's conversation, locked and re-checked as the customer's own; ProtocolError otherwise."""
    if connection.conversation_id is None:
        raise ProtocolError("no_conversation", "send a message first")
    conversation = await session.get(Conversation, connection.conversation_id, with_for_update=True)
    contact_id = await find_contact(session, connection.customer)
    if conversation is None or contact_id is None or conversation.contact_id != contact_id:
        raise ProtocolError("not_found", "this conversation is no longer yours to change")
    return conversation
