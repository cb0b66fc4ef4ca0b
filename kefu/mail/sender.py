"""The `mail.send` job: render, compose, sign and hand one queued email to the transport.

Outcomes map onto the outbox: a transient failure raises (the worker retries with backoff), a
permanent one raises PermanentJobError (the job dies with the reason in `last_error`), success lets
the worker mark the job done in the same transaction that scrubs the email's secrets from its row.
"""

from __future__ import annotations

from typing import Any, Final

import structlog
from pydantic import ValidationError
from sqlalchemy import update

from kefu.core.clock import utcnow
from kefu.jobs.models import OutboxJob
from kefu.jobs.registry import JobContext, PermanentJobError
from kefu.mail.compose import compose
from kefu.mail.dkim_sign import DkimSigner
from kefu.mail.outbox import MailJob, message_id_for
from kefu.mail.render import render
from kefu.mail.specs import get_spec
from kefu.mail.transport import MailTransport, PermanentMailError, TransientMailError
from kefu.settings import Settings

log = structlog.get_logger(__name__)

REDACTED: Final = "[redacted]"


class MailSender:
    """Sends `mail.send` jobs through one transport, signing when a DKIM signer is given."""

    def __init__(
        self, settings: Settings, transport: MailTransport, signer: DkimSigner | None = None
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.signer = signer

    async def handle(self, ctx: JobContext, payload: dict[str, Any]) -> None:
        """The `mail.send` job handler (see the module docstring for how outcomes map)."""
        job = _parse(payload)
        now = utcnow()
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
            log.warning("mail_refused", template=job.template, message_id=message_id, reason=str(exc))
            raise PermanentJobError(f"refused: {exc}") from exc
        except TransientMailError:
            raise  # the worker records it and retries with backoff
        await _scrub(ctx, job)
        log.info(
            "mail_sent",
            template=job.template,
            message_id=message_id,
            recipient_domain=job.to.rpartition("@")[2],
            attempt=ctx.attempt,
        )


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
