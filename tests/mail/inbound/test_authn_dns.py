"""DNS ports for sender authentication: the static table, and dnspython against local UDP servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import cast

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from dns.rdtypes.ANY.TXT import TXT

from kefu.mail.inbound.dns import MAX_ANSWERS, DnsPythonResolver, DnsTempError, StaticResolver

Handler = Callable[[dns.message.Message], dns.message.Message | None]


async def test_static_resolver_normalises_names_and_records_queries() -> None:
    resolver = StaticResolver(
        txt={"Example.ORG.": ["v=spf1 -all"]},
        mx={"example.org": [(10, "MX1.example.org.")]},
        a={"mx1.example.org": ["192.0.2.1"]},
        temp_fail=["broken.example"],
    )
    assert await resolver.txt("example.org.") == ["v=spf1 -all"]
    assert await resolver.mx("EXAMPLE.org") == [(10, "mx1.example.org")]
    assert await resolver.a("mx1.example.org") == ["192.0.2.1"]
    assert await resolver.aaaa("mx1.example.org") == []
    assert await resolver.ptr("1.2.0.192.in-addr.arpa") == []
    with pytest.raises(DnsTempError):
        await resolver.txt("Broken.example")
    assert resolver.queries[:3] == [("TXT", "example.org"), ("MX", "example.org"), ("A", "mx1.example.org")]


async def test_static_resolver_from_json_shaped_data() -> None:
    resolver = StaticResolver.from_dict(
        {
            "txt": {"example.org": ["v=spf1 -all"]},
            "mx": {"example.org": [[5, "mx.example.org"]]},
            "temp_fail": [],
        }
    )
    assert await resolver.mx("example.org") == [(5, "mx.example.org")]
    bad_data: list[dict[str, object]] = [
        {"cname": {}},
        {"txt": ["v=spf1"]},
        {"txt": {"example.org": "v=spf1"}},
        {"mx": {"example.org": [["10", "mx"]]}},
        {"mx": {"example.org": "mx"}},
        {"temp_fail": "example.org"},
    ]
    for bad in bad_data:
        with pytest.raises(ValueError):
            StaticResolver.from_dict(bad)


class _Server(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # the selector one is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.handler(dns.message.from_wire(data))
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply.to_wire(), addr)


@asynccontextmanager
async def udp_server(handler: Handler) -> AsyncIterator[DnsPythonResolver]:
    """A DNS server on 127.0.0.1 answering with `handler`, and a resolver that asks only it."""
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Server(handler), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        yield DnsPythonResolver(nameservers=["127.0.0.1"], port=port, timeout=0.5)
    finally:
        transport.close()


def _zone(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query)
    question = query.question[0]
    name = question.name
    text = name.to_text(omit_final_dot=True)
    rdtype = dns.rdatatype.to_text(question.rdtype)
    records = {
        ("example.org", "TXT"): ['"v=spf1 " "ip4:192.0.2.0/24 -all"', '"other"'],
        ("example.org", "MX"): ["10 MX1.example.org."],
        ("mx1.example.org", "A"): ["192.0.2.25"],
        ("mx1.example.org", "AAAA"): ["2001:db8::25"],
        ("25.2.0.192.in-addr.arpa", "PTR"): ["mx1.example.org."],
        ("many.example.org", "TXT"): [f'"r{i:02d}"' for i in range(MAX_ANSWERS + 8)],
    }
    if text == "servfail.example.org":
        response.set_rcode(dns.rcode.SERVFAIL)
    elif text == "huge.example.org":
        big = TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [b"x" * 250] * 70)
        small = TXT(dns.rdataclass.IN, dns.rdatatype.TXT, [b"v=DKIM1; p=AAAA"])
        response.answer.append(dns.rrset.from_rdata(name, 60, big, small))
    elif (text, rdtype) in records:
        response.answer.append(dns.rrset.from_text(name, 60, "IN", rdtype, *records[(text, rdtype)]))
    elif not text.endswith("example.org"):
        response.set_rcode(dns.rcode.NXDOMAIN)
    return response


async def test_dnspython_resolver_maps_answers() -> None:
    async with udp_server(_zone) as resolver:
        assert sorted(await resolver.txt("Example.org.")) == ["other", "v=spf1 ip4:192.0.2.0/24 -all"]
        assert await resolver.mx("example.org") == [(10, "mx1.example.org")]
        assert await resolver.a("mx1.example.org") == ["192.0.2.25"]
        assert await resolver.aaaa("mx1.example.org") == ["2001:db8::25"]
        assert await resolver.ptr("25.2.0.192.in-addr.arpa") == ["mx1.example.org"]
        assert await resolver.txt("nothing.example.org") == []  # NOERROR, no answer
        assert await resolver.txt("nowhere.test") == []  # NXDOMAIN
        assert await resolver.txt("a..b") == []  # not a name: nothing is asked
        assert await resolver.txt("x" * 64 + ".example.org") == []
        assert len(await resolver.txt("many.example.org")) == MAX_ANSWERS
        assert await resolver.txt("huge.example.org") == ["v=DKIM1; p=AAAA"]  # the oversized one is skipped


async def test_dnspython_resolver_servfail_is_temporary() -> None:
    async with udp_server(_zone) as resolver:
        with pytest.raises(DnsTempError, match="no server could answer"):
            await resolver.txt("servfail.example.org")


async def test_dnspython_resolver_silence_is_a_timely_temporary_error() -> None:
    async with udp_server(lambda query: None) as resolver:
        started = time.monotonic()
        with pytest.raises(DnsTempError, match="timeout"):
            await resolver.txt("example.org")
        assert time.monotonic() - started < 3
