"""The customer's data as a ZIP: what they gave us and what we told them (GDPR art. 15/20, PIPL art. 45).

Included: the contact and its identities, every conversation of the contact with its customer-visible
messages (replies, not internal notes or timeline events: notes are staff working data about the
customer, not data the customer provided or was sent), the files of those messages, ratings, and
recovery cases with their outcome (never the identity documents nor the reviewer's internal note).
Every query is keyed by the one contact id, so another customer's data cannot enter the archive.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.models import Contact, ContactIdentity
from kefu.conversations.models import Attachment, Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.core.errors import NotFound
from kefu.i18n import DEFAULT_LOCALE, N_, get_translator, normalise_locale
from kefu.ratings.models import SatisfactionRating
from kefu.recovery.models import RecoveryCase
from kefu.storage.base import BlobStore
from kefu.storage.filenames import sanitize_filename

# The archive's README, in the customer's language (their contact locale).
README_LINES = (
    N_("Your data held by customer support"),
    N_("contact.json: your profile and the identities (emails, phones, accounts) we know you by"),
    N_("conversations.json: your requests, the messages you sent and the replies you received"),
    N_("ratings.json: the satisfaction ratings you gave"),
    N_("recovery_cases.json: your account recovery requests and their outcome (without identity documents)"),
    N_("attachments/: the files of those messages, named after their id and file name"),
    N_("Times are in UTC (ISO 8601). Internal notes of our staff are not part of this export."),
)


def readme(locale: str) -> str:
    """The README of an export in `locale` (English when it is not supported)."""
    t = get_translator(normalise_locale(locale) or DEFAULT_LOCALE)
    title, *lines = [t.gettext(line) for line in README_LINES]
    return "\n".join([title, "=" * len(title), "", *lines, ""])


@dataclass(frozen=True)
class ExportArchive:
    data: bytes
    counts: dict[str, int]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _attachment_path(attachment: Attachment) -> str:
    return f"attachments/{attachment.id}-{sanitize_filename(attachment.filename)}"


async def _conversations(
    session: AsyncSession, contact_id: uuid.UUID
) -> tuple[list[dict[str, Any]], list[Attachment]]:
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.contact_id == contact_id)
            .order_by(Conversation.created_at)
        )
    )
    files: list[Attachment] = []
    out = []
    for conversation in conversations:
        messages = await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.kind == MessageKind.REPLY)
            .order_by(Message.seq)
        )
        rendered = []
        for message in messages:
            if message.author_kind == AuthorKind.CUSTOMER and message.author_contact_id not in (
                contact_id,
                None,
            ):
                continue  # another participant (an email Cc) is someone else's data
            # Sealed identity documents are for reviewers only (and are recovery data, see README).
            visible = [a for a in message.attachments if not a.sensitive]
            files.extend(visible)
            rendered.append(
                {
                    "seq": message.seq,
                    "author": message.author_kind,
                    "from_you": message.author_contact_id == contact_id,
                    "channel": message.channel,
                    "body": message.body,
                    "created_at": _iso(message.created_at),
                    "attachments": [
                        {
                            "id": str(a.id),
                            "filename": a.filename,
                            "content_type": a.content_type,
                            "size": a.size,
                            "path": _attachment_path(a),
                        }
                        for a in visible
                    ],
                }
            )
        out.append(
            {
                "reference": conversation.reference,
                "subject": conversation.subject,
                "status": conversation.status,
                "channel": conversation.channel,
                "category": conversation.category,
                "form_fields": conversation.form_fields,
                "locale": conversation.locale,
                "created_at": _iso(conversation.created_at),
                "solved_at": _iso(conversation.solved_at),
                "closed_at": _iso(conversation.closed_at),
                "messages": rendered,
            }
        )
    return out, files


async def collect_export(
    session: AsyncSession, contact_id: uuid.UUID
) -> tuple[dict[str, Any], list[Attachment]]:
    """The JSON documents of the contact's export and the attachments whose files go with it."""
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("contact not found")
    identities = await session.scalars(
        select(ContactIdentity).where(ContactIdentity.contact_id == contact_id).order_by(ContactIdentity.kind)
    )
    conversations, files = await _conversations(session, contact_id)
    references = {
        c.id: c.reference
        for c in await session.scalars(select(Conversation).where(Conversation.contact_id == contact_id))
    }
    ratings = await session.scalars(
        select(SatisfactionRating)
        .where(SatisfactionRating.contact_id == contact_id)
        .order_by(SatisfactionRating.created_at)
    )
    cases = await session.scalars(
        select(RecoveryCase).where(RecoveryCase.contact_id == contact_id).order_by(RecoveryCase.created_at)
    )
    documents: dict[str, Any] = {
        "contact.json": {
            "id": str(contact.id),
            "name": contact.name,
            "locale": contact.locale,
            "created_at": _iso(contact.created_at),
            # The code itself is a security secret shown in our messages; its existence is the data.
            "anti_phishing_code_set": contact.anti_phishing_code_sealed is not None,
            "identities": [
                {"kind": i.kind, "value": i.value, "verified_at": _iso(i.verified_at)} for i in identities
            ],
        },
        "conversations.json": conversations,
        "ratings.json": [
            {
                "reference": references.get(r.conversation_id),
                "score": r.score,
                "comment": r.comment,
                "created_at": _iso(r.created_at),
            }
            for r in ratings
        ],
        "recovery_cases.json": [
            {
                "reference": references.get(c.conversation_id),
                "reason": c.reason,
                "email": c.email,
                "exchange_uid": c.exchange_uid,
                "phone": c.phone,
                "description": c.description,
                "status": c.status,
                "submitted_at": _iso(c.created_at),
                "decided_at": _iso(c.decided_at),
                "decision": c.decision_template,
                "security_hold_until": _iso(c.security_hold_until),
                "documents_deleted_at": _iso(c.purged_at),
            }
            for c in cases
        ],
    }
    return documents, files


def _zip(documents: dict[str, Any], files: list[tuple[str, bytes]], locale: str, stamp: datetime) -> bytes:
    # Entries carry `stamp`, not the time of building: the same data gives the same bytes and so the
    # same blob key, so a retried job re-uses the blob a failed attempt stored instead of orphaning it.
    when = stamp.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:

        def write(name: str, data: str | bytes) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=when), data, compress_type=zipfile.ZIP_DEFLATED)

        write("README.txt", readme(locale))
        for name, document in documents.items():
            write(name, json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True))
        for path, data in files:
            write(path, data)
    return buffer.getvalue()


async def build_export(
    session: AsyncSession, blobs: BlobStore, contact_id: uuid.UUID, *, stamp: datetime
) -> ExportArchive:
    """The contact's ZIP archive, entries dated `stamp` (NotFound when the contact is gone).

    Files whose blob has meanwhile been purged are skipped."""
    documents, attachments = await collect_export(session, contact_id)
    files: list[tuple[str, bytes]] = []
    for attachment in attachments:
        try:
            files.append((_attachment_path(attachment), await blobs.get(attachment.blob_key)))
        except NotFound:
            continue  # purged by retention between the query and now
    locale = documents["contact.json"]["locale"]
    data = await asyncio.to_thread(_zip, documents, files, locale, stamp)
    counts = {
        "identities": len(documents["contact.json"]["identities"]),
        "conversations": len(documents["conversations.json"]),
        "messages": sum(len(c["messages"]) for c in documents["conversations.json"]),
        "attachments": len(files),
        "ratings": len(documents["ratings.json"]),
        "recovery_cases": len(documents["recovery_cases.json"]),
    }
    return ExportArchive(data, counts)
