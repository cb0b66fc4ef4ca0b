"""Chat frames of trust and safety: entering an identity code, freezing the account once verified,
and the identified customer's anti-phishing code (docs/chat-protocol.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.chat.service import find_contact
from kefu.contacts.models import Contact
from kefu.conversations.models import Conversation
from kefu.core.errors import Conflict, InvalidInput, PermissionDenied
from kefu.db.uow import transaction
from kefu.integrations.exchange.errors import ExchangeError
from kefu.integrations.exchange.schemas import AccountAction
from kefu.trust.account_actions import do_account_action
from kefu.trust.anti_phishing import do_set_code, read_code
from kefu.trust.identity import CheckOutcome, do_check_code, pending_challenge, verification_of
from kefu.trust.keys import keyring_from_settings
from kefu.web.chat.frames import FreezeAccount, ProtocolError, SetAntiPhishingCode, VerifyIdentity
from kefu.web.chat.ownership import own_conversation

if TYPE_CHECKING:
    from kefu.web.chat.connection import ChatConnection


async def _own(session: AsyncSession, connection: ChatConnection) -> tuple[Conversation, CustomerActor]:
    conversation = await own_conversation(session, connection)
    return conversation, CustomerActor(contact_id=conversation.contact_id)


async def verify_identity(connection: ChatConnection, frame: VerifyIdentity) -> None:
    """`identity` when the code is right; else error `wrong_code` (with attempts left) or `no_code`."""
    settings = connection.runtime.settings
    async with transaction(connection.runtime.sessionmaker) as session:
        conversation, actor = await _own(session, connection)
        result = await do_check_code(session, actor, conversation, frame.code, settings=settings)
        verification = await verification_of(session, conversation, settings)
    # Committed whatever the outcome: a wrong attempt counts.
    if result.outcome == CheckOutcome.NO_CODE:
        raise ProtocolError("no_code", "no code is waiting: ask the agent to send a new one")
    if result.outcome == CheckOutcome.WRONG or verification is None:
        await connection.send(
            {
                "type": "error",
                "code": "wrong_code",
                "message": "that code is not right",
                "attempts_left": result.attempts_left,
            }
        )
        return
    await connection.send({"type": "identity", "verified": True, "until": verification.until.isoformat()})


async def freeze_account(connection: ChatConnection, frame: FreezeAccount) -> None:
    """Freeze the customer's exchange account from this verified chat (`account_frozen`)."""
    runtime = connection.runtime
    try:
        async with transaction(runtime.sessionmaker) as session:
            conversation, actor = await _own(session, connection)
            result = await do_account_action(
                session,
                actor,
                conversation,
                AccountAction.FREEZE,
                exchange=runtime.exchange,
                settings=runtime.settings,
            )
    except PermissionDenied:
        raise ProtocolError("not_verified", "confirm your identity with the emailed code first") from None
    except Conflict:
        raise ProtocolError("no_account", "no exchange account is linked to this chat") from None
    except ExchangeError:
        raise ProtocolError("exchange_unavailable", "the exchange did not answer; try again") from None
    await connection.send({"type": "account_frozen", "status": result.status.value})


async def set_anti_phishing_code(connection: ChatConnection, frame: SetAntiPhishingCode) -> None:
    """Identified customers only (an anonymous visitor's code would protect nobody)."""
    if not connection.customer.identified:
        raise ProtocolError("not_identified", "sign in on the exchange's site to set an anti-phishing code")
    runtime = connection.runtime
    keyring = keyring_from_settings(runtime.settings)
    try:
        async with transaction(runtime.sessionmaker) as session:
            contact_id = await find_contact(session, connection.customer)
            if contact_id is None:
                raise ProtocolError("no_conversation", "send a message first")
            contact = await do_set_code(
                session,
                CustomerActor(contact_id=contact_id),
                frame.code,
                keyring=keyring,
                settings=runtime.settings,
            )
            code = read_code(contact, keyring)
    except InvalidInput as exc:
        raise ProtocolError("invalid", str(exc)) from None
    await connection.send({"type": "anti_phishing_code", "code": code})


async def anti_phishing_code_of(session: AsyncSession, connection: ChatConnection) -> str | None:
    """The code the chat header shows: identified customers' only."""
    if not connection.customer.identified:
        return None
    contact_id = await find_contact(session, connection.customer)
    contact = await session.get(Contact, contact_id) if contact_id else None
    return read_code(contact, keyring_from_settings(connection.runtime.settings)) if contact else None


async def identity_state(
    session: AsyncSession, connection: ChatConnection, conversation: Conversation
) -> dict[str, Any]:
    """The welcome's `identity`: verified until when, and the code waiting to be entered, if any."""
    verification = await verification_of(session, conversation, connection.runtime.settings)
    pending = await pending_challenge(session, conversation)
    return {
        "verified": verification is not None,
        "until": verification.until.isoformat() if verification else None,
        "pending": {"destination": pending.destination, "expires_at": pending.expires_at.isoformat()}
        if pending
        else None,
    }
