"""DNS lookups for sender authentication: one small async port, a dnspython adapter and a static table.

SPF, DKIM and DMARC need TXT, A, AAAA, MX and PTR answers and nothing else. Every answer is a plain
list: empty when the name or the record does not exist, and `DnsTempError` when the question could not
be answered (SERVFAIL, timeout, no reachable server), which the checks report as TEMPERROR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
from dns.rdata import Rdata
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA

# Caps keep a hostile zone from making one lookup expensive: more records than any sane zone publishes
# for one name, and a TXT record larger than any real SPF, DKIM or DMARC record is skipped whole
# (truncating it would make up a different record).
MAX_ANSWERS: Final = 32
MAX_TXT_BYTES: Final = 16_384
RECORD_TYPES: Final = ("TXT", "A", "AAAA", "MX", "PTR")


class DnsTempError(Exception):
    """The question could not be answered now (SERVFAIL, timeout); asking later may succeed."""


class TxtResolver(Protocol):
    """The DNS questions sender authentication asks. Names are absolute, without the trailing dot."""

    async def txt(self, name: str) -> list[str]:
        """TXT records at `name`, each one's strings joined; [] when there are none."""
        ...

    async def a(self, name: str) -> list[str]:
        """IPv4 addresses of `name` in dotted form; [] when there are none."""
        ...

    async def aaaa(self, name: str) -> list[str]:
        """IPv6 addresses of `name` in text form; [] when there are none."""
        ...

    async def mx(self, name: str) -> list[tuple[int, str]]:
        """(preference, exchange) pairs of `name`, exchange without the trailing dot."""
        ...

    async def ptr(self, name: str) -> list[str]:
        """PTR targets of a reverse name (`4.3.2.1.in-addr.arpa`), without the trailing dot."""
        ...


def normalise_name(name: str) -> str:
    """`name` as the resolvers key it: lower case, no trailing dot."""
    return name.strip().rstrip(".").lower()


class DnsPythonResolver:
    """The real resolver (dnspython, asyncio): bounded time per question, capped answers.

    Without `nameservers` it reads the system configuration (/etc/resolv.conf) when constructed.
    Search domains are never appended: every name asked is absolute.
    """

    def __init__(
        self,
        *,
        nameservers: Sequence[str] | None = None,
        port: int = 53,
        timeout: float = 5.0,
        max_answers: int = MAX_ANSWERS,
    ) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=nameservers is None)
        if nameservers is not None:
            self._resolver.nameservers = list(nameservers)
            self._resolver.port = port
        # One attempt per server may take the whole budget; `lifetime` bounds the question overall.
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._timeout = timeout
        self._max_answers = max_answers

    async def _resolve(self, name: str, rdtype: str) -> list[Rdata]:
        try:
            qname = dns.name.from_text(normalise_name(name) or ".")
        except dns.exception.DNSException:  # empty/too long labels, bad IDNA: nothing can live there
            return []
        try:
            answer = await self._resolver.resolve(
                qname, rdtype, search=False, raise_on_no_answer=False, lifetime=self._timeout
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return []
        except dns.exception.Timeout as exc:
            raise DnsTempError(f"{rdtype} {name}: timeout") from exc
        except dns.resolver.NoNameservers as exc:  # every server answered SERVFAIL/REFUSED or failed
            raise DnsTempError(f"{rdtype} {name}: no server could answer") from exc
        except dns.exception.DNSException as exc:
            raise DnsTempError(f"{rdtype} {name}: {type(exc).__name__}") from exc
        if answer.rrset is None:
            return []
        return list(answer.rrset)[: self._max_answers]

    async def txt(self, name: str) -> list[str]:
        """See `TxtResolver.txt`; records over MAX_TXT_BYTES are skipped."""
        joined = [b"".join(r.strings) for r in await self._resolve(name, "TXT") if isinstance(r, TXT)]
        return [text.decode("utf-8", "replace") for text in joined if len(text) <= MAX_TXT_BYTES]

    async def a(self, name: str) -> list[str]:
        """See `TxtResolver.a`."""
        return [str(r.address) for r in await self._resolve(name, "A") if isinstance(r, A)]

    async def aaaa(self, name: str) -> list[str]:
        """See `TxtResolver.aaaa`."""
        return [str(r.address) for r in await self._resolve(name, "AAAA") if isinstance(r, AAAA)]

    async def mx(self, name: str) -> list[tuple[int, str]]:
        """See `TxtResolver.mx`."""
        records = await self._resolve(name, "MX")
        return [(int(r.preference), normalise_name(str(r.exchange))) for r in records if isinstance(r, MX)]

    async def ptr(self, name: str) -> list[str]:
        """See `TxtResolver.ptr`."""
        return [normalise_name(str(r.target)) for r in await self._resolve(name, "PTR") if isinstance(r, PTR)]


class StaticResolver:
    """Answers from fixed tables: tests, and air-gapped deployments that pin their partners' records.

    Names in `temp_fail` raise `DnsTempError` for every type, as a broken zone would. Every question
    asked is appended to `queries` as (type, name) so tests can bound the lookups a check makes.
    """

    def __init__(
        self,
        *,
        txt: Mapping[str, Sequence[str]] | None = None,
        a: Mapping[str, Sequence[str]] | None = None,
        aaaa: Mapping[str, Sequence[str]] | None = None,
        mx: Mapping[str, Sequence[tuple[int, str]]] | None = None,
        ptr: Mapping[str, Sequence[str]] | None = None,
        temp_fail: Iterable[str] = (),
    ) -> None:
        self._txt = {normalise_name(k): list(v) for k, v in (txt or {}).items()}
        self._a = {normalise_name(k): list(v) for k, v in (a or {}).items()}
        self._aaaa = {normalise_name(k): list(v) for k, v in (aaaa or {}).items()}
        self._mx = {normalise_name(k): [(p, normalise_name(x)) for p, x in v] for k, v in (mx or {}).items()}
        self._ptr = {normalise_name(k): [normalise_name(x) for x in v] for k, v in (ptr or {}).items()}
        self._temp_fail = {normalise_name(name) for name in temp_fail}
        self.queries: list[tuple[str, str]] = []

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StaticResolver:
        """A resolver from JSON-shaped data: {"txt": {name: [text]}, "mx": {name: [[pref, host]]}, …}.

        ValueError names the first entry of the wrong shape.
        """
        unknown = set(data) - {t.lower() for t in RECORD_TYPES} - {"temp_fail"}
        if unknown:
            raise ValueError(f"unknown record types: {sorted(unknown)}")
        tables: dict[str, dict[str, list[str]]] = {}
        for rtype in ("txt", "a", "aaaa", "ptr"):
            tables[rtype] = _string_table(data.get(rtype, {}), rtype)
        mx: dict[str, list[tuple[int, str]]] = {}
        for name, values in _mapping(data.get("mx", {}), "mx").items():
            if not isinstance(values, list):
                raise ValueError(f"mx {name!r}: expected a list of [preference, host]")
            pairs = []
            for value in values:
                if not (
                    isinstance(value, list | tuple)
                    and len(value) == 2
                    and isinstance(value[0], int)
                    and isinstance(value[1], str)
                ):
                    raise ValueError(f"mx {name!r}: expected [preference, host], got {value!r}")
                pairs.append((value[0], value[1]))
            mx[name] = pairs
        temp_fail = data.get("temp_fail", [])
        if not isinstance(temp_fail, list) or not all(isinstance(n, str) for n in temp_fail):
            raise ValueError("temp_fail: expected a list of names")
        return cls(mx=mx, temp_fail=temp_fail, **tables)

    def _lookup(self, rtype: str, name: str) -> str:
        key = normalise_name(name)
        self.queries.append((rtype, key))
        if key in self._temp_fail:
            raise DnsTempError(f"{rtype} {key}: SERVFAIL")
        return key

    async def txt(self, name: str) -> list[str]:
        """See `TxtResolver.txt`."""
        return list(self._txt.get(self._lookup("TXT", name), []))

    async def a(self, name: str) -> list[str]:
        """See `TxtResolver.a`."""
        return list(self._a.get(self._lookup("A", name), []))

    async def aaaa(self, name: str) -> list[str]:
        """See `TxtResolver.aaaa`."""
        return list(self._aaaa.get(self._lookup("AAAA", name), []))

    async def mx(self, name: str) -> list[tuple[int, str]]:
        """See `TxtResolver.mx`."""
        return list(self._mx.get(self._lookup("MX", name), []))

    async def ptr(self, name: str) -> list[str]:
        """See `TxtResolver.ptr`."""
        return list(self._ptr.get(self._lookup("PTR", name), []))


def _mapping(value: object, rtype: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{rtype}: expected an object keyed by name")
    return value


def _string_table(value: object, rtype: str) -> dict[str, list[str]]:
    table = {}
    for name, values in _mapping(value, rtype).items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f"{rtype} {name!r}: expected a list of strings")
        table[name] = list(values)
    return table
