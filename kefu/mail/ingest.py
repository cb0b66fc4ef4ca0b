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
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.channels.models import OfficialKind
from kefu.channels.service import list_channels
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.identities import normalise_email
from kefu.contacts.models import Contact, IdentityKind
from kefu.conversations.acknowledge import queue_acknowledgement
from kefu.conversations.actions import apply_conversation_update, do_add_message
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationCreate, ConversationUpdate
from kefu.conversations.states import AuthorKind, MessageKind, Priority, Status
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.core.errors import InvalidInput, KefuError
from kefu.db.cache import ConfigCache
from kefu.inboxes.models import ChannelKind, Team
from kefu.jobs.registry import JobContext, JobHandler, PermanentJobError
from kefu.mail.inbound.authn import SenderVerdict, verify_sender
from kefu.mail.inbound.dns import TxtResolver
from kefu.mail.inbound.parse import parse_email
from kefu.mail.inbound.raw import decompress_raw
from kefu.mail.inbound.results import AutoKind, ParsedEmail
from kefu.mail.mailboxes import resolve_recipient, split_address
from kefu.mail.models import InboundEmail, InboundStatus, ThreadDirection
from kefu.mail.receive import MAIL_INGEST
from kefu.mail.threading import find_thread, is_participant, remember_message_ids
from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.storage.uploads import StoredFile, store_upload

log = structlog.get_logger(__name__)

# New conversations or replies one sender may open per hour before further mail is only kept.
MAX_MESSAGES_PER_SENDER_PER_HOUR: Final = 30
PHISHING_TAG: Final = "phishing"
# Mail the parser could not fully read, or without a usable sender: an agent looks at the original.
REVIEW_TAG: Final = "needs-review"
SECURITY_TEAM_SLUG: Final = "security"
# Parsing a big message is CPU work: off the event loop above this size.
_THREAD_PARSE_BYTES: Final = 256 * 1024
_CJK: Final = re.compile(r"[\u3400-\u9fff]")
MAX_BODY_CHARS: Final = 20_000


def _valid_address(address: str | None) -> str | None:
    """The sender as a contact identity, or None when there is none we could ever write back to."""
    if not address:
        return None
    try:
        return normalise_email(address)
    except InvalidInput:
        return None


def guess_locale(parsed: ParsedEmail) -> str:
    """zh-CN when the subject or text is written in Chinese, else en (replies follow the customer)."""
    sample = parsed.subject + parsed.visible_text[:2000]
    return "zh-CN" if _CJK.search(sample) else "en"


def email_facts(row: InboundEmail, parsed: ParsedEmail, verdict: dict[str, Any]) -> dict[str, Any]:
    """What agents are shown about an email message (stored in the message's data)."""
    return {
        "inbound_id": str(row.id),
        "message_id": parsed.message_id,
        "from": parsed.from_address,
        "from_name": parsed.from_name,
        "to": list(parsed.to),
        "cc": list(parsed.cc),
        "subject": parsed.subject,
        "problems": list(parsed.problems),
        "needs_review": parsed.needs_review,
        "auto": parsed.auto.value if parsed.auto else None,
        "has_html": parsed.html is not None,
        "verdict": verdict,
    }


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


async def _store_files(
    blobs: BlobStore, settings: Settings, parsed: ParsedEmail
) -> tuple[list[StoredFile], list[str]]:
    """Attachments through the file pipeline; refused files are reported, never fatal."""
    stored: list[StoredFile] = []
    refused: list[str] = []
    for attachment in parsed.attachments:
        try:
            stored.append(
                await store_upload(
                    blobs,
                    attachment.data,
                    attachment.filename,
                    max_bytes=settings.upload_max_bytes,
                    max_pixels=settings.image_max_pixels,
                )
            )
        except KefuError as exc:
            refused.append(f"{attachment.filename[:100]}: {exc.message[:100]}")
    return stored, refused


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


async def _security_team(session: AsyncSession) -> uuid.UUID | None:
    team_id: uuid.UUID | None = await session.scalar(select(Team.id).where(Team.slug == SECURITY_TEAM_SLUG))
    return team_id


async def _sender_contact(session: AsyncSession, parsed: ParsedEmail, address: str | None) -> uuid.UUID:
    """The contact of the sender's address, or a new identity-less contact for a sender we cannot name
    (nobody can sign in as it; agents still see the mail)."""
    if address is not None:
        contact_id, _created = await do_resolve_contact(
            session, IdentityKind.EMAIL, address, name=parsed.from_name, locale=guess_locale(parsed)
        )
        return contact_id
    contact = Contact(name=(parsed.from_name or "Unknown sender")[:200], locale=guess_locale(parsed))
    session.add(contact)
    await session.flush()
    return contact.id


async def _open_conversation(
    session: AsyncSession,
    parsed: ParsedEmail,
    verdict: SenderVerdict,
    *,
    contact_id: uuid.UUID,
    team_id: uuid.UUID | None,
    inbox_id: uuid.UUID | None,
    body: str,
    tags: list[str],
) -> tuple[Conversation, Message]:
    actor = CustomerActor(contact_id=contact_id)
    if verdict.phishing:
        team_id = await _security_team(session) or team_id
    data = ConversationCreate(subject=parsed.subject[:300], body=body, locale=guess_locale(parsed))
    conversation, _new, first = await do_create_conversation(
        session, actor, data, channel=ChannelKind.EMAIL, inbox_id=inbox_id, route_to_team=team_id
    )
    assert first is not None
    if verdict.phishing:
        tags = [*tags, PHISHING_TAG]
    if tags or verdict.phishing:
        await apply_conversation_update(
            session,
            None,
            conversation,
            ConversationUpdate(tags=sorted(set(tags)), priority=Priority.HIGH if verdict.phishing else None),
        )
    return conversation, first


async def _attach_original(
    session: AsyncSession, blobs: BlobStore, conversation: Conversation, message: Message, raw: bytes
) -> None:
    """The raw message as an `original.eml` attachment, for mail the parser could not fully read."""
    key = await blobs.put(raw)
    stored = StoredFile(
        key=key,
        size=len(raw),
        content_type="message/rfc822",
        filename="original.eml",
        is_image=False,
        width=None,
        height=None,
    )
    await do_attach_files(session, conversation, message, [stored], sensitive=False)


async def open_for_sender(
    session: AsyncSession,
    parsed: ParsedEmail,
    *,
    phishing: bool,
    facts: dict[str, Any],
    blobs: BlobStore,
    settings: Settings,
) -> tuple[Conversation, Message]:
    """A new conversation for the sender of `parsed` (a held reply an agent moved out), with its files."""
    sender = _valid_address(parsed.from_address)
    files, refused = await _store_files(blobs, settings, parsed)
    verdict_phishing = phishing
    contact_id = await _sender_contact(session, parsed, sender)
    actor = CustomerActor(contact_id=contact_id)
    team_id = await _security_team(session) if verdict_phishing else None
    data = ConversationCreate(
        subject=parsed.subject[:300], body=_body_of(parsed), locale=guess_locale(parsed)
    )
    conversation, _new, message = await do_create_conversation(
        session, actor, data, channel=ChannelKind.EMAIL, route_to_team=team_id
    )
    assert message is not None
    message.data = {"email": facts | ({"refused_files": refused} if refused else {})}
    if files:
        await do_attach_files(session, conversation, message, files, sensitive=False)
    await remember_message_ids(session, conversation.id, [parsed.message_id], ThreadDirection.IN)
    return conversation, message


def _body_of(parsed: ParsedEmail) -> str:
    """What a message shows: the new text without quoted history, else the subject."""
    return (parsed.visible_text or parsed.text).strip()[:MAX_BODY_CHARS] or (parsed.subject or "(no text)")


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
        row.from_address = parsed.from_address
        row.message_id_header = parsed.message_id[:250] if parsed.message_id else None
        row.subject = parsed.subject[:300]
        verdict = await verify_sender(
            raw,
            peer_ip=row.peer_ip,
            helo=row.helo,
            mail_from=row.envelope_from,
            our_domains=await our_domains(session, settings, row.mailbox),
            resolver=resolver,
        )
        row.details = {"problems": list(parsed.problems), "verdict": verdict.as_json(), "auto": parsed.auto}
        await _ingest(session, row, parsed, verdict, raw=raw, settings=settings, blobs=blobs)
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
) -> None:
    if parsed.auto == AutoKind.BOUNCE or parsed.report is not None:
        await _mark_bounce(session, row, parsed)
        return
    if parsed.auto == AutoKind.AUTO_REPLY:
        row.status, row.reason = InboundStatus.IGNORED, "auto_reply"
        return
    sender = _valid_address(parsed.from_address)
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
    files, refused = await _store_files(blobs, settings, parsed)
    body = _body_of(parsed)
    facts = email_facts(row, parsed, verdict.as_json()) | ({"refused_files": refused} if refused else {})

    match = await find_thread(session, parsed, tag) if sender is not None else None
    conversation = match.conversation if match is not None else None
    if conversation is not None and conversation.status == Status.CLOSED:
        conversation = None  # a closed conversation is final: this mail starts a follow-up
    if conversation is not None and not await is_participant(session, conversation, sender):
        await _hold(session, row, conversation, parsed)
        return
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
        conversation, message = await _open_conversation(
            session,
            parsed,
            verdict,
            contact_id=await _sender_contact(session, parsed, sender),
            team_id=recipient.mailbox.team_id if recipient else None,
            inbox_id=recipient.mailbox.inbox_id if recipient else None,
            body=body,
            tags=[REVIEW_TAG] if review else [],
        )
        message.data = {"email": facts}
        if review:
            await _attach_original(session, blobs, conversation, message, raw)
        if sender is not None and parsed.auto is None and not verdict.phishing:
            await queue_acknowledgement(
                session, conversation, email=sender, settings=settings, in_reply_to=parsed.message_id
            )
    if files:
        await do_attach_files(session, conversation, message, files, sensitive=False)
    await remember_message_ids(session, conversation.id, [parsed.message_id], ThreadDirection.IN)
    row.status, row.conversation_id, row.message_id = InboundStatus.INGESTED, conversation.id, message.id


def bind_handlers_for(settings: Settings, blobs: BlobStore, resolver: TxtResolver) -> dict[str, JobHandler]:
    """The ingest job of this process (for kefu.mail.jobs.bind_handlers and tests)."""
    return {MAIL_INGEST: bind_ingest(settings, blobs, resolver)}


__all__: Sequence[str] = ("bind_handlers_for", "bind_ingest", "email_facts", "guess_locale", "our_domains")
