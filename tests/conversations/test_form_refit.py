"""Changing a conversation's category keeps the form values that fit the new form, in any language."""

from __future__ import annotations

import pytest

from kefu.auth.actors import CustomerActor
from kefu.auth.roles import Role
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.models import IdentityKind
from kefu.conversations.actions import do_update_conversation
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation
from kefu.conversations.schemas import ConversationCreate, ConversationUpdate
from kefu.conversations.states import Category
from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.request_forms.actions import do_create_field, do_update_field
from kefu.request_forms.models import RequestFormField
from kefu.request_forms.schemas import FieldCreate, FieldUpdate
from tests.conftest import Database
from tests.factories import make_agent

TX = "ab" * 32


async def test_category_change_keeps_fitting_values_and_deactivation_keeps_stored_ones(db: Database) -> None:
    boss = await make_agent(db.sessionmaker, "boss@kefu.test", role=Role.SUPERVISOR)
    async with transaction(db.sessionmaker) as session:
        field = await do_create_field(
            session,
            boss.actor,
            FieldCreate(category=Category.DEPOSIT, name="wallet_app", kind="text", label_en="Wallet app"),
        )
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "c@example.com")
        conversation, _created, _first = await do_create_conversation(
            session,
            CustomerActor(contact_id=contact_id),
            ConversationCreate(
                body="my deposit is missing",
                category=Category.DEPOSIT,
                form_fields={"uid": "u-1", "network": "TRC20", "tx_hash": TX, "wallet_app": "Tonkeeper"},
                locale="zh-CN",
            ),
            channel=ChannelKind.WEB,
        )
        conversation_id = conversation.id
        assert conversation.form_fields["wallet_app"] == "Tonkeeper"
    # Deactivating the field keeps the value already stored.
    async with transaction(db.sessionmaker) as session:
        row = await session.get(RequestFormField, field.id)
        assert row is not None
        await do_update_field(session, boss.actor, row, FieldUpdate(active=False))
    async with db.sessionmaker() as session:
        stored = await session.get(Conversation, conversation_id)
        assert stored is not None
        assert stored.form_fields == {
            "uid": "u-1",
            "network": "TRC20",
            "tx_hash": TX,
            "wallet_app": "Tonkeeper",
        }
    # Moving it to withdrawals keeps the fields the withdrawal form has; general keeps the uid only.
    async with transaction(db.sessionmaker) as session:
        moving = await session.get(Conversation, conversation_id)
        assert moving is not None
        await do_update_conversation(
            session, boss.actor, moving, ConversationUpdate(category=Category.WITHDRAWAL)
        )
        assert moving.form_fields == {"uid": "u-1", "network": "TRC20", "tx_hash": TX}
        await do_update_conversation(
            session, boss.actor, moving, ConversationUpdate(category=Category.GENERAL)
        )
        assert moving.form_fields == {"uid": "u-1"}


async def test_creation_reports_errors_in_the_conversation_language(db: Database) -> None:
    async with transaction(db.sessionmaker) as session:
        contact_id, _ = await do_resolve_contact(session, IdentityKind.EMAIL, "d@example.com")
        with pytest.raises(InvalidInput) as caught:
            await do_create_conversation(
                session,
                CustomerActor(contact_id=contact_id),
                ConversationCreate(
                    body="call me", category=Category.CALLBACK, form_fields={"phone": "12"}, locale="en"
                ),
                channel=ChannelKind.WEB,
            )
    assert caught.value.fields == {
        "form_fields.phone": "Start the number with + and the country code, or choose your country or region."
    }
