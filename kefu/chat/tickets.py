"""Offline chats become tickets: the customer leaves an email address, replies go there.

The address is taken on the customer's word, exactly as on the help center's request form: when no
contact holds it yet it is added to the chat's contact; when another contact holds it, the
conversation moves to that contact (its owner sees it after signing in with a code). The channel
becomes email, so agents' replies are emailed and the customer's answers thread back in; the
acknowledgement carries the reference and the expected first-response time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.actions import do_add_identity, identity_owner
from kefu.contacts.identities import normalise_identity
from kefu.contacts.models import IdentityKind
from kefu.conversations import recipients
from kefu.conversations.acknowledge import queue_acknowledgement
from kefu.conversations.models import Conversation
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.events.emit import emit_on_commit
from kefu.events.names import EventName
from kefu.events.types import Event
from kefu.inboxes.models import ChannelKind
from kefu.settings import Settings


@dataclass(frozen=True)
class Ticket:
    reference: str
    email: str
    moved: bool  # the address belongs to another contact, who now owns the conversation


async def do_continue_by_email(
    session: AsyncSession, conversation: Conversation, email: str, *, settings: Settings
) -> Ticket:
    """Turn the chat into an email ticket for `email` (InvalidInput when it is not an address)."""
    address = normalise_identity(IdentityKind.EMAIL, email)
    owner = await identity_owner(session, IdentityKind.EMAIL, address)
    moved = False
    if owner is None:
        await do_add_identity(session, conversation.contact_id, IdentityKind.EMAIL, address)
    elif owner != conversation.contact_id:
        conversation.contact_id = owner
        # The opening's idempotency key belonged to the chat's contact; the owner may use the same one.
        conversation.client_id = None
        moved = True
    first_time = conversation.channel != ChannelKind.EMAIL
    conversation.channel = ChannelKind.EMAIL
    if first_time:
        await append_message(
            session,
            conversation,
            None,
            NewMessage(
                body=f"The customer left the chat an email address ({address}); replies are emailed.",
                kind=MessageKind.EVENT,
                data={"chat_to_email": {"email": address, "moved": moved}},
            ),
            author=AuthorKind.SYSTEM,
            channel=ChannelKind.CHAT,
        )
        await queue_acknowledgement(session, conversation, email=address, settings=settings)
        emit_on_commit(
            session,
            Event(
                name=EventName.CONVERSATION_UPDATED,
                topics=recipients.conversation_topics(conversation),
                payload=recipients.conversation_payload(conversation),
            ),
        )
    return Ticket(conversation.reference, address, moved)
