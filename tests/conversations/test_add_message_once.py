"""A message with a client id is stored once, without a savepoint: a resend returns the stored one,
even after the conversation closed, and a resend racing the original leaves no gap in the seqs."""

from __future__ import annotations

import asyncio
import uuid

import pytest
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
from kefu.core.errors import Conflict
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from tests.conftest import Database


async def _open(db: Database) -> tuple[CustomerActor, uuid.UUID]:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "c@example.com")
        actor = CustomerActor(contact_id=contact_id)
        conversation, _, _ = await do_create_conversation(
            session, actor, ConversationCreate(body="help"), channel=ChannelKind.CHAT
        )
        return actor, conversation.id


async def _post(
    db: Database, actor: CustomerActor, conversation_id: uuid.UUID, client_id: str
) -> tuple[int, bool]:
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message, created = await do_add_message(
            session,
            actor,
            conversation,
            NewMessage(body="again", client_id=client_id),
            channel=ChannelKind.CHAT,
        )
        return message.seq, created


async def _seqs(db: Database, conversation_id: uuid.UUID) -> tuple[list[int], int]:
    async with db.sessionmaker() as session:
        seqs = await session.scalars(
            select(Message.seq).where(Message.conversation_id == conversation_id).order_by(Message.seq)
        )
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return list(seqs), conversation.last_seq


async def test_a_resend_returns_the_stored_message_even_once_closed(db: Database) -> None:
    actor, conversation_id = await _open(db)
    assert await _post(db, actor, conversation_id, "c-1") == (2, True)
    assert await _post(db, actor, conversation_id, "c-1") == (2, False)
    assert await _seqs(db, conversation_id) == ([1, 2], 2)
    async with transaction(db.sessionmaker) as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.status = Status.CLOSED
    assert await _post(db, actor, conversation_id, "c-1") == (2, False)
    with pytest.raises(Conflict):
        await _post(db, actor, conversation_id, "c-2")
    assert await _seqs(db, conversation_id) == ([1, 2], 2)


@pytest.mark.postgres
async def test_a_resend_racing_the_original_is_stored_once_without_a_gap(db: Database) -> None:
    if db.backend != "postgres":
        pytest.skip("SQLite writers never overlap")
    actor, conversation_id = await _open(db)
    # The first transaction holds the conversation's row lock while the resend's starts and waits on
    # it; once the first commits, the resend's seq bump went ahead (its snapshot predates the
    # message) and its insert meets the stored client id.
    first_holds = asyncio.Event()
    release = asyncio.Event()

    async def original() -> tuple[int, bool]:
        async with transaction(db.sessionmaker) as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            message, created = await do_add_message(
                session,
                actor,
                conversation,
                NewMessage(body="once", client_id="c-9"),
                channel=ChannelKind.CHAT,
            )
            first_holds.set()
            await release.wait()
            return message.seq, created

    first = asyncio.create_task(original())
    await first_holds.wait()
    resend = asyncio.create_task(_post(db, actor, conversation_id, "c-9"))
    await asyncio.sleep(0.3)  # the resend is now blocked on the row lock
    release.set()
    assert await first == (2, True)
    assert await resend == (2, False)
    assert await _seqs(db, conversation_id) == ([1, 2], 2)
    assert await _post(db, actor, conversation_id, "c-10") == (3, True)
