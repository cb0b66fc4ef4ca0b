"""What the chat socket does with each client frame after the hello (docs/chat-protocol.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from kefu.chat.actions import KnownChat, do_post_message, do_record_diagnostics, publish_customer_activity
from kefu.chat.admission import RETRY_AFTER_MS, Busy
from kefu.chat.bot_flow import Silence, do_bot_turn, find_choice
from kefu.chat.limits import MESSAGES_PER_MINUTE
from kefu.chat.quick_post import try_quick_post
from kefu.chat.tickets import do_continue_by_email
from kefu.chat.transcripts import do_email_transcript
from kefu.chat.uploads import read_upload
from kefu.conversations.models import Conversation
from kefu.core.clock import utcnow
from kefu.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from kefu.core.ratelimit import SlidingWindow
from kefu.db.uow import transaction
from kefu.events.emit import publish_durable
from kefu.events.types import Event
from kefu.observability.context import bind_conversation
from kefu.ratings.actions import do_rate
from kefu.web.chat import trust_commands
from kefu.web.chat.frames import (
    CLOSE_RATE,
    Choice,
    Closed,
    Diagnostics,
    FreezeAccount,
    LeaveEmail,
    Ping,
    Post,
    ProtocolError,
    Rate,
    Read,
    SetAntiPhishingCode,
    Transcript,
    Typing,
    VerifyIdentity,
    parse_frame,
)
from kefu.web.chat.ownership import own_conversation

if TYPE_CHECKING:
    from kefu.web.chat.connection import ChatConnection


# Refusals in a row before the connection is dropped rather than answered.
HARD_LIMIT_REFUSALS: Final = 3 * MESSAGES_PER_MINUTE

# Typing notices are only ever shown for a moment: counted per node is enough.
_typing = SlidingWindow(1, 1.0)


async def handle(connection: ChatConnection, raw: str) -> None:
    """Act on one client frame; ProtocolError is answered with an error frame by the caller."""
    frame = parse_frame(raw)
    if isinstance(frame, Ping):
        now = int(utcnow().timestamp() * 1000)
        await connection.send({"type": "pong", "t": frame.t, "server_time": now})
    elif isinstance(frame, Post):
        await post(connection, frame)
    elif isinstance(frame, Typing):
        if connection.conversation_id is not None and _typing.hit(connection.customer.visitor_id.hex):
            await activity(connection, frame.state, None)
    elif isinstance(frame, Read):
        if connection.conversation_id is not None:
            await activity(connection, "read", min(frame.seq, connection.sent_seq))
    elif isinstance(frame, LeaveEmail):
        await leave_email(connection, frame)
    elif isinstance(frame, Transcript):
        await transcript(connection)
    elif isinstance(frame, Rate):
        await rate(connection, frame)
    elif isinstance(frame, Diagnostics):
        await diagnostics(connection, frame)
    elif isinstance(frame, Choice):
        await choose(connection, frame)
    elif isinstance(frame, VerifyIdentity):
        await trust_commands.verify_identity(connection, frame)
    elif isinstance(frame, FreezeAccount):
        await trust_commands.freeze_account(connection, frame)
    elif isinstance(frame, SetAntiPhishingCode):
        await trust_commands.set_anti_phishing_code(connection, frame)
    else:
        raise ProtocolError("invalid", "hello is sent once, first")


async def post(connection: ChatConnection, frame: Post) -> None:
    """Store the customer's message (opening the chat), ack it once committed, then echo it in order.

    Refused with `busy` (nothing stored, no rate-limit slot spent) while the node has its limit of
    posts in flight (kefu.chat.admission).
    """
    try:
        with connection.runtime.chat_limits.posts.admitted():
            await _post(connection, frame)
    except Busy:
        raise ProtocolError(
            "busy",
            "the server is busy; send the message again in a moment",
            client_id=frame.client_id,
            retry_after_ms=RETRY_AFTER_MS,
        ) from None


async def _post(connection: ChatConnection, frame: Post) -> None:
    visitor = connection.customer.visitor_id.hex
    within = connection.limiter.hit("connection")
    if not within and connection.limiter.refused_in_a_row("connection") > HARD_LIMIT_REFUSALS:
        raise Closed(CLOSE_RATE)
    if not within or not await connection.runtime.chat_limits.messages.hit(visitor):
        raise ProtocolError("rate_limited", "too many messages; wait a moment", client_id=frame.client_id)
    secret = connection.runtime.settings.secret_key.get_secret_value()
    files = [read_upload(secret, connection.customer.visitor_id, token) for token in frame.files]
    if any(f is None for f in files):
        raise ProtocolError(
            "invalid", "a file's upload token is expired or not yours", client_id=frame.client_id
        )
    if not files and await _quick_post(connection, frame):
        return
    try:
        async with transaction(connection.runtime.sessionmaker) as session:
            posted = await do_post_message(
                session,
                connection.customer,
                body=frame.body,
                client_id=frame.client_id,
                locale=connection.locale,
                files=[f for f in files if f is not None],
                known=connection.known_chat,
            )
            if connection.pending_diagnostics is not None and not connection.diagnostics_sent:
                await do_record_diagnostics(session, posted.conversation, connection.pending_diagnostics)
                connection.diagnostics_sent = True
            described = await connection.describe(session, posted.conversation)
    except Conflict as exc:
        raise ProtocolError("conversation_closed", str(exc), client_id=frame.client_id) from None
    except (InvalidInput, PermissionDenied, NotFound) as exc:
        raise ProtocolError("invalid", str(exc), client_id=frame.client_id) from None
    connection.known_chat = KnownChat(posted.contact_id, posted.conversation.id)
    ack = {"type": "ack", "client_id": frame.client_id, "seq": posted.message.seq, "conversation": described}
    if posted.conversation.id == connection.conversation_id:
        # The customer's own new message is known in full: echo it without reading it back.
        own = posted.message if posted.created and not frame.files else None
        if not await connection.acknowledge(ack, own):
            await connection.flush()
    else:
        await connection.send(ack)
        connection.conversation_id = posted.conversation.id
        bind_conversation(posted.conversation.id)
        connection.sent_seq = 0
        connection.follow()
        await connection.refresh_state(force=True)
        await connection.flush()
    if posted.created and frame.body:
        await bot(connection, text=frame.body, choice=None)


async def _quick_post(connection: ChatConnection, frame: Post) -> bool:
    """The customer's next message in their open chat in one statement (kefu.chat.quick_post);
    False when the chat is not quiet and the general path must store it."""
    known = connection.known_chat
    if (
        known is None
        or known.conversation_id != connection.conversation_id
        or (connection.pending_diagnostics is not None and not connection.diagnostics_sent)
    ):
        return False
    posted = await try_quick_post(
        connection.runtime.engine,
        connection.runtime.sessionmaker,
        contact_id=known.contact_id,
        conversation_id=known.conversation_id,
        body=frame.body,
        client_id=frame.client_id,
    )
    if posted is None:
        return False
    try:
        chat = posted.chat
        described = await connection.describe_parts(chat.id, chat.reference, chat.status, chat.assignee_id)
        ack = {
            "type": "ack",
            "client_id": frame.client_id,
            "seq": posted.message.seq,
            "conversation": described,
        }
        if not await connection.acknowledge(ack, posted.message):
            await connection.flush()
    finally:
        # After the echo: the customer's own copy of the event then finds the message sent.
        await _publish(connection, posted.events)
    if frame.body:
        await bot(connection, text=frame.body, choice=None)
    return True


async def _publish(connection: ChatConnection, events: tuple[Event, ...]) -> None:
    """Publish a stored message's events (a failure is logged: the message is durable and acked, so a
    bus that is down, or a Redis pool exhausted under overload, must not close the customer's socket)."""
    await publish_durable(events, connection.runtime.bus)


async def bot(connection: ChatConnection, *, text: str | None, choice: str | None) -> None:
    """The bot's turn after the customer's (acked) message: its answer, then the new queue state."""
    if not connection.runtime.settings.chat_bot:
        return
    if connection.bot_done_in is not None and connection.bot_done_in == connection.conversation_id:
        return  # handed over: nothing to read for each later message
    async with transaction(connection.runtime.sessionmaker) as session:
        conversation = await own_conversation(session, connection)
        turn = await do_bot_turn(
            session, conversation, text=text, choice=choice, base_url=connection.runtime.settings.base_url
        )
    if isinstance(turn, Silence):
        if turn.for_good:
            connection.bot_done_in = conversation.id
        return
    if turn.handover:
        connection.bot_done_in = conversation.id
    await connection.flush()
    await connection.refresh_state()


async def choose(connection: ChatConnection, frame: Choice) -> None:
    """A quick reply the bot offered (solved, not solved, talk to a person, skip)."""
    async with transaction(connection.runtime.sessionmaker) as session:
        conversation = await own_conversation(session, connection)
        offered = await find_choice(session, conversation, frame.seq, frame.choice)
    if not offered:
        raise ProtocolError("not_found", "no such choice in this conversation")
    await bot(connection, text=None, choice=frame.choice)


async def _mail_allowed(connection: ChatConnection) -> None:
    if not await connection.runtime.chat_limits.mails.hit(connection.customer.visitor_id.hex):
        raise ProtocolError("rate_limited", "too many emails requested; try again later")


async def leave_email(connection: ChatConnection, frame: LeaveEmail) -> None:
    """Offline: the chat becomes an email ticket (docs/chat-protocol.md, `ticket`)."""
    await _mail_allowed(connection)
    try:
        async with transaction(connection.runtime.sessionmaker) as session:
            conversation = await own_conversation(session, connection)
            ticket = await do_continue_by_email(
                session, conversation, frame.email, settings=connection.runtime.settings
            )
    except InvalidInput as exc:
        raise ProtocolError("invalid", str(exc)) from None
    await connection.send({"type": "ticket", "reference": ticket.reference, "email": ticket.email})


async def transcript(connection: ChatConnection) -> None:
    """Email the transcript to the customer's known address."""
    await _mail_allowed(connection)
    try:
        async with transaction(connection.runtime.sessionmaker) as session:
            conversation = await own_conversation(session, connection)
            address = await do_email_transcript(session, conversation, bot_name=connection.bot_name)
    except InvalidInput as exc:
        code = "no_email" if "email" in (exc.fields or {}) else "invalid"
        raise ProtocolError(code, str(exc)) from None
    await connection.send({"type": "transcript_sent", "email": address})


async def rate(connection: ChatConnection, frame: Rate) -> None:
    """The customer's satisfaction rating of the solved chat."""
    try:
        async with transaction(connection.runtime.sessionmaker) as session:
            conversation = await own_conversation(session, connection)
            await do_rate(session, conversation, frame.score, frame.comment)
    except Conflict as exc:
        raise ProtocolError("not_solved", str(exc)) from None
    except InvalidInput as exc:
        raise ProtocolError("invalid", str(exc)) from None
    await connection.send({"type": "rated", "score": frame.score})


async def diagnostics(connection: ChatConnection, frame: Diagnostics) -> None:
    """Shared with consent: kept for the first message, or attached now if the chat is open."""
    facts: dict[str, Any] = frame.model_dump(exclude={"type"})
    facts["user_agent"] = (connection.websocket.headers.get("user-agent") or "")[:400]
    connection.pending_diagnostics = facts
    if connection.conversation_id is None or connection.diagnostics_sent:
        return
    async with transaction(connection.runtime.sessionmaker) as session:
        conversation = await own_conversation(session, connection)
        await do_record_diagnostics(session, conversation, facts)
    connection.diagnostics_sent = True


async def activity(connection: ChatConnection, state: str, seq: int | None) -> None:
    """Customer typing / read notices for the agents watching the conversation."""
    assert connection.conversation_id is not None
    async with transaction(connection.runtime.sessionmaker, writes=False) as session:
        conversation = await session.get(Conversation, connection.conversation_id)
    if conversation is not None:
        await publish_customer_activity(connection.runtime.bus, conversation, state=state, seq=seq)
