"""Outbox job handlers and periodic tasks of this domain.

`mail.send` needs the process's transport and settings, so it is bound at start-up by
`bind_handlers(runtime)` (see kefu.registry.bind_job_handlers) rather than listed in HANDLERS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobHandler
from kefu.mail.dkim_sign import load_dkim_signer
from kefu.mail.outbox import MAIL_SEND
from kefu.mail.sender import MailSender
from kefu.mail.transport import MailTransport
from kefu.settings import Settings

if TYPE_CHECKING:
    from kefu.runtime import Runtime

HANDLERS: dict[str, JobHandler] = {}
PERIODIC: tuple[PeriodicTask, ...] = ()


def mail_handlers(settings: Settings, transport: MailTransport) -> dict[str, JobHandler]:
    """The mail job handlers for one transport; ValueError when the DKIM key cannot be used."""
    sender = MailSender(settings, transport, load_dkim_signer(settings))
    return {MAIL_SEND: sender.handle}


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """The mail job handlers of this process: its settings and its `runtime.mail` transport."""
    return mail_handlers(runtime.settings, runtime.mail)
