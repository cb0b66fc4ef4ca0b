"""DKIM signing with dkimpy: the signature covers the exact bytes the transports send."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Final

import dkim

from kefu.mail.compose import POLICY
from kefu.mail.transport import message_bytes
from kefu.settings import Settings

# Headers absent from a message are still listed: that signs their absence, so nobody can add them.
SIGNED_HEADERS: Final = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"In-Reply-To",
    b"References",
    b"Reply-To",
    b"MIME-Version",
    b"Content-Type",
)


@dataclass(frozen=True)
class DkimSigner:
    """Signs as `selector._domainkey.domain` with an RSA private key (PEM), rsa-sha256."""

    selector: str
    domain: str
    private_key: bytes

    def sign(self, message: EmailMessage) -> EmailMessage:
        """A copy of `message` with a DKIM-Signature header (relaxed/relaxed canonicalisation)."""
        data = message_bytes(message)
        try:
            signature = dkim.sign(
                data,
                self.selector.encode(),
                self.domain.encode(),
                self.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(SIGNED_HEADERS),
            )
        except (dkim.DKIMException, ValueError) as exc:  # a malformed PEM surfaces as binascii.Error
            raise ValueError(f"DKIM signing failed: {exc}") from None
        # Parsed back with the policy that wrote it: serialising it again gives these bytes exactly.
        signed = BytesParser(policy=POLICY).parsebytes(signature + data)
        if message_bytes(signed) != signature + data:
            raise ValueError("the signed message does not serialise to the bytes that were signed")
        return signed


def load_dkim_signer(settings: Settings) -> DkimSigner | None:
    """The signer the settings describe, or None when DKIM is off; ValueError for an unusable key."""
    if not settings.dkim_private_key_path:
        return None
    try:
        key = settings.dkim_private_key_path.read_bytes()
    except OSError as exc:
        raise ValueError(
            f"cannot read the DKIM key {settings.dkim_private_key_path}: {exc.strerror}"
        ) from None
    signer = DkimSigner(selector=settings.dkim_selector, domain=settings.dkim_domain, private_key=key)
    probe = EmailMessage(policy=POLICY)
    probe["From"] = f"probe@{settings.dkim_domain}"
    probe["To"] = f"probe@{settings.dkim_domain}"
    probe.set_content("probe")
    signer.sign(probe)  # a bad key fails here, at start-up, rather than in every mail job
    return signer
