"""Sensitive account actions from a conversation: freeze (the customer in one step, or an agent) and
unlock (an agent). Both need the conversation to be identity-verified and go through the exchange port
with an idempotency key, so a retried request is applied once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import record_audit
from kefu.auth.actors import AgentActor, CustomerActor
from kefu.contacts.models import ContactIdentity, IdentityKind
from kefu.conversations.models import Conversation
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.errors import Conflict, PermissionDenied
from kefu.inboxes.models import ChannelKind
from kefu.integrations.exchange.port import ExchangePort
from kefu.integrations.exchange.schemas import AccountAction, ActionResult
from kefu.settings import Settings
from kefu.trust.identity import require_verified


async def exchange_uid_of(session: AsyncSession, conversation: Conversation) -> str:
    """The exchange account of the conversation's customer; Conflict when none is linked."""
    uid = await session.scalar(
        select(ContactIdentity.value)
        .where(
            ContactIdentity.contact_id == conversation.contact_id,
            ContactIdentity.kind == IdentityKind.EXCHANGE_UID,
        )
        .order_by(ContactIdentity.value)
        .limit(1)
    )
    if uid is None:
        raise Conflict("this customer has no linked exchange account")
    return uid


async def do_account_action(
    session: AsyncSession,
    actor: AgentActor | CustomerActor,
    conversation: Conversation,
    action: AccountAction,
    *,
    exchange: ExchangePort,
    settings: Settings,
    ip: str | None = None,
) -> ActionResult:
    """Freeze or unlock the customer's exchange account from a verified conversation.

    Customers may only freeze their own account (a takeover in progress must be stoppable at once);
    unlocking is an agent's decision. Exchange errors propagate and nothing is recorded as done.
    """
    if isinstance(actor, CustomerActor) and (
        action != AccountAction.FREEZE or actor.contact_id != conversation.contact_id
    ):
        raise PermissionDenied("customers can only freeze their own account")
    verification = await require_verified(session, conversation, settings)
    uid = await exchange_uid_of(session, conversation)
    who = (
        f"kefu agent {actor.agent_id}"
        if isinstance(actor, AgentActor)
        else f"kefu customer {actor.contact_id}"
    )
    # One action per verification: a retry (double click, network replay) returns the first answer.
    key = f"kefu-{action.value}-{conversation.id.hex}-{int(verification.at.timestamp())}"
    reason = (
        f"{'Customer request' if isinstance(actor, CustomerActor) else 'Support'} in {conversation.reference}"
    )
    if action == AccountAction.FREEZE:
        result = await exchange.freeze_account(uid, reason=reason, actor=who, idempotency_key=key)
    else:
        result = await exchange.unlock_account(uid, reason=reason, actor=who, idempotency_key=key)
    await append_message(
        session,
        conversation,
        actor,
        NewMessage(
            body=f"Exchange account {uid}: {action.value} "
            f"({result.previous_status.value} → {result.status.value}).",
            kind=MessageKind.EVENT,
            data={
                "account_action": {
                    "action": action.value,
                    "uid": uid,
                    "status": result.status.value,
                    "changed": result.changed,
                    "action_id": result.action_id,
                }
            },
        ),
        author=AuthorKind.AGENT if isinstance(actor, AgentActor) else AuthorKind.CUSTOMER,
        channel=ChannelKind(conversation.channel),
    )
    await record_audit(
        session,
        action=f"exchange.account_{action.value}",
        actor=actor,
        target_type="conversation",
        target_id=str(conversation.id),
        ip=ip,
        details={
            "uid": uid,
            "status": result.status.value,
            "changed": result.changed,
            "action_id": result.action_id,
        },
    )
    return result
