"""New conversations from email: the sender's contact, the conversation, its files and flags.

Shared by ingest (a new thread) and by agents releasing a held reply as its own conversation.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.auth.actors import CustomerActor
from kefu.contacts.actions import do_resolve_contact
from kefu.contacts.identities import normalise_email
from kefu.contacts.models import Contact, IdentityKind
from kefu.conversations.actions import apply_conversation_update
from kefu.conversations.attachments import do_attach_files
from kefu.conversations.create import do_create_conversation
from kefu.conversations.models import Conversation, Message
from kefu.conversations.schemas import ConversationCreate, ConversationUpdate
from kefu.conversations.states import Priority
from kefu.core.errors import InvalidInput, KefuError
from kefu.inboxes.models import ChannelKind, Team
from kefu.mail.inbound.results import ParsedEmail
from kefu.mail.models import InboundEmail, ThreadDirection
from kefu.mail.threading import remember_message_ids
from kefu.settings import Settings
from kefu.storage.base import BlobStore
from kefu.storage.uploads import StoredFile, store_upload

PHISHING_TAG: Final = "phishing"
# Mail the parser could not fully read, or without a usable sender: an agent looks at the original.
REVIEW_TAG: Final = "needs-review"
SECURITY_TEAM_SLUG: Final = "security"
_CJK: Final = re.compile(r"[\u3400-\u9fff]")
MAX_BODY_CHARS: Final = 20_000


def valid_sender(address: str | None) -> str | None:
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


async def store_files(
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


async def _security_team(session: AsyncSession) -> uuid.UUID | None:
    team_id: uuid.UUID | None = await session.scalar(select(Team.id).where(Team.slug == SECURITY_TEAM_SLUG))
    return team_id


async def sender_contact(session: AsyncSession, parsed: ParsedEmail, address: str | None) -> uuid.UUID:
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


async def open_conversation(
    session: AsyncSession,
    parsed: ParsedEmail,
    *,
    phishing: bool,
    contact_id: uuid.UUID,
    team_id: uuid.UUID | None,
    inbox_id: uuid.UUID | None,
    body: str,
    tags: list[str],
    facts: dict[str, Any],
) -> tuple[Conversation, Message]:
    """The conversation a new email opens; `facts` (email_facts) are stored with its first message."""
    actor = CustomerActor(contact_id=contact_id)
    if phishing:
        team_id = await _security_team(session) or team_id
    data = ConversationCreate(subject=parsed.subject[:300], body=body, locale=guess_locale(parsed))
    conversation, _new, first = await do_create_conversation(
        session,
        actor,
        data,
        channel=ChannelKind.EMAIL,
        inbox_id=inbox_id,
        route_to_team=team_id,
        message_data={"email": facts},
    )
    assert first is not None
    if phishing:
        tags = [*tags, PHISHING_TAG]
    if tags or phishing:
        await apply_conversation_update(
            session,
            None,
            conversation,
            ConversationUpdate(tags=sorted(set(tags)), priority=Priority.HIGH if phishing else None),
        )
    return conversation, first


async def attach_original(
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
    files, refused = await store_files(blobs, settings, parsed)
    contact_id = await sender_contact(session, parsed, valid_sender(parsed.from_address))
    conversation, message = await open_conversation(
        session,
        parsed,
        phishing=phishing,
        contact_id=contact_id,
        team_id=None,
        inbox_id=None,
        body=body_of(parsed),
        tags=[],
        facts=facts | ({"refused_files": refused} if refused else {}),
    )
    if files:
        await do_attach_files(session, conversation, message, files, sensitive=False)
    await remember_message_ids(session, conversation.id, [parsed.message_id], ThreadDirection.IN)
    return conversation, message


def body_of(parsed: ParsedEmail) -> str:
    """What a message shows: the new text without quoted history, else the subject."""
    return (parsed.visible_text or parsed.text).strip()[:MAX_BODY_CHARS] or (parsed.subject or "(no text)")
