"""DKIM: signatures made with a key generated here verify with dkimpy against its published TXT record."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kefu.mail.compose import compose
from kefu.mail.dkim_sign import load_dkim_signer
from kefu.mail.render import render
from kefu.mail.specs import get_spec
from kefu.mail.transport import message_bytes
from kefu.settings import Settings
from tests.mail.conftest import smtp_transport
from tests.mail.sink import SmtpSink

SELECTOR = "kefu2025"
DOMAIN = "kefu.test"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def dkim_settings(mail_settings: Settings, rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> Settings:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem)
    return mail_settings.model_copy(
        update={"dkim_selector": SELECTOR, "dkim_domain": DOMAIN, "dkim_private_key_path": path}
    )


def dns_for(key: rsa.RSAPrivateKey) -> Callable[..., bytes]:
    """A resolver serving only `<selector>._domainkey.<domain>` with the public key, as DNS would."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else b""

    return dnsfunc


def signed_message(settings: Settings, subject: str = "充币没到账 <b>") -> EmailMessage:
    signer = load_dkim_signer(settings)
    assert signer is not None
    spec = get_spec("request_received")
    context = spec.check_context(
        {
            "reference": "KF-12345678",
            "subject": subject,
            "first_response_due": None,
            "requests_url": "https://kefu.test/hc/zh-CN/requests",
        }
    )
    message = compose(
        settings,
        render(spec, "zh-CN", context, "BLUE-42"),
        to="alice@example.com",
        message_id="<abc@kefu.test>",
        sent_at=datetime(2025, 3, 1, 12, tzinfo=UTC),
        reference="KF-12345678",
        in_reply_to="<parent@example.com>",
    )
    return signer.sign(message)


def test_signature_verifies_and_covers_the_headers_that_matter(
    dkim_settings: Settings, rsa_key: rsa.RSAPrivateKey
) -> None:
    data = message_bytes(signed_message(dkim_settings))
    assert data.startswith(b"DKIM-Signature: ")
    assert dkim.verify(data, dnsfunc=dns_for(rsa_key))
    signature = data.split(b"\r\n\r\n", 1)[0].split(b"\r\nFrom:", 1)[0]
    signed = b"".join(signature.split()).split(b"h=", 1)[1].split(b";", 1)[0].lower().split(b":")
    assert {b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references"} <= set(signed)
    assert {b"mime-version", b"content-type"} <= set(signed)


def test_tampering_breaks_the_signature(dkim_settings: Settings, rsa_key: rsa.RSAPrivateKey) -> None:
    data = message_bytes(signed_message(dkim_settings))
    dns = dns_for(rsa_key)
    assert not dkim.verify(data.replace(b"KF-12345678", b"KF-99999999"), dnsfunc=dns)
    # Headers absent when signed (here: References) cannot be added afterwards either.
    head, body = data.split(b"\r\n\r\n", 1)
    assert not dkim.verify(head + b"\r\nReferences: <evil@example.com>\r\n\r\n" + body, dnsfunc=dns)


async def test_signature_survives_smtp(
    dkim_settings: Settings, rsa_key: rsa.RSAPrivateKey, smtp_sink: SmtpSink
) -> None:
    await smtp_transport(smtp_sink.port).send(signed_message(dkim_settings))
    [received] = smtp_sink.received
    assert dkim.verify(received.data, dnsfunc=dns_for(rsa_key))


def test_dkim_is_off_without_settings(mail_settings: Settings) -> None:
    assert load_dkim_signer(mail_settings) is None


def test_unusable_key_fails_at_load(dkim_settings: Settings, tmp_path: Path) -> None:
    assert dkim_settings.dkim_private_key_path is not None
    dkim_settings.dkim_private_key_path.write_text(
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(ValueError, match="DKIM"):
        load_dkim_signer(dkim_settings)
    missing = dkim_settings.model_copy(update={"dkim_private_key_path": tmp_path / "missing.pem"})
    with pytest.raises(ValueError, match="cannot read the DKIM key"):
        load_dkim_signer(missing)
