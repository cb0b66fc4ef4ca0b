"""Outbox job handlers and periodic tasks of this domain.

`mail.send` needs the process's transport and settings, and `mail.ingest` its blob store and DNS
resolver, so they are bound at start-up by
`bind_handlers(runtime)` (see kefu.registry.bind_job_handlers) rather than listed in HANDLERS.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kefu.jobs.periodic import PeriodicTask
from kefu.jobs.registry import JobHandler
from kefu.mail.dkim_sign import load_dkim_signer
from kefu.mail.inbound.dns import DnsPythonResolver, StaticResolver, TxtResolver
from kefu.mail.ingest import bind_handlers_for
from kefu.mail.outbox import MAIL_SEND
from kefu.mail.replies import MAIL_REPLY, bind_reply
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


def build_resolver(settings: Settings) -> TxtResolver:
    """The DNS resolver sender authentication uses: a static table (air-gapped sites) or real DNS."""
    if settings.dns_static_file is not None:
        return StaticResolver.from_dict(json.loads(settings.dns_static_file.read_text(encoding="utf-8")))
    servers = [s.strip() for s in settings.dns_nameservers.split(",") if s.strip()]
    return DnsPythonResolver(nameservers=servers or None, timeout=settings.dns_timeout_seconds)


def bind_handlers(runtime: Runtime) -> dict[str, JobHandler]:
    """The mail job handlers of this process: its settings, `runtime.mail` transport, blobs and DNS."""
    handlers = mail_handlers(runtime.settings, runtime.mail)
    handlers.update(bind_handlers_for(runtime.settings, runtime.blobs, build_resolver(runtime.settings)))
    handlers[MAIL_REPLY] = bind_reply(runtime.settings)
    return handlers
