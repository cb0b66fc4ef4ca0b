"""The mail transport port: hand one finished message to a relay (or a directory) and say how it went."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class MailError(Exception):
    """A message could not be handed over."""


class TransientMailError(MailError):
    """Worth retrying later: relay unreachable, timeout, 4xx answer, authentication or TLS trouble."""


class PermanentMailError(MailError):
    """Retrying cannot help: the relay refused the sender, the recipient or the content with a 5xx."""


class MailTransport(Protocol):
    """Sends composed messages; raises TransientMailError or PermanentMailError, nothing else."""

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` over once; its envelope comes from its From, To and Cc headers."""
        ...


def message_bytes(message: EmailMessage) -> bytes:
    """The wire form of `message` (CRLF line ends). DKIM signs exactly these bytes, so every
    transport must send them unchanged.
    """
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _addresses(message: EmailMessage, name: str) -> list[str]:
    found = []
    for header in message.get_all(name, []):
        # Parsed address headers (email.policy) only: a plain string could smuggle anything.
        addresses = getattr(header, "addresses", None)
        if addresses is None:
            raise PermanentMailError(f"the {name} header is not a parsed address header")
        found += [address.addr_spec for address in addresses]
    return found


def envelope(message: EmailMessage) -> tuple[str, list[str]]:
    """(MAIL FROM, RCPT TO list) of a composed message; PermanentMailError if it has none or a Bcc."""
    if message["Bcc"] is not None:
        # A Bcc header would travel with the message; composed mail never has one.
        raise PermanentMailError("refusing to send a message with a Bcc header")
    senders = _addresses(message, "From")
    recipients = _addresses(message, "To") + _addresses(message, "Cc")
    if len(senders) != 1 or not recipients or not all(senders + recipients):
        raise PermanentMailError("a message needs one From address and at least one recipient")
    return senders[0], recipients
