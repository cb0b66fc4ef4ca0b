"""Secrets customers paste never reach storage: every channel's text passes through here first.

Message bodies are redacted where every message row is built (timeline.new_message_values), and
subjects and text form fields where conversations are opened (create.py): the one ingest path of
email, chat, forms, the API and social channels. Each redaction is audited with the kinds found,
never the values; `redaction_notice.warn_customer` tells the customer why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.actions import add_audit
from kefu.auth.actors import Actor
from kefu.trust.scrubbing import active_redactor

if TYPE_CHECKING:
    from kefu.conversations.models import Conversation, Message

# Key of a message's `data` that lists the kinds removed from its body.
REDACTED_KEY: Final = "redacted"


@dataclass(frozen=True, slots=True)
class Redacted:
    """Text with its secrets replaced, and the distinct kinds found (SecretKind values, in order)."""

    text: str
    kinds: tuple[str, ...] = ()


def distinct(kinds: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`kinds` without repeats, first occurrence first."""
    return tuple(dict.fromkeys(kinds))


def redact_text(text: str) -> Redacted:
    """`text` with every secret the active redactor finds replaced by its placeholder."""
    if not text:
        return Redacted(text)
    result = active_redactor().redact(text)
    if not result.findings:
        return Redacted(text)
    return Redacted(result.text, distinct([str(f.kind) for f in result.findings]))


def redact_fields(fields: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Structured form fields with their text values redacted (numbers, dates and choices pass)."""
    kinds: list[str] = []
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            redacted = redact_text(value)
            kinds.extend(redacted.kinds)
            cleaned[name] = redacted.text
        else:
            cleaned[name] = value
    return cleaned, distinct(kinds)


def redact_body(
    body: str, data: dict[str, object] | None
) -> tuple[str, dict[str, object] | None, tuple[str, ...]]:
    """A message's body redacted, and its data noting the kinds removed (`data["redacted"]`)."""
    redacted = redact_text(body)
    if not redacted.kinds:
        return body, data, ()
    return redacted.text, {**(data or {}), REDACTED_KEY: list(redacted.kinds)}, redacted.kinds


def audit_redaction(
    session: AsyncSession,
    conversation: Conversation,
    actor: Actor | None,
    kinds: list[str] | tuple[str, ...],
    *,
    where: str,
    message: Message | None = None,
) -> None:
    """Record that secrets of `kinds` were removed from `where` ("body", "subject", "form_fields")."""
    add_audit(
        session,
        action="conversation.secret_redacted",
        actor=actor,
        target_type="conversation",
        target_id=str(conversation.id),
        details={
            "kinds": list(kinds),
            "where": where,
            "channel": str(conversation.channel),
            "message_id": str(message.id) if message is not None else None,
        },
    )
