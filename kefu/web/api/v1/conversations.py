"""Conversation routes: thin — parse, gate, act, serialise."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.auth.customer_tokens import issue_customer_token
from kefu.auth.roles import Scope
from kefu.auth.tokens import cached_api_token_actor
from kefu.conversations.access import access_conversation_by_id, access_conversation_by_reference
from kefu.conversations.acknowledge import contact_email, queue_acknowledgement
from kefu.conversations.actions import do_add_message, do_solve_as_customer, do_update_conversation
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.create import do_create_conversation, do_open_as_visitor
from kefu.conversations.merge import do_merge_conversations
from kefu.conversations.models import Conversation
from kefu.conversations.quick_open import try_quick_open
from kefu.conversations.schemas import (
    ConversationCreate,
    ConversationCreated,
    ConversationMerge,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    MessageCreate,
    MessageOut,
    MessagePage,
)
from kefu.conversations.service import ConversationFilters, list_conversations, list_messages
from kefu.conversations.states import Category, Status
from kefu.conversations.timeline import NewMessage
from kefu.core.errors import InvalidInput
from kefu.db.uow import transaction
from kefu.events.emit import publish_durable
from kefu.i18n import negotiate_locale
from kefu.inboxes.models import ChannelKind
from kefu.runtime import Runtime
from kefu.storage.uploads import StoredFile, store_upload
from kefu.web.api.v1.bodies import Upload, multipart_openapi, read_body
from kefu.web.api.v1.serializers import conversation_created_json, conversation_out, message_out
from kefu.web.deps import (
    AgentWriter,
    Customer,
    DbSession,
    Reader,
    RuntimeDep,
    Writer,
    get_optional_writer,
    get_runtime,
)

router = APIRouter(prefix="/conversations", tags=["conversations"])

CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII | re.IGNORECASE
)


async def _store(runtime: Runtime, uploads: list[Upload]) -> list[StoredFile]:
    """Sniff, re-encode and store each upload (content-addressed, so a retry stores nothing twice)."""
    limits = runtime.settings
    return [
        await store_upload(
            runtime.blobs,
            u.data,
            u.filename,
            max_bytes=limits.upload_max_bytes,
            max_pixels=limits.image_max_pixels,
        )
        for u in uploads
    ]


async def gate_conversation(
    session: DbSession, actor: Actor, ident: str, *, for_update: bool = False
) -> Conversation:
    """The conversation `ident` (id or KF- reference) if `actor` may see it; 404 or 422 otherwise."""
    if ident.upper().startswith("KF-"):
        return await access_conversation_by_reference(session, actor, ident)
    if not CANONICAL_UUID.fullmatch(ident):
        # uuid.UUID() also takes braces, urn: prefixes and fullwidth digits: accept one spelling only.
        raise InvalidInput("not a conversation id or KF- reference", fields={"conversation": ident[:50]})
    return await access_conversation_by_id(session, actor, uuid.UUID(ident), for_update=for_update)


@router.post(
    "",
    status_code=201,
    response_model=ConversationCreated,
    openapi_extra=multipart_openapi(ConversationCreate),
)
async def create_conversation(request: Request) -> Response:
    """Open a conversation. Anyone (a request form), customers, agents and API clients may call it.

    Anonymous callers name themselves with `customer.email` and get a `customer_token` for this
    conversation only; a repeated `client_id` answers 200 with the original conversation.
    """
    runtime = await get_runtime(request)
    body: Body | None = None
    # PostgreSQL only: the one-statement write needs its data-modifying CTEs.
    client = _cached_api_client(request) if runtime.engine.dialect.name == "postgresql" else None
    if client is not None:
        # An API client the token cache knows: the common create may be one autocommitted statement.
        body = await _read(request, runtime)
        quick = await _quick_open(request, runtime, client, body)
        if quick is not None:
            return quick
    # The busiest write route opens its transaction and names its caller (OptionalWriter) itself:
    # FastAPI's dependency solving cost about 7 % of this request's CPU (docs/performance.md). The
    # rules are DbSession's: one transaction, committed before the response is sent, rolled back
    # on any error, the caller checked before the body is read.
    async with transaction(runtime.sessionmaker) as session:
        actor = await get_optional_writer(request, session)
        conversation, created, token = await _create(request, session, runtime, actor, body)
    # Serialised here: a returned model would be validated again against `response_model`, which
    # stays on the route for the OpenAPI document only.
    return Response(
        conversation_created_json(conversation, token, actor),
        status_code=201 if created else 200,
        media_type="application/json",
    )


Body = tuple[ConversationCreate, list[Upload]]


def _cached_api_client(request: Request) -> AgentActor | None:
    """The caller, when it sends an API token this process holds as live and writable (no I/O)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    actor = cached_api_token_actor(token.strip())
    return actor if actor is not None and actor.has_scope(Scope.CONVERSATIONS_WRITE) else None


async def _read(request: Request, runtime: Runtime) -> Body:
    """The request body, in the caller's language (Accept-Language) when it names none: per-field
    messages and emails follow it."""
    data, uploads = await read_body(
        request, ConversationCreate, max_file_bytes=runtime.settings.upload_max_bytes
    )
    if "locale" in data.model_fields_set:
        return data, uploads
    accepted = negotiate_locale(
        explicit=None, cookie=None, accept_language=request.headers.get("accept-language")
    )
    return data.model_copy(update={"locale": accepted}), uploads


async def _quick_open(request: Request, runtime: Runtime, actor: AgentActor, body: Body) -> Response | None:
    """The 201 answer when `kefu.conversations.quick_open` wrote the conversation; None otherwise."""
    data, uploads = body
    if uploads:
        return None
    opened = await try_quick_open(runtime.engine, runtime.sessionmaker, actor, data)
    if opened is None:
        return None
    await publish_durable(opened.events)
    return Response(
        conversation_created_json(opened.conversation, None, actor),
        status_code=201,
        media_type="application/json",
    )


async def _create(
    request: Request, session: AsyncSession, runtime: Runtime, actor: Actor | None, body: Body | None
) -> tuple[Conversation, bool, str | None]:
    """The body of `create_conversation`: (conversation, created, customer token for anonymous callers).

    `body`: the request body when it was read already (by the quick path).
    """
    settings = runtime.settings
    data, uploads = body or await _read(request, runtime)
    files = await _store(runtime, uploads)
    token: str | None = None
    if actor is None:
        conversation, created, first = await do_open_as_visitor(session, data, channel=ChannelKind.WEB)
        token = issue_customer_token(settings.secret_key, conversation.contact_id, conversation.id)
        if created and data.customer is not None and data.customer.email:
            await queue_acknowledgement(
                session,
                conversation,
                email=data.customer.email,
                settings=settings,
            )
    else:
        channel = ChannelKind.WEB if isinstance(actor, CustomerActor) else ChannelKind.API
        conversation, created, first = await do_create_conversation(session, actor, data, channel=channel)
        if created and isinstance(actor, CustomerActor):
            email = await contact_email(session, actor.contact_id)
            if email is not None:
                await queue_acknowledgement(
                    session,
                    conversation,
                    email=email,
                    settings=settings,
                )
    if created and files and first is not None:
        await do_attach_files(session, conversation, first, files, sensitive=False)
    return conversation, created, token


@router.get("", response_model=ConversationPage)
async def list_conversations_route(
    session: DbSession,
    actor: Reader,
    status: Annotated[list[Status] | None, Query()] = None,
    assignee_id: uuid.UUID | None = None,
    unassigned: bool = False,
    team_id: uuid.UUID | None = None,
    category: Category | None = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ConversationPage:
    """Conversations the caller may see, most recently active first. Customers see their own."""
    filters = ConversationFilters(
        status=status,
        assignee_id=assignee_id,
        unassigned=unassigned,
        team_id=team_id,
        category=category,
        tag=tag,
        text=q,
    )
    rows, next_cursor = await list_conversations(session, actor, filters, limit=limit, cursor=cursor)
    return ConversationPage(items=[conversation_out(c, actor) for c in rows], next_cursor=next_cursor)


@router.get("/{conversation}", response_model=ConversationOut)
async def get_conversation(conversation: str, session: DbSession, actor: Reader) -> ConversationOut:
    """One conversation by id or `KF-` reference (404 when missing or not the caller's)."""
    return conversation_out(await gate_conversation(session, actor, conversation), actor)


@router.patch("/{conversation}", response_model=ConversationOut)
async def update_conversation(
    conversation: str, changes: ConversationUpdate, session: DbSession, actor: AgentWriter
) -> ConversationOut:
    """Change status, priority, category, assignee, team or tags (agents)."""
    row = await gate_conversation(session, actor, conversation, for_update=True)
    return conversation_out(await do_update_conversation(session, actor, row, changes), actor)


@router.get("/{conversation}/messages", response_model=MessagePage)
async def list_messages_route(
    conversation: str,
    session: DbSession,
    actor: Reader,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> MessagePage:
    """The timeline after `after_seq`; customers see replies only, staff also notes and events."""
    row = await gate_conversation(session, actor, conversation)
    messages = await list_messages(session, actor, row, after_seq=after_seq, limit=limit)
    next_after = messages[-1].seq if len(messages) == limit else None
    return MessagePage(items=[message_out(m, actor) for m in messages], next_after_seq=next_after)


@router.post(
    "/{conversation}/messages",
    status_code=201,
    response_model=MessageOut,
    openapi_extra=multipart_openapi(MessageCreate),
)
async def add_message(
    conversation: str,
    request: Request,
    response: Response,
    session: DbSession,
    runtime: RuntimeDep,
    actor: Writer,
) -> MessageOut:
    """Reply or (staff) add an internal note, with attachments; idempotent on `client_id`."""
    settings = runtime.settings
    data, uploads = await read_body(request, MessageCreate, max_file_bytes=settings.upload_max_bytes)
    if not data.body.strip() and not uploads:
        raise InvalidInput("a message needs text or a file", fields={"body": "required"})
    row = await gate_conversation(session, actor, conversation, for_update=True)
    files = await _store(runtime, uploads)
    channel = ChannelKind.WEB if isinstance(actor, CustomerActor) else ChannelKind.API
    message, created = await do_add_message(
        session,
        actor,
        row,
        NewMessage(body=data.body, kind=data.kind, client_id=data.client_id),
        channel=channel,
        set_status=data.status,
    )
    if created and files:
        await do_attach_files(session, row, message, files, sensitive=False)
    response.status_code = 201 if created else 200
    return message_out(message, actor)


@router.post("/{conversation}/merge", response_model=ConversationOut)
async def merge_conversation(
    conversation: str, body: ConversationMerge, session: DbSession, actor: AgentWriter
) -> ConversationOut:
    """Close this duplicate into `into` (same customer); returns the conversation that carries on."""
    source = await gate_conversation(session, actor, conversation, for_update=True)
    target = await gate_conversation(session, actor, body.into, for_update=True)
    return conversation_out(await do_merge_conversations(session, actor, source, target), actor)


@router.post("/{conversation}/solve", response_model=ConversationOut)
async def solve_conversation(conversation: str, session: DbSession, actor: Customer) -> ConversationOut:
    """Customers: mark their own request solved (a later reply from them reopens it)."""
    row = await gate_conversation(session, actor, conversation, for_update=True)
    return conversation_out(await do_solve_as_customer(session, actor, row), actor)
