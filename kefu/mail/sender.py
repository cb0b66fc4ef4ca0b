"""The `mail.send` job: render, compose, sign and hand one queued email to the transport.

Outcomes map onto the outbox: a transient failure raises (the worker retries with backoff), a
permanent one raises PermanentJobError (the job dies with the reason in `last_error`), success lets
the worker mark the job done in the same transaction that scrubs the email's secrets from its row.

Agents see what happened to conversation email (jobs with a `reference`): a permanent failure adds a
system note to the conversation and, for an agent's reply, marks the reply "failed"; a sent reply is
marked "sent" (`Message.data["email_delivery"]`). A transient failure shows nothing yet: it may still go.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import structlog
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kefu.conversations.models import Conversation, Message
from kefu.conversations.states import AuthorKind, MessageKind
from kefu.conversations.timeline import NewMessage, append_message
from kefu.core.clock import utcnow
from kefu.db.uow import transaction
from kefu.inboxes.models import ChannelKind
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext, PermanentJobError
from kefu.mail.compose import compose
from kefu.mail.dkim_sign import DkimSigner
from kefu.mail.headers import one_line
from kefu.mail.outbox import MailJob, message_id_for
from kefu.mail.render import render
from kefu.mail.specs import get_spec
from kefu.mail.transport import MailTransport, PermanentMailError, TransientMailError
from kefu.observability.metrics import EMAIL_OUTBOUND
from kefu.settings import Settings
from kefu.trust.anti_phishing import code_for_address
from kefu.trust.keys import keyring_from_settings

log = structlog.get_logger(__name__)

REDACTED: Final = "[redacted]"
# kefu.mail.replies queues an agent's reply under the idempotency key "reply:<message id>".
REPLY_TEMPLATE: Final = "agent_reply"
REPLY_KEY_PREFIX: Final = "reply:"
MAX_REASON: Final = 300
# Notes already in the conversation that are searched for this failure (a crashed worker reruns it).
_RECENT_NOTES: Final = 200
_MAX_MERGE_HOPS: Final = 5


class MailSender:
    """Sends `mail.send` jobs through one transport, signing when a DKIM signer is given."""

    def __init__(
        self, settings: Settings, transport: MailTransport, signer: DkimSigner | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.signer = signer

    async def handle(self, ctx: JobContext, payload: dict[str, Any]) -> None:
        """The `mail.send` job handler (see the module docstring for how outcomes map).

        On a permanent failure of conversation email the note is committed in its own transaction
        before PermanentJobError is raised, since the worker rolls the job's session back.
        """
        job = _parse(payload)
        if job.anti_phishing_code is None:
            # Read at send time: the customer's current code, never copied into the outbox row.
            code = await code_for_address(ctx.session, job.to, keyring_from_settings(self.settings))
            if code is not None:
                job = job.model_copy(update={"anti_phishing_code": code})
        now = utcnow()
        try:
            message_id = await self._deliver(job, now)
        except PermanentJobError as exc:
            if job.reference is not None:
                await record_delivery_failure(
                    ctx.session, job, _message_id_or_none(job, self.settings), str(exc)
                )
            raise
        await _scrub(ctx, job)
        await mark_reply_sent(ctx.session, job, message_id, now)
        log.info(
            "mail_sent",
            template=job.template,
            message_id=message_id,
            recipient_domain=job.to.rpartition("@")[2],
            attempt=ctx.attempt,
        )

    async def _deliver(self, job: MailJob, now: datetime) -> str:
        """Compose, sign and send `job`; its Message-ID. PermanentJobError when it can never go."""
        if job.expires_at is not None and now >= job.expires_at:
            raise PermanentJobError(
                f"the {job.template} email expired at {job.expires_at.isoformat()} unsent"
            )
        try:
            message_id = message_id_for(job.idempotency_key, self.settings)
            spec = get_spec(job.template)
            rendered = render(spec, job.locale, spec.check_context(job.context), job.anti_phishing_code)
            message = compose(
                self.settings,
                rendered,
                to=job.to,
                message_id=message_id,
                sent_at=now,
                reference=job.reference,
                in_reply_to=job.in_reply_to,
                references=job.references,
                automatic=spec.automatic,
            )
            if self.signer is not None:
                message = self.signer.sign(message)
        except ValueError as exc:
            # Queued by an older release whose template or context no longer fits: retrying cannot help.
            raise PermanentJobError(f"cannot compose the {job.template} email: {exc}") from exc
        try:
            await self.transport.send(message)
        except PermanentMailError as exc:
            EMAIL_OUTBOUND.labels(template=job.template, result="refused").inc()
            log.warning("mail_refused", template=job.template, message_id=message_id, reason=str(exc))
            raise PermanentJobError(f"refused: {exc}") from exc
        except TransientMailError:
            EMAIL_OUTBOUND.labels(template=job.template, result="deferred").inc()
            raise  # the worker records it and retries with backoff
        EMAIL_OUTBOUND.labels(template=job.template, result="sent").inc()
        return message_id


def _parse(payload: dict[str, Any]) -> MailJob:
    try:
        return MailJob.model_validate(payload)
    except ValidationError as exc:
        raise PermanentJobError(f"malformed mail.send payload: {exc.error_count()} errors") from None


async def _scrub(ctx: JobContext, job: MailJob) -> None:
    """Blank the sent email's secrets (codes, links, anti-phishing code) in its outbox row."""
    secrets = get_spec(job.template).secret_fields
    if not secrets and job.anti_phishing_code is None:
        return
    context = {key: REDACTED if key in secrets else value for key, value in job.context.items()}
    scrubbed = job.model_copy(update={"context": context, "anti_phishing_code": None})
    # Same transaction as "done": if the commit fails the job reruns with its secrets intact.
    await ctx.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == ctx.job_id)
        .values(payload=scrubbed.model_dump(mode="json"))
        .execution_options(synchronize_session=False)
    )


def _message_id_or_none(job: MailJob, settings: Settings) -> str | None:
    try:
        return message_id_for(job.idempotency_key, settings)
    except ValueError:
        return None


def _replied_message_id(job: MailJob) -> uuid.UUID | None:
    """The agent's reply an `agent_reply` email carries, from its idempotency key."""
    if job.template != REPLY_TEMPLATE or not job.idempotency_key.startswith(REPLY_KEY_PREFIX):
        return None
    try:
        return uuid.UUID(job.idempotency_key.removeprefix(REPLY_KEY_PREFIX))
    except ValueError:
        return None


async def _replied_message(session: AsyncSession, job: MailJob) -> Message | None:
    """The reply the email carries, only if it is in the conversation the email names."""
    replied = _replied_message_id(job)
    if replied is None or job.reference is None:
        return None
    message: Message | None = await session.scalar(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.id == replied, Conversation.reference == job.reference)
    )
    return message


async def mark_reply_sent(session: AsyncSession, job: MailJob, message_id: str, sent_at: datetime) -> None:
    """Mark the agent's reply an `agent_reply` email carried as emailed (in the job's transaction)."""
    message = await _replied_message(session, job)
    if message is None:
        return
    # A new dict: the JSON column only notices assignment.
    message.data = {
        **message.data,
        "email_delivery": {"status": "sent", "message_id": message_id, "sent_at": sent_at.isoformat()},
    }


async def _working_conversation(session: AsyncSession, reference: str) -> Conversation | None:
    """The conversation `reference` names, or the one it was merged into (where agents now work)."""
    conversation = await session.scalar(select(Conversation).where(Conversation.reference == reference))
    for _hop in range(_MAX_MERGE_HOPS):
        if conversation is None or conversation.merged_into_id is None:
            break
        target = await session.get(Conversation, conversation.merged_into_id)
        if target is None:
            break
        conversation = target
    return conversation


async def _already_noted(session: AsyncSession, conversation_id: uuid.UUID, facts: dict[str, Any]) -> bool:
    """Whether this very failure is noted already (the job was rerun after a crash or retried)."""
    rows = await session.scalars(
        select(Message.data)
        .where(
            Message.conversation_id == conversation_id,
            Message.kind == MessageKind.NOTE,
            Message.author_kind == AuthorKind.SYSTEM,
        )
        .order_by(Message.seq.desc())
        .limit(_RECENT_NOTES)
    )
    return any(isinstance(data, dict) and data.get("email_delivery") == facts for data in rows)


async def record_delivery_failure(
    session: AsyncSession, job: MailJob, message_id: str | None, reason: str
) -> bool:
    """Note on its conversation that the email `job` could not be delivered, and mark the agent's
    reply it carried as failed; committed at once in a transaction of its own. False when there is
    no such conversation or the failure is noted already.

    Precondition: `session` (the job's, about to be rolled back) holds no uncommitted writes.
    Errors propagate: the worker then retries the job like a transient failure, so none is lost.
    """
    if job.reference is None:
        return False
    bind = session.bind
    if bind is None:
        raise RuntimeError("the session is not bound to an engine")
    reason = one_line(reason, MAX_REASON)
    facts: dict[str, Any] = {
        "status": "failed",
        "template": job.template,
        "to": job.to,
        "reason": reason,
        "message_id": message_id,
    }
    # Its own transaction (not the job's, which the worker rolls back): after commit it publishes
    # the note like any other message, so consoles showing the conversation refresh.
    maker = async_sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
    async with transaction(maker) as own:
        conversation = await _working_conversation(own, job.reference)
        if conversation is None or await _already_noted(own, conversation.id, facts):
            return False
        await append_message(
            own,
            conversation,
            None,
            NewMessage(
                body=f"Our email ({job.template}) to {job.to} could not be delivered: {reason}",
                kind=MessageKind.NOTE,
                data={"email_delivery": facts},
            ),
            author=AuthorKind.SYSTEM,
            channel=ChannelKind.EMAIL,
        )
        replied = await _replied_message(own, job)
        if replied is not None:
            replied.data = {
                **replied.data,
                "email_delivery": {
                    "status": "failed",
                    "to": job.to,
                    "reason": reason,
                    "message_id": message_id,
                    "failed_at": utcnow().isoformat(),
                },
            }
    log.warning(
        "mail_delivery_failure_noted",
        template=job.template,
        reference=job.reference,
        message_id=message_id,
        reply_marked=replied is not None,
    )
    return True
