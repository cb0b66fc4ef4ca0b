"""SPF (pyspf) and DKIM (dkimpy) checks with every DNS answer taken from an async `TxtResolver`.

Both libraries are synchronous and would query DNS themselves. Instead:

* SPF runs pyspf's evaluator with `dns()` overridden to read answers from a table. An answer not in
  the table stops the evaluation (`_NeedAnswer`); it is then fetched asynchronously and the evaluation
  restarts from scratch with the larger table. pyspf is pure computation apart from DNS, so reruns give
  the same answers, and RFC 7208's lookup limits still apply because pyspf counts the lookups itself.
  No module global of pyspf is replaced, so concurrent checks with different resolvers are safe.
* DKIM fetches each signature's key record first, then gives dkimpy a function returning it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Final

import dkim
import spf  # type: ignore[import-untyped]  # pyspf ships no type information

from kefu.mail.inbound.dns import DnsTempError, TxtResolver
from kefu.mail.inbound.lookalike import to_ascii

MAX_SPF_FETCHES: Final = 128  # above pyspf's own limits (10 mechanisms, 10 MX hosts each): a backstop
MAX_DKIM_SIGNATURES: Final = 5  # later signatures are ignored, as common verifiers do
# A DKIM-Signature field at the start of a header line (names are case-insensitive).
_SIGNATURE_HEADER: Final = re.compile(rb"(?:^|\n)dkim-signature[ \t]*:", re.IGNORECASE)


class AuthResult(StrEnum):
    """Result of one check, with RFC 8601 (Authentication-Results) meanings."""

    PASS = "pass"  # noqa: S105 - a result code, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


_SPF_RESULTS: Final = {
    "pass": AuthResult.PASS,
    "fail": AuthResult.FAIL,
    "softfail": AuthResult.SOFTFAIL,
    "neutral": AuthResult.NEUTRAL,
    "none": AuthResult.NONE,
    "temperror": AuthResult.TEMPERROR,
    "permerror": AuthResult.PERMERROR,
}

# --- SPF --------------------------------------------------------------------------------------


def spf_identity(helo: str | None, mail_from: str | None) -> str | None:
    """The domain SPF authorises: MAIL FROM's, or the HELO name for the null sender (bounces)."""
    sender = (mail_from or "").strip().strip("<>").strip()
    domain = sender.rpartition("@")[2] if "@" in sender else (helo or "")
    return to_ascii(domain) if domain.strip() else None


class _NeedAnswer(Exception):
    """Raised inside pyspf when the answer to (name, type) has not been fetched yet."""

    def __init__(self, name: str, qtype: str) -> None:
        super().__init__(name, qtype)
        self.key = (name, qtype)


_Answer = list[object] | DnsTempError


class _SpfQuery(spf.query):  # type: ignore[misc]  # pyspf is untyped
    """pyspf's evaluator reading DNS from `answers` (keys: (name, type) as pyspf asks them)."""

    def __init__(self, ip: str, sender: str, helo: str, answers: dict[tuple[str, str], _Answer]) -> None:
        super().__init__(i=ip, s=sender, h=helo, strict=True)
        self.answers = answers

    def dns(self, name: str, qtype: str, cnames: object = None, ignore_void: bool = False) -> list[object]:
        """Replaces pyspf's lookup: same name checks and void-lookup limit (RFC 7208 4.6.4)."""
        name = str(name).rstrip(".").lower()
        if not name or any(not 0 < len(label) < 64 for label in name.split(".")):
            return []
        key = (name, qtype)
        if key not in self.answers:
            raise _NeedAnswer(name, qtype)
        answer = self.answers[key]
        if isinstance(answer, DnsTempError):
            raise spf.TempError(f"DNS {qtype} {name}: {answer}")
        if not answer and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return list(answer)


async def _fetch(resolver: TxtResolver, name: str, qtype: str) -> _Answer:
    """One answer in the shapes pyspf's dnspython driver gives (TXT as a tuple of byte strings)."""
    try:
        if qtype == "TXT":
            return [(text.encode("utf-8"),) for text in await resolver.txt(name)]
        if qtype == "A":
            return list(await resolver.a(name))
        if qtype == "AAAA":
            return list(await resolver.aaaa(name))
        if qtype == "MX":
            return list(await resolver.mx(name))
        if qtype == "PTR":
            return list(await resolver.ptr(name))
    except DnsTempError as exc:
        return exc
    return []  # type 99 (SPF) is only asked in pyspf's "harsh" mode, which is not used


async def check_spf(
    resolver: TxtResolver, peer_ip: str | None, helo: str | None, mail_from: str | None
) -> AuthResult:
    """SPF for the SMTP client `peer_ip` sending as `mail_from` (RFC 7208); NONE without an IP or domain."""
    domain = spf_identity(helo, mail_from)
    if peer_ip is None or domain is None:
        return AuthResult.NONE
    try:
        ip = ipaddress.ip_address(peer_ip.strip().strip("[]").removeprefix("IPv6:"))
    except ValueError:
        return AuthResult.NONE
    sender = (mail_from or "").strip().strip("<>").strip()
    local = sender.rpartition("@")[0] if "@" in sender else ""
    address = f"{local or 'postmaster'}@{domain}"
    helo_name = to_ascii(helo or "") or domain
    answers: dict[tuple[str, str], _Answer] = {}
    while True:
        query = _SpfQuery(str(ip), address, helo_name, answers)
        try:
            result, _code, _explanation = query.check()
        except _NeedAnswer as need:
            if len(answers) >= MAX_SPF_FETCHES:
                return AuthResult.PERMERROR
            answers[need.key] = await _fetch(resolver, *need.key)
            continue
        return _SPF_RESULTS.get(str(result), AuthResult.PERMERROR)


# --- DKIM -------------------------------------------------------------------------------------


async def check_dkim(
    raw: bytes, resolver: TxtResolver, *, now: datetime
) -> tuple[AuthResult, tuple[str, ...]]:
    """DKIM over the first MAX_DKIM_SIGNATURES signatures: the best result and the d= of those that pass.

    PASS if any signature verifies, else TEMPERROR if a key could not be fetched, else FAIL if one
    failed to verify (tampered, expired at `now`), else PERMERROR (malformed, no key); NONE unsigned.
    """
    signed = _SIGNATURE_HEADER.search(_head(raw)) is not None
    if not signed:
        # Most mail: no signature, so no need to parse every line of the message for the verifier.
        return AuthResult.NONE, ()
    try:
        verifier = dkim.DKIM(raw)
    except dkim.DKIMException:
        return AuthResult.PERMERROR, ()
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    results: list[AuthResult] = []
    passed: list[str] = []
    for idx in range(min(count, MAX_DKIM_SIGNATURES)):
        result, domain = await _verify_signature(verifier, idx, resolver, now)
        results.append(result)
        if result is AuthResult.PASS and domain and domain not in passed:
            passed.append(domain)
    return _best(results), tuple(passed)


def _head(raw: bytes) -> bytes:
    """The header section: up to the first empty line (either line ending), or everything."""
    ends = [i for i in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if i >= 0]
    return raw[: min(ends)] if ends else raw


def _best(results: Sequence[AuthResult]) -> AuthResult:
    for result in (AuthResult.PASS, AuthResult.TEMPERROR, AuthResult.FAIL, AuthResult.PERMERROR):
        if result in results:
            return result
    return AuthResult.NONE


async def _verify_signature(
    verifier: dkim.DKIM, idx: int, resolver: TxtResolver, now: datetime
) -> tuple[AuthResult, str | None]:
    """One signature: its result and its d= (A-label), None when the signature is unreadable."""
    try:
        prepared = verifier.verify_headerprep(idx)
    except Exception:  # noqa: BLE001 - dkimpy raises more than DKIMException on hostile tag lists
        return AuthResult.PERMERROR, None
    if not prepared:
        return AuthResult.NONE, None
    tags = prepared[0]
    domain = to_ascii(bytes(tags[b"d"]).decode("utf-8", "replace"))
    selector = bytes(tags[b"s"]).decode("utf-8", "replace").strip()
    key_name = to_ascii(f"{selector}._domainkey.{domain}") if domain and selector else None
    if domain is None or key_name is None:
        return AuthResult.PERMERROR, domain
    expires = bytes(tags.get(b"x", b"")).strip()
    if expires.isdigit() and int(expires) < now.timestamp():
        return AuthResult.FAIL, domain  # RFC 6376 3.5: invalid after x=
    try:
        records = [r for r in await resolver.txt(key_name) if "p=" in r]
    except DnsTempError:
        return AuthResult.TEMPERROR, domain
    if not records:
        return AuthResult.PERMERROR, domain  # no key published; a revoked one (empty p=) fails below
    record = records[0].encode("utf-8")

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return record

    try:
        ok = verifier.verify(idx, dnsfunc=dnsfunc)
    except dkim.ValidationError:  # the fields were validated above: this is a body hash mismatch
        return AuthResult.FAIL, domain
    except Exception:  # noqa: BLE001 - key format errors and dkimpy's odd failures on hostile input
        return AuthResult.PERMERROR, domain
    return (AuthResult.PASS if ok else AuthResult.FAIL), domain
