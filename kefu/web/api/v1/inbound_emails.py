"""Inbound email for agents: the original message as it arrived, and decisions about held replies."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from kefu.conversations.schemas import ConversationOut
from kefu.mail.held import ReleaseAs, access_inbound, do_release_held, read_original
from kefu.web.api.v1.serializers import conversation_out
from kefu.web.deps import AgentReader, AgentWriter, DbSession, RuntimeDep, client_ip

router = APIRouter(prefix="/inbound-emails", tags=["email"])


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_as: ReleaseAs


@router.get(
    "/{inbound_id}/raw",
    response_class=Response,
    responses={200: {"content": {"message/rfc822": {}}, "description": "the original message"}},
)
async def original_message(
    inbound_id: uuid.UUID, session: DbSession, runtime: RuntimeDep, actor: AgentReader
) -> Response:
    """Agents who may see the conversation (supervisors for mail that joined none): the raw .eml,
    always as a download, never rendered from our origin."""
    row = await access_inbound(session, actor, inbound_id)
    return Response(
        content=await read_original(runtime.blobs, row),
        media_type="message/rfc822",
        headers={
            "content-disposition": f'attachment; filename="email-{row.id}.eml"',
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


@router.post("/{inbound_id}/release", response_model=ConversationOut)
async def release_held(
    inbound_id: uuid.UUID,
    body: ReleaseIn,
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    actor: AgentWriter,
) -> ConversationOut:
    """Agents who may see the conversation: add a held reply as an internal note, or open a separate
    conversation for its sender (409 when the email is not held)."""
    conversation = await do_release_held(
        session,
        actor,
        inbound_id,
        body.release_as,
        blobs=runtime.blobs,
        settings=runtime.settings,
        ip=client_ip(request),
    )
    return conversation_out(conversation, actor)
