"""Send through an SMTP relay with aiosmtplib: one connection per message, failures sorted for retry."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

import aiosmtplib
import structlog
from pydantic import SecretStr

from kefu.mail.transport import PermanentMailError, TransientMailError, envelope, message_bytes

log = structlog.get_logger(__name__)

Security = Literal["none", "starttls", "tls"]
# `timeout` bounds each SMTP command; connect + EHLO + MAIL + RCPT + DATA together get four times that.
SEND_TIMEOUT_FACTOR = 4

# The refusals that mean "this message, as addressed, will never be accepted". Everything else
# (greeting, EHLO, AUTH, STARTTLS, 4xx, lost connections) may heal: operators fix credentials and relays.
_ENVELOPE_OR_CONTENT = (
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPDataError,
)


def _is_permanent(code: int) -> bool:
    return 500 <= code < 600


@dataclass(frozen=True)
class SmtpTransport:
    """A relay at `host:port`. `security` "none" never upgrades (no silent opportunistic TLS),
    "starttls" requires the upgrade, "tls" is implicit TLS (usually port 465); certificates are verified.
    """

    host: str
    port: int
    security: Security = "none"
    username: str = ""
    password: SecretStr = field(default_factory=lambda: SecretStr(""))
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` to the relay; TransientMailError or PermanentMailError on failure."""
        sender, recipients = envelope(message)
        data = message_bytes(message)
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            tls_context=self.tls_context,
            username=self.username or None,
            password=self.password.get_secret_value() or None,
        )
        errors: dict[str, aiosmtplib.SMTPResponse] | None = None
        try:
            # A whole send stays well inside the outbox lease (300 s), so no second worker takes it over.
            async with asyncio.timeout(self.timeout * SEND_TIMEOUT_FACTOR):
                await client.connect()
                errors, _reply = await client.sendmail(sender, recipients, data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if codes and all(_is_permanent(code) for code in codes):
                raise PermanentMailError(f"recipient refused: {text}") from None
            raise TransientMailError(f"recipient deferred: {text}") from None
        except _ENVELOPE_OR_CONTENT as exc:
            error = PermanentMailError if _is_permanent(exc.code) else TransientMailError
            raise error(f"{type(exc).__name__}: {exc.code} {exc.message}") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise TransientMailError(f"{type(exc).__name__}: {exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientMailError(f"{type(exc).__name__}: {exc}") from None
        finally:
            if errors is None:
                client.close()  # after a failure: no QUIT that could hang for another timeout
        await _quit(client)
        if errors:
            # Some of several recipients refused; the message went to the others and must not be resent.
            log.warning("mail_some_recipients_refused", refused=len(errors))


async def _quit(client: aiosmtplib.SMTP) -> None:
    # Once DATA is accepted the message is delivered; a failing QUIT must not turn that into a retry.
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()
