"""Build the mail transport the settings name (no connection is opened here)."""

from __future__ import annotations

from pathlib import Path

from kefu.mail.file import FileTransport
from kefu.mail.smtp import SmtpTransport
from kefu.mail.transport import MailTransport
from kefu.settings import Settings


def outbox_directory(settings: Settings) -> Path:
    """Where the file transport writes: inside data_dir, never under a served path."""
    return settings.data_dir / "mail" / "outbox"


def create_mail_transport(settings: Settings) -> MailTransport:
    """`file` (the default: .eml files under data_dir/mail/outbox) or `smtp` (aiosmtplib to the relay)."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )
    return FileTransport(outbox_directory(settings))
