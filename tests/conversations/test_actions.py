"""Actions compose in one transaction: what one returns, the next may change, and it is all saved."""

from __future__ import annotations

from sqlalchemy import select

from kefu.auth.actors import CustomerActor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.actions import do_add_message
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationCreate
from kefu.conversations.states import Status
from kefu.conversations.timeline import NewMessage
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from tests.conftest import Database
from tests.factories import make_agent


async def test_reply_in_the_same_transaction_as_creation_is_saved(db: Database) -> None:
    agent = await make_agent(db.sessionmaker, "li@kefu.test")
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "c@example.com")
        conversation, created, first = await do_create_conversation(
            session,
            CustomerActor(contact_id=contact_id),
            ConversationCreate(body="help"),
            channel=ChannelKind.WEB,
        )
        assert created
        assert first is not None
        reply, _ = await do_add_message(
            session, agent.actor, conversation, NewMessage(body="on it"), channel=ChannelKind.WEB
        )
        conversation_id = conversation.id
    async with db.sessionmaker() as fresh:
        stored = await fresh.get(Conversation, conversation_id)
        assert stored is not None
        assert stored.status == Status.OPEN
        assert stored.first_response_at == reply.created_at
        assert stored.last_seq == 3  # first message, reply, status event
        seqs = list(
            await fresh.scalars(select(Message.seq).where(Message.conversation_id == conversation_id))
        )
        assert sorted(seqs) == [1, 2, 3]
