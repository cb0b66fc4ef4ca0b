"""Sender-authentication test kit: DKIM keys made here, messages signed with dkimpy, DNS as tables.

The world the tests run in: our domains are kefu.io and demoexchange.com. Addresses come from the
documentation ranges (RFC 5737/3849); nothing is ever sent to them.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.policy import SMTP

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import parse_pem_private_key

from kefu.mail.inbound.dns import StaticResolver

OURS = ("kefu.io", "demoexchange.com")
OUR_IP = "192.0.2.10"  # in kefu.io's SPF
FOREIGN_IP = "198.51.100.66"  # in nobody's SPF
ATTACKER_IP = "203.0.113.5"  # in the lookalike domains' SPF (they publish valid records)
PARTNER_IP = "203.0.113.80"  # customer.org's outbound server
SELECTOR = "k1"
HEADERS = (b"from", b"to", b"subject", b"date", b"message-id")


def new_key() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key (dkimpy refuses keys under 1024 bits)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    """The private key as PKCS#8 PEM, as dkimpy takes it."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def key_record(key: rsa.RSAPrivateKey) -> str:
    """The DKIM TXT record publishing the public half of `key`."""
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()


def message(
    from_: str,
    *,
    to: str = "help@kefu.io",
    subject: str = "Your withdrawal is on hold",
    body: str = "Verify your account within 24 hours: https://login.example/\n",
) -> bytes:
    """A plain message as an MTA would receive it (CRLF line endings)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = from_
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Sat, 01 Mar 2025 12:00:00 +0000"
    msg["Message-ID"] = "<m1@mail.example>"
    msg.set_content(body)
    return msg.as_bytes()


def sign(raw: bytes, domain: str, key: rsa.RSAPrivateKey, *, selector: str = SELECTOR) -> bytes:
    """`raw` with a DKIM-Signature by `domain` prepended (relaxed/relaxed)."""
    signature = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        pem(key),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=list(HEADERS),
    )
    return bytes(signature) + raw


def sign_expiring(raw: bytes, domain: str, key: rsa.RSAPrivateKey, *, expires: int) -> bytes:
    """Like `sign` with an x= expiry, which dkimpy's `sign` cannot add (built from its own parts)."""
    signer = dkim.DKIM(raw)
    signer.hasher = hashlib.sha256
    canon = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    body_hash = base64.b64encode(hashlib.sha256(canon.canonicalize_body(signer.body)).digest())
    fields = [
        (b"v", b"1"),
        (b"a", b"rsa-sha256"),
        (b"c", b"relaxed/relaxed"),
        (b"d", domain.encode()),
        (b"s", SELECTOR.encode()),
        (b"t", str(int(time.time())).encode()),
        (b"x", str(expires).encode()),
        (b"h", b" : ".join(HEADERS)),
        (b"bh", body_hash),
        (b"b", b"0" * 60),
    ]
    header = signer.gen_header(fields, HEADERS, canon, b"DKIM-Signature", parse_pem_private_key(pem(key)))
    return b"DKIM-Signature: " + bytes(header) + raw


def world(
    keys: Mapping[str, rsa.RSAPrivateKey],
    *,
    txt: Mapping[str, Sequence[str]] | None = None,
    temp_fail: Sequence[str] = (),
    a: Mapping[str, Sequence[str]] | None = None,
    mx: Mapping[str, Sequence[tuple[int, str]]] | None = None,
) -> StaticResolver:
    """DNS for the test world: SPF and DMARC for every domain below, the DKIM key of each `keys` domain.

    `txt` entries replace the defaults of the same name.
    """
    records: dict[str, list[str]] = {
        "kefu.io": ["v=spf1 ip4:192.0.2.0/24 -all"],
        "_dmarc.kefu.io": ["v=DMARC1; p=reject; rua=mailto:dmarc@kefu.io"],
        "demoexchange.com": ["v=spf1 ip4:192.0.2.0/24 -all"],
        "_dmarc.demoexchange.com": ["v=DMARC1; p=quarantine"],
        "customer.org": ["v=spf1 ip4:203.0.113.80 -all"],
        "mail.customer.org": ["v=spf1 ip4:203.0.113.80 -all"],
        "_dmarc.customer.org": ["v=DMARC1; p=none"],
        "gmail.com": ["v=spf1 ip4:198.51.100.0/25 ~all"],
        "_dmarc.gmail.com": ["v=DMARC1; p=none; sp=quarantine"],
        "mailer.net": ["v=spf1 ip4:198.51.100.128/25 -all"],
    }
    for lookalike in ("kefu-support.com", "xn--kfu-rdd.io", "dernoexchange.com", "dem0exchange.com"):
        records[lookalike] = [f"v=spf1 ip4:{ATTACKER_IP} -all"]
        records[f"_dmarc.{lookalike}"] = ["v=DMARC1; p=reject"]
    for domain, key in keys.items():
        records[f"{SELECTOR}._domainkey.{domain}"] = [key_record(key)]
    records.update({name: list(values) for name, values in (txt or {}).items()})
    return StaticResolver(txt=records, a=a, mx=mx, temp_fail=temp_fail)
