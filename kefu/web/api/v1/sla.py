"""SLA policies (agents read, supervisors write) and a conversation's SLA card."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from kefu.conversations.access import access_conversation_by_id
from kefu.sla.actions import do_create_policy, do_delete_policy, do_update_policy
from kefu.sla.schemas import ConversationSlaOut, SlaPolicyIn, SlaPolicyOut
from kefu.sla.service import get_conversation_sla, get_policy, list_policies, sla_out
from kefu.web.deps import AgentReader, DbSession, Supervisor

router = APIRouter(tags=["sla"])


@router.get("/sla-policies", response_model=list[SlaPolicyOut])
async def policies(actor: AgentReader, session: DbSession) -> list[SlaPolicyOut]:
    """Every policy in the order they are tried (the first active match applies)."""
    del actor
    return [SlaPolicyOut.model_validate(p) for p in await list_policies(session)]


@router.post("/sla-policies", status_code=201, response_model=SlaPolicyOut)
async def create_policy(body: SlaPolicyIn, actor: Supervisor, session: DbSession) -> SlaPolicyOut:
    """Supervisors add a policy."""
    del actor
    return SlaPolicyOut.model_validate(await do_create_policy(session, body))


@router.get("/sla-policies/{policy_id}", response_model=SlaPolicyOut)
async def policy(policy_id: uuid.UUID, actor: AgentReader, session: DbSession) -> SlaPolicyOut:
    """One policy."""
    del actor
    return SlaPolicyOut.model_validate(await get_policy(session, policy_id))


@router.put("/sla-policies/{policy_id}", response_model=SlaPolicyOut)
async def update_policy(
    policy_id: uuid.UUID, body: SlaPolicyIn, actor: Supervisor, session: DbSession
) -> SlaPolicyOut:
    """Supervisors replace a policy."""
    del actor
    found = await get_policy(session, policy_id)
    return SlaPolicyOut.model_validate(await do_update_policy(session, found, body))


@router.delete("/sla-policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: uuid.UUID, actor: Supervisor, session: DbSession) -> Response:
    """Supervisors delete a policy (conversations keep the deadlines it gave them)."""
    del actor
    await do_delete_policy(session, await get_policy(session, policy_id))
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/sla", response_model=ConversationSlaOut)
async def conversation_sla(
    conversation_id: uuid.UUID, actor: AgentReader, session: DbSession
) -> ConversationSlaOut:
    """The SLA card of a conversation the agent may see (404 otherwise)."""
    conversation = await access_conversation_by_id(session, actor, conversation_id)
    return sla_out(conversation.id, await get_conversation_sla(session, conversation.id))
