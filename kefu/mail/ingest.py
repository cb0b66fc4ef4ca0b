"""The `mail.ingest` job: a stored inbound message becomes a conversation, a reply, or a held/ignored record.

Steps: parse (never raises) → sender authentication → noise (bounces mark our delivery failed;
auto-replies are kept but never answered; a sender over the hourly limit is ignored) → threading →
a reply from the customer joins the conversation, a reply from anyone else is held for an agent, and
everything else opens a new conversation (phishing in our name goes to the security team, tagged).
The job is idempotent: it acts only on rows still `received`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any, Final

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.channels.models import OfficialKind
from kefu.channels.service import list_channels
from kefu.conversations.acknowledge import queue_acknowledgement
from kefu.conversations.actions import do_add_message
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.models import Conversation, Message
from kefu.conversations.redaction import REDACTED_KEY
from kefu.conversations.states import AuthorKind, MessageKind, Status
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.db.cache import ConfigCache
from kefu.inboxes.models import ChannelKind
from kefu.jobs.registry import Batchable, JobContext, JobHandler, PermanentJobError
from kefu.mail.inbound.authn import SenderVerdict, verify_sender
from kefu.mail.inbound.dns import TxtResolver
from kefu.mail.inbound.parse import parse_email
from kefu.mail.inbound.raw import decompress_raw
from kefu.mail.inbound.results import AutoKind, ParsedEmail
from kefu.mail.mailboxes import resolve_recipient, split_address
from kefu.mail.models import InboundEmail, InboundStatus, ThreadDirection
from kefu.mail.new_threads import (
    REVIEW_TAG,
    attach_original,
    body_of,
    email_facts,
    open_conversation,
    sender_contact,
    store_files,
    valid_sender,
)
from kefu.mail.receive import MAIL_INGEST
from kefu.mail.redaction import MAIL_DISCARD_RAW, after_ingest, bind_discard_raw, redact_subject
from kefu.mail.threading import find_thread, is_participant, remember_message_ids
from kefu.settings import Settings
from kefu.storage.base import BlobStore

log = structlog.get_logger(__name__)

# New conversations or replies one sender may open per hour before further mail is only kept.
MAX_MESSAGES_PER_SENDER_PER_HOUR: Final = 30
# Parsing a big message is CPU work: off the event loop above this size.
_THREAD_PARSE_BYTES: Final = 256 * 1024


OFFICIAL_DOMAINS: ConfigCache[frozenset[str]] = ConfigCache("official_mail_domains")


async def _official_domains(session: AsyncSession) -> frozenset[str]:
    domains: set[str] = set()
    for channel in await list_channels(session):
        if channel.kind == OfficialKind.DOMAIN:
            domains.add(channel.value)
        elif channel.kind == OfficialKind.EMAIL:
            domains.add(channel.value.rpartition("@")[2])
    return frozenset(domains)


async def our_domains(session: AsyncSession, settings: Settings, mailbox: str) -> list[str]:
    """Domains that are ours: official domains and email domains, the From and DKIM domains, the mailbox's.

    The registry part is cached a few seconds per process (it changes rarely; mail arrives often).
    """
    domains = {mailbox.rpartition("@")[2]} | await OFFICIAL_DOMAINS.get(session, None, _official_domains)
    sender = split_address(settings.mail_from.rpartition("<")[2].rstrip(">"))
    if sender is not None:
        domains.add(sender[0].rpartition("@")[2])
    if settings.dkim_domain:
        domains.add(settings.dkim_domain.lower())
    return sorted(d for d in domains if d)


async def _sender_count(session: AsyncSession, address: str) -> int:
    since = utcnow() - timedelta(hours=1)
    count = await session.scalar(
        select(func.count())
        .select_from(InboundEmail)
        .where(
            InboundEmail.from_address == address,
            InboundEmail.received_at > since,
            InboundEmail.status.in_((InboundStatus.INGESTED, InboundStatus.HELD)),
        )
    )
    return int(count or 0)


async def _system_note(
    session: AsyncSession, conversation: Conversation, text: str, data: dict[str, Any]
) -> Message:
    return await append_message(
        session,
        conversation,
        None,
        NewMessage(body=text, kind=MessageKind.NOTE, data=data),
        author=AuthorKind.SYSTEM,
        channel=ChannelKind.EMAIL,
    )


async def _mark_bounce(session: AsyncSession, row: InboundEmail, parsed: ParsedEmail) -> None:
    """A DSN about mail we sent: the conversation shows that our email did not arrive."""
    report = parsed.report
    row.status, row.reason = InboundStatus.IGNORED, "bounce"
    original = report.original_message_id if report else None
    if original is None:
        return
    match = await find_thread(
        session, dataclasses.replace(parsed, in_reply_to=(original,), references=(), subject=""), None
    )
    if match is None or report is None:
        return
    row.conversation_id = match.conversation.id
    if report.action == "failed":
        recipients = ", ".join(report.recipients)
        status = report.status or ""
        diagnostic = (report.diagnostic or "")[:300]
        await _system_note(
            session,
            match.conversation,
            f"Our email to {recipients or 'the customer'} could not be delivered ({status}). "
            f"{diagnostic}".strip(),
            {
                "email_delivery": {
                    "status": "failed",
                    "message_id": original,
                    "code": status,
                    "to": recipients,
                    "reason": f"{status} {diagnostic}".strip()[:300],
                }
            },
        )


async def _hold(
    session: AsyncSession, row: InboundEmail, conversation: Conversation, parsed: ParsedEmail
) -> None:
    row.status, row.reason, row.conversation_id = (
        InboundStatus.HELD,
        "sender_not_on_conversation",
        conversation.id,
    )
    await _system_note(
        session,
        conversation,
        f"An email from {parsed.from_address or 'an unknown sender'} that refers to this conversation "
        "was held: the address is not the customer's. Review it before it is added.",
        {"held_email": {"inbound_id": str(row.id), "from": parsed.from_address, "subject": parsed.subject}},
    )


def bind_ingest(settings: Settings, blobs: BlobStore, resolver: TxtResolver) -> JobHandler:
    """The `mail.ingest` handler, bound to this process's settings, blob store and DNS resolver."""

    async def ingest(ctx: JobContext, payload: dict[str, Any]) -> None:
        try:
            inbound_id = uuid.UUID(str(payload["inbound_id"]))
        except (KeyError, ValueError) as exc:
            raise PermanentJobError(f"malformed mail.ingest payload: {exc}") from exc
        session = ctx.session
        row = await session.get(InboundEmail, inbound_id, with_for_update=True)
        if row is None or row.status != InboundStatus.RECEIVED:
            return
        raw = decompress_raw(await blobs.get(row.raw_key))
        if len(raw) > _THREAD_PARSE_BYTES:
            parsed = await asyncio.to_thread(parse_email, raw)
        else:
            parsed = parse_email(raw)
        parsed, subject_kinds = redact_subject(parsed)
        verdict = await verify_sender(
            raw,
            peer_ip=row.peer_ip,
            helo=row.helo,
            mail_from=row.envelope_from,
            our_domains=await our_domains(session, settings, row.mailbox),
            resolver=resolver,
        )
        await _ingest(
            session,
            row,
            parsed,
            verdict,
            raw=raw,
            settings=settings,
            blobs=blobs,
            subject_kinds=subject_kinds,
        )
        # Set last, with the outcome: the row is written by one UPDATE at commit.
        row.from_address = parsed.from_address
        row.message_id_header = parsed.message_id[:250] if parsed.message_id else None
        row.subject = parsed.subject[:300]
        details = {"problems": list(parsed.problems), "verdict": verdict.as_json(), "auto": parsed.auto}
        row.details = details | row.details
        log.info(
            "mail_ingested",
            inbound_id=str(row.id),
            status=str(row.status),
            reason=row.reason,
            conversation_id=str(row.conversation_id) if row.conversation_id else None,
        )

    return ingest


async def _ingest(
    session: AsyncSession,
    row: InboundEmail,
    parsed: ParsedEmail,
    verdict: SenderVerdict,
    *,
    raw: bytes,
    settings: Settings,
    blobs: BlobStore,
    subject_kinds: tuple[str, ...] = (),
) -> None:
    if parsed.auto == AutoKind.BOUNCE or parsed.report is not None:
        await _mark_bounce(session, row, parsed)
        return
    if parsed.auto == AutoKind.AUTO_REPLY:
        row.status, row.reason = InboundStatus.IGNORED, "auto_reply"
        return
    sender = valid_sender(parsed.from_address)
    if sender is not None and await _sender_count(session, sender) >= MAX_MESSAGES_PER_SENDER_PER_HOUR:
        row.status, row.reason = InboundStatus.IGNORED, "sender_rate_limited"
        return
    recipient = await resolve_recipient(session, settings, row.mailbox)
    tag = None
    for address in parsed.to + parsed.cc:
        found = await resolve_recipient(session, settings, address)
        if found is not None and found.tag:
            tag = found.tag
            break
    files, refused = await store_files(blobs, settings, parsed)
    body = body_of(parsed)
    facts = email_facts(row, parsed, verdict.as_json()) | ({"refused_files": refused} if refused else {})

    match = await find_thread(session, parsed, tag) if sender is not None else None
    conversation = match.conversation if match is not None else None
    if conversation is not None and conversation.status == Status.CLOSED:
        conversation = None  # a closed conversation is final: this mail starts a follow-up
    if conversation is not None and not await is_participant(session, conversation, sender):
        await _hold(session, row, conversation, parsed)
        return
    acknowledged = False
    if conversation is not None:
        actor = CustomerActor(contact_id=conversation.contact_id)
        message, _created = await do_add_message(
            session,
            actor,
            conversation,
            NewMessage(body=body, client_id=f"email:{row.id}", data={"email": facts}),
            channel=ChannelKind.EMAIL,
        )
    else:
        review = sender is None or parsed.needs_review
        conversation, message = await open_conversation(
            session,
            parsed,
            phishing=verdict.phishing,
            contact_id=await sender_contact(session, parsed, sender),
            team_id=recipient.mailbox.team_id if recipient else None,
            inbox_id=recipient.mailbox.inbox_id if recipient else None,
            body=body,
            tags=[REVIEW_TAG] if review else [],
            facts=facts,
        )
        # The original still holds any secret redacted from the message: never attach it then.
        if review and REDACTED_KEY not in message.data:
            await attach_original(session, blobs, conversation, message, raw)
        if sender is not None and parsed.auto is None and not verdict.phishing:
            await queue_acknowledgement(
                session, conversation, email=sender, settings=settings, in_reply_to=parsed.message_id
            )
            acknowledged = True
    if files:
        await do_attach_files(session, conversation, message, files, sensitive=False)
    if not acknowledged:  # the acknowledgement recorded the email's Message-ID with its own
        await remember_message_ids(session, conversation.id, [parsed.message_id], ThreadDirection.IN)
    row.status, row.conversation_id, row.message_id = InboundStatus.INGESTED, conversation.id, message.id
    notify = sender if parsed.auto is None and not verdict.phishing else None
    await after_ingest(session, row, conversation, message, subject_kinds, sender=notify, settings=settings)


def bind_handlers_for(settings: Settings, blobs: BlobStore, resolver: TxtResolver) -> dict[str, JobHandler]:
    """The ingest job of this process (for kefu.mail.jobs.bind_handlers and tests)."""
    # Batched: claimed ingest jobs share one transaction (see kefu.jobs.registry.Batchable).
    return {
        MAIL_INGEST: Batchable(bind_ingest(settings, blobs, resolver)),
        MAIL_DISCARD_RAW: bind_discard_raw(blobs),
    }
