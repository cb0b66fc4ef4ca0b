"""Writing audit events. The caller's transaction commits them together with the audited change."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.audit.models import AuditActorType, AuditEvent
from kefu.auth.actors import Actor, AgentActor, CustomerActor
from kefu.core.clock import utcnow

# Detail keys that suggest a secret. Audit rows are read by many staff and kept for years, so a
# programming mistake here must fail loudly in tests rather than leak a password into the trail.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "secret", "token", "totp", "otp", "seed", "mnemonic", "cookie", "key"}
)
# Keys naming or counting a secret (e.g. "token_id", "key_count") are harmless.
_HARMLESS_SUFFIXES = ("_id", "_ids", "_name", "_count", "_type")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
MAX_IP_LENGTH = 64


def _check_details(details: dict[str, Any]) -> None:
    for key in details:
        lowered = _CAMEL_BOUNDARY.sub("_", key).lower()
        if lowered.endswith(_HARMLESS_SUFFIXES):
            continue
        if _SECRET_WORDS.intersection(_WORD_SPLIT.split(lowered)):
            raise ValueError(f"audit details must not carry secrets (key {key!r})")


def _clean_ip(ip: str | None) -> str | None:
    # Addresses may come from headers; PostgreSQL refuses NUL and the trail should stay one line.
    if not ip:
        return None
    cleaned = "".join(c for c in ip if c.isprintable())[:MAX_IP_LENGTH]
    return cleaned or None


def _actor_fields(actor: Actor | None) -> tuple[AuditActorType, Any]:
    if isinstance(actor, AgentActor):
        return AuditActorType.AGENT, actor.agent_id
    if isinstance(actor, CustomerActor):
        return AuditActorType.CUSTOMER, actor.contact_id
    return AuditActorType.SYSTEM, None


def add_audit(
    session: AsyncSession,
    *,
    action: str,
    actor: Actor | None,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    actor_type: AuditActorType | None = None,
) -> AuditEvent:
    """Add an audit event to the session, written at its next flush (no commit, no I/O)."""
    payload = dict(details or {})
    _check_details(payload)
    kind, actor_id = _actor_fields(actor)
    event = AuditEvent(
        occurred_at=utcnow(),
        actor_type=actor_type or kind,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=_clean_ip(ip),
        details=payload,
    )
    session.add(event)
    return event


async def record_audit(
    session: AsyncSession,
    *,
    action: str,
    actor: Actor | None,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
    actor_type: AuditActorType | None = None,
) -> AuditEvent:
    """Add an audit event to the session and flush it (no commit); `actor=None` is the system unless
    `actor_type` says."""
    event = add_audit(
        session,
        action=action,
        actor=actor,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        details=details,
        actor_type=actor_type,
    )
    await session.flush()
    return event
