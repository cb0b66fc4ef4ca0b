"""Sender authentication of inbound email: SPF, DKIM, DMARC alignment and phishing in our name.

`verify_sender` is called once per received message by the inbound pipeline; its `SenderVerdict` is
stored on the message (`as_json`), shown to agents, and `phishing` routes the message to the security
team. It never raises on malformed mail: what cannot be checked is NONE or PERMERROR, what DNS could
not answer is TEMPERROR.

Policy (why these rules):
* DMARC alignment is relaxed (same registrable domain) unless the From domain's record says
  adkim=s / aspf=s (exact match). `aligned` is computed even when the domain publishes no DMARC record,
  so mail in our own name is held to alignment whatever our DNS says. pct= is ignored.
* `phishing` is true when the From domain (or any address or domain-like word in the From header)
  imitates one of our domains — whatever its own SPF/DKIM say, since an attacker controls those for
  a lookalike domain — or when the mail claims to be us (our domain in From, our brand or address in
  the display name) and is not a single-author message from our domain that passes alignment.
* Temporary DNS errors fail closed only for mail in our name: we cannot prove it is ours, so it is
  phishing until the security team says otherwise. Other senders with TEMPERROR are not phishing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.header import Header, decode_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Final, TypeVar

import structlog

from kefu.core.clock import utcnow
from kefu.mail.inbound.authn_checks import AuthResult, check_dkim, check_spf, spf_identity
from kefu.mail.inbound.dns import DnsTempError, TxtResolver
from kefu.mail.inbound.lookalike import (
    imitated,
    imitated_in_text,
    match_ours,
    mentions_ours,
    organisational_domain,
    to_ascii,
)

__all__ = ["AuthResult", "SenderVerdict", "verify_sender"]

log = structlog.get_logger(__name__)

SPF_BUDGET_SECONDS: Final = 20.0  # RFC 7208 4.6.4 suggests at least 20 s for the whole SPF check
DKIM_BUDGET_SECONDS: Final = 15.0
DMARC_BUDGET_SECONDS: Final = 10.0
MAX_FROM_TEXT: Final = 2_000  # characters of the From header(s) scanned; a longer one is hostile anyway
_ANGLE: Final = re.compile(r"<([^<>]*)>")
_POLICIES: Final = ("none", "quarantine", "reject")
R = TypeVar("R")


@dataclass(frozen=True)
class SenderVerdict:
    """What we could prove about who sent a message, and whether it impersonates us."""

    from_domain: str | None  # IDNA A-label of the (first) author, lower case
    spf: AuthResult
    spf_domain: str | None  # MAIL FROM domain, or HELO when MAIL FROM is empty
    dkim: AuthResult
    dkim_domains: tuple[str, ...]  # d= of passing signatures
    dmarc: AuthResult
    dmarc_policy: str | None  # none | quarantine | reject, as it applies to from_domain
    aligned: bool
    claims_our_domain: bool
    lookalike_of: str | None
    phishing: bool
    summary: str
    checked_at: datetime

    def as_json(self) -> dict[str, object]:
        """The verdict as stored on the message: codes only, the UI translates them."""
        return {
            "from_domain": self.from_domain,
            "spf": self.spf.value,
            "spf_domain": self.spf_domain,
            "dkim": self.dkim.value,
            "dkim_domains": list(self.dkim_domains),
            "dmarc": self.dmarc.value,
            "dmarc_policy": self.dmarc_policy,
            "aligned": self.aligned,
            "claims_our_domain": self.claims_our_domain,
            "lookalike_of": self.lookalike_of,
            "phishing": self.phishing,
            "summary": self.summary,
            "checked_at": self.checked_at.isoformat(),
        }


@dataclass(frozen=True)
class _Authors:
    """What the From header(s) say."""

    domain: str | None  # the author whose mailbox a reader sees, A-label
    domains: frozenset[str]  # every author domain (A-labels; unencodable ones as written)
    text: str  # the decoded header(s) without the author's address: display names, comments
    single: bool  # exactly one From header naming exactly one author domain


@dataclass(frozen=True)
class _Dmarc:
    """The DMARC record that applies, or why there is none (NONE, TEMPERROR, PERMERROR)."""

    missing: AuthResult = AuthResult.NONE  # meaningful only when policy is None
    policy: str | None = None
    adkim: str = "r"
    aspf: str = "r"


async def verify_sender(
    raw: bytes,
    *,
    peer_ip: str | None,
    helo: str | None,
    mail_from: str | None,
    our_domains: Sequence[str],
    resolver: TxtResolver,
    now: datetime | None = None,
) -> SenderVerdict:
    """Check SPF (peer_ip/helo/mail_from from the SMTP session), DKIM and DMARC, then phishing in our name.

    `peer_ip` None (mail fetched over IMAP without a trusted Received line) gives SPF NONE.
    """
    checked_at = now or utcnow()
    authors = _parse_authors(raw)
    spf_domain = spf_identity(helo, mail_from)
    spf, (dkim, dkim_domains) = await asyncio.gather(
        _within(
            check_spf(resolver, peer_ip, helo, mail_from),
            SPF_BUDGET_SECONDS,
            "spf",
            timed_out=AuthResult.TEMPERROR,
            broken=AuthResult.PERMERROR,
        ),
        _within(
            check_dkim(raw, resolver, now=checked_at),
            DKIM_BUDGET_SECONDS,
            "dkim",
            timed_out=(AuthResult.TEMPERROR, ()),
            broken=(AuthResult.PERMERROR, ()),
        ),
    )
    dmarc = _Dmarc()
    if authors.domain is not None:
        dmarc = await _within(
            _fetch_dmarc(resolver, authors.domain),
            DMARC_BUDGET_SECONDS,
            "dmarc",
            timed_out=_Dmarc(missing=AuthResult.TEMPERROR),
            broken=_Dmarc(missing=AuthResult.PERMERROR),
        )
    aligned = (
        authors.domain is not None
        and authors.single
        and (
            (spf is AuthResult.PASS and _aligned(spf_domain, authors.domain, dmarc.aspf))
            or any(_aligned(d, authors.domain, dmarc.adkim) for d in dkim_domains)
        )
    )
    if dmarc.policy is None:
        dmarc_result = dmarc.missing
    elif aligned:
        dmarc_result = AuthResult.PASS
    else:
        dmarc_result = AuthResult.TEMPERROR if AuthResult.TEMPERROR in (spf, dkim) else AuthResult.FAIL

    ours = authors.domain is not None and match_ours(authors.domain, our_domains) is not None
    claims = (
        ours
        or any(match_ours(d, our_domains) is not None for d in authors.domains)
        or mentions_ours(authors.text, our_domains) is not None
    )
    lookalike = _first_imitated(authors, our_domains)
    verdict = SenderVerdict(
        from_domain=authors.domain,
        spf=spf,
        spf_domain=spf_domain,
        dkim=dkim,
        dkim_domains=dkim_domains,
        dmarc=dmarc_result,
        dmarc_policy=dmarc.policy,
        aligned=aligned,
        claims_our_domain=claims,
        lookalike_of=lookalike,
        phishing=lookalike is not None or (claims and not (ours and aligned)),
        summary="",
        checked_at=checked_at,
    )
    return replace(verdict, summary=_summary(verdict))


async def _within(check: Awaitable[R], seconds: float, name: str, *, timed_out: R, broken: R) -> R:
    """Run one check within its time budget; a library failing on hostile input must not lose the mail."""
    try:
        async with asyncio.timeout(seconds):
            return await check
    except TimeoutError:
        log.info("sender_check_timed_out", check=name, seconds=seconds)
        return timed_out
    except Exception as exc:  # noqa: BLE001 - the last guard of "never raises"; the type is enough to debug
        log.warning("sender_check_failed", check=name, error=type(exc).__name__)
        return broken


def _aligned(domain: str | None, from_domain: str, mode: str) -> bool:
    """DMARC identifier alignment: exact in strict mode, same registrable domain in relaxed mode."""
    if not domain:
        return False
    domain = domain.lower().rstrip(".")
    if mode == "s":
        return domain == from_domain
    return organisational_domain(domain) == organisational_domain(from_domain)


def _first_imitated(authors: _Authors, our_domains: Sequence[str]) -> str | None:
    for domain in sorted(authors.domains):
        hit = imitated(domain, our_domains)
        if hit is not None:
            return hit
    return imitated_in_text(authors.text, our_domains)


def _summary(v: SenderVerdict) -> str:
    """One line for logs and the security queue, e.g. `PHISHING lookalike of kefu.io; from=kefu-x.com …`."""
    parts = []
    if v.phishing:
        if v.lookalike_of:
            parts.append(f"PHISHING: lookalike of {v.lookalike_of}")
        else:
            parts.append("PHISHING: claims to be us, not authenticated as us")
    elif v.claims_our_domain:
        parts.append("ours, authenticated")
    parts.append(f"from={v.from_domain or '-'}")
    parts.append(f"spf={v.spf.value}" + (f" ({v.spf_domain})" if v.spf_domain else ""))
    parts.append(f"dkim={v.dkim.value}" + (f" ({','.join(v.dkim_domains)})" if v.dkim_domains else ""))
    parts.append(f"dmarc={v.dmarc.value}" + (f" p={v.dmarc_policy}" if v.dmarc_policy else ""))
    parts.append("aligned" if v.aligned else "not aligned")
    return "; ".join(parts)


# --- From header ------------------------------------------------------------------------------


def _parse_authors(raw: bytes) -> _Authors:
    """The author(s) from the From header(s); an empty result when there is none or it is unreadable."""
    try:
        # Only the header block is read: the parser would otherwise decode and split the whole body.
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(_header_block(raw))
        values = headers.get_all("From") or []
    except Exception:  # noqa: BLE001 - compat32 records defects; this guards the odd parser bug
        return _Authors(None, frozenset(), "", single=False)
    texts = [_raw_text(value)[:MAX_FROM_TEXT] for value in values]
    addresses = [addr for _, addr in getaddresses(texts) if "@" in addr]
    # What a reader sees as the address: the one in angle brackets when there is exactly one.
    angled = [m.strip() for text in texts for m in _ANGLE.findall(text) if "@" in m]
    shown = angled[0] if len(angled) == 1 else (addresses[0] if addresses else None)
    domains = {_address_domain(a) for a in [*addresses, *angled]} - {""}
    shown_domain = _address_domain(shown) if shown else ""
    decoded = " ".join(_decode_words(text) for text in texts)
    if shown:
        decoded = decoded.replace(shown, " ", 1)
    return _Authors(
        domain=to_ascii(shown_domain) if shown_domain else None,
        domains=frozenset(to_ascii(d) or d for d in domains),
        text=decoded,
        single=len(values) == 1 and len(domains) == 1,
    )


def _header_block(raw: bytes) -> bytes:
    """The message's header section (up to the first empty line), or all of `raw` when there is none."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends)] + b"\n" if ends else raw


def _address_domain(address: str) -> str:
    """The domain after the last @, lower case, without brackets or a trailing dot."""
    return address.rpartition("@")[2].strip().strip("<>[]").rstrip(".").lower()


def _raw_text(value: str | Header) -> str:
    """A header value as text: 8-bit (SMTPUTF8) headers come back from compat32 as Header objects."""
    if isinstance(value, str):
        return value
    try:
        return "".join(
            chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
            for chunk, _ in decode_header(value)
        )
    except Exception:  # noqa: BLE001 - email.header is not hardened against every input
        return str(value)


def _decode_words(text: str) -> str:
    """RFC 2047 encoded-words decoded; unknown charsets and broken encodings read as UTF-8 with U+FFFD."""
    try:
        chunks = decode_header(text)
    except Exception:  # noqa: BLE001 - a broken encoded-word leaves the text as it came
        return text
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "raw-unicode-escape", "replace"))
        except LookupError:
            out.append(chunk.decode("utf-8", "replace"))
    return "".join(out)


# --- DMARC ------------------------------------------------------------------------------------


async def _fetch_dmarc(resolver: TxtResolver, from_domain: str) -> _Dmarc:
    """The DMARC policy for `from_domain`: its own `_dmarc` record, else its organisational domain's.

    A domain without a record of its own takes the organisational record's sp= (else p=).
    """
    org = organisational_domain(from_domain)
    try:
        record = await _dmarc_record(resolver, from_domain)
        inherited = False
        if record is None and org != from_domain:
            record = await _dmarc_record(resolver, org)
            inherited = True
    except DnsTempError:
        return _Dmarc(missing=AuthResult.TEMPERROR)
    if record is None:
        return _Dmarc()
    policy_value = record["p"]
    if inherited and record.get("sp") in _POLICIES:
        policy_value = record["sp"]
    adkim = record.get("adkim", "r")
    aspf = record.get("aspf", "r")
    return _Dmarc(
        policy=policy_value,
        adkim=adkim if adkim in ("r", "s") else "r",
        aspf=aspf if aspf in ("r", "s") else "r",
    )


async def _dmarc_record(resolver: TxtResolver, domain: str) -> dict[str, str] | None:
    """The one usable DMARC record at `_dmarc.<domain>` as lower-case tags, or None (RFC 7489 6.6.3).

    Several records, or one whose p= is missing or invalid and has no rua=, count as none; a
    record with a bad p= but a rua= is read as p=none.
    """
    texts = await resolver.txt(f"_dmarc.{domain}")
    records = [t for t in texts if re.match(r"\s*v\s*=\s*DMARC1\s*(;|$)", t, re.IGNORECASE)]
    if len(records) != 1:
        return None
    tags: dict[str, str] = {}
    for part in records[0].split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            tags.setdefault(key.strip().lower(), value.strip().lower())
    if tags.get("p") not in _POLICIES:
        if "rua" not in tags:
            return None
        tags["p"] = "none"
    return tags
