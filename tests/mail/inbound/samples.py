"""Inbound mail pathologies, built in code so every byte is explained (SECURITY.md's list, one by one).

Realistic client output (Gmail, Outlook, QQ, 163, Foxmail, Postfix, qmail) is in
tests/fixtures/mail/*.eml; these are the synthetic and binary cases a text file would hide.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).parents[2] / "fixtures" / "mail"
CRLF = b"\r\n"
BASE_HEADERS: list[tuple[str, bytes | str]] = [
    ("From", "Customer <customer@example.com>"),
    ("To", "support@kefu.test"),
    ("Subject", "Help"),
    ("Date", "Tue, 02 Jan 2024 10:00:00 +0000"),
    ("Message-ID", "<sample@example.com>"),
    ("MIME-Version", "1.0"),
]


def fixture(name: str) -> bytes:
    """A committed .eml fixture, by file name."""
    return (FIXTURES / name).read_bytes()


def fixture_names() -> list[str]:
    """Every committed .eml fixture."""
    return sorted(path.name for path in FIXTURES.glob("*.eml"))


def message(
    headers: list[tuple[str, bytes | str]] | None = None,
    body: bytes = b"",
    *,
    extra: list[tuple[str, bytes | str]] | None = None,
    newline: bytes = CRLF,
) -> bytes:
    """A message: `headers` (default BASE_HEADERS, then `extra`), a blank line and `body`."""
    lines = []
    for name, value in [*(BASE_HEADERS if headers is None else headers), *(extra or [])]:
        raw = value.encode("utf-8") if isinstance(value, str) else value
        lines.append(name.encode("ascii") + b": " + raw)
    return newline.join(lines) + newline + newline + body.replace(b"\n", newline)


def encoded_word(text: str, codec: str, label: str | None = None) -> str:
    """An RFC 2047 B-encoded word of `text` in `codec`, labelled `label` (default: the codec)."""
    data = base64.b64encode(text.encode(codec)).decode("ascii")
    return f"=?{label or codec}?B?{data}?="


def b64_lines(data: bytes) -> bytes:
    """`data` base64-encoded in 76-character lines, as mailers send it."""
    return base64.encodebytes(data).rstrip(b"\n")


def text_part(text: str, codec: str, label: str | None = None, cte: str = "base64") -> bytes:
    """A single text/plain message whose body is `text` encoded in `codec` and labelled `label`."""
    data = text.encode(codec)
    body = b64_lines(data) if cte == "base64" else data
    return message(
        extra=[
            ("Content-Type", f"text/plain; charset={label or codec}"),
            ("Content-Transfer-Encoding", cte),
        ],
        body=body,
    )


def multipart(
    parts: list[bytes], boundary: str = "b1", subtype: str = "mixed", params: str = ""
) -> tuple[str, bytes]:
    """(Content-Type value, body) of a multipart of `parts` (each headers + blank line + body)."""
    delimiter = b"--" + boundary.encode()
    body = b"preamble\n" + b"".join(delimiter + b"\n" + part + b"\n" for part in parts) + delimiter + b"--\n"
    return f'multipart/{subtype}; boundary="{boundary}"{params}', body


def part(content_type: str, body: bytes, *headers: str) -> bytes:
    """One body part: its Content-Type, any other header lines, a blank line and `body`."""
    head = "\n".join([f"Content-Type: {content_type}", *headers])
    return head.encode() + b"\n\n" + body


def with_multipart(parts: list[bytes], **kwargs: str) -> bytes:
    """A whole message whose body is a multipart of `parts`."""
    ctype, body = multipart(parts, **kwargs)
    return message(extra=[("Content-Type", ctype)], body=body)


# --- the pathologies ----------------------------------------------------------------------------

TNEF_DATA = b"\x78\x9f\x3e\x22" + b"\x01\x06\x90\x08\x00" + bytes(range(64))
OLE2_MSG_DATA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"__substg1.0_0037001F"
ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def uuencoded(name: str, data: bytes) -> bytes:
    """A uuencoded block ("begin 644 name" … "end") of `data`."""
    lines = [binascii.b2a_uu(data[i : i + 45]) for i in range(0, len(data), 45)]
    return b"begin 644 " + name.encode() + b"\n" + b"".join(lines) + b"`\nend\n"


def nested_rfc822(outer_text: str | None) -> bytes:
    """A message forwarding another as message/rfc822, with or without its own text."""
    inner = message(
        [
            ("From", "Phisher <security@kefu-support.example>"),
            ("To", "customer@example.com"),
            ("Subject", "Verify your wallet"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ],
        b"Your account is locked. Send your seed phrase to unlock.\n",
        newline=b"\n",
    )
    parts = [] if outer_text is None else [part("text/plain; charset=utf-8", outer_text.encode())]
    parts.append(part("message/rfc822", inner, "Content-Disposition: attachment"))
    return with_multipart(parts)


def deep_nesting(depth: int) -> bytes:
    """`depth` multiparts inside each other, a text part at the top and at the bottom."""
    inner = part("text/plain", b"the deepest text")
    for level in range(depth, 0, -1):
        ctype, body = multipart([inner], boundary=f"d{level}")
        inner = f"Content-Type: {ctype}\n\n".encode() + body
    return with_multipart([part("text/plain", b"top text"), inner], boundary="top")


def many_parts(count: int) -> bytes:
    """A multipart/mixed of `count` tiny attachments after one text part (built fast, in memory)."""
    boundary = b"--many"
    chunk = boundary + b"\nContent-Type: application/octet-stream\n\nx\n"
    body = boundary + b"\nContent-Type: text/plain\n\nfirst part text\n" + chunk * count + boundary + b"--\n"
    return message(extra=[("Content-Type", 'multipart/mixed; boundary="many"')], body=body)


def huge_base64(size: int) -> bytes:
    """A text part then a base64 attachment of about `size` encoded bytes (zeros encode fast)."""
    line = b"A" * 76 + b"\n"
    encoded = line * (size // len(line))
    boundary = b"--big"
    body = (
        boundary
        + b"\nContent-Type: text/plain\n\nsee attachment\n"
        + boundary
        + b'\nContent-Type: application/octet-stream; name="big.bin"\nContent-Transfer-Encoding: base64\n\n'
        + encoded
        + boundary
        + b"--\n"
    )
    return message(extra=[("Content-Type", 'multipart/mixed; boundary="big"')], body=body, newline=b"\n")


def many_received(count: int) -> bytes:
    """`count` Received lines (as real relays prepend them) before the ordinary headers."""
    received = [
        (
            "Received",
            f"from relay{i}.example.net (relay{i}.example.net [192.0.2.{i % 250}]) by mx.example.net",
        )
        for i in range(count)
    ]
    return message([*received, *BASE_HEADERS], b"body after many hops\n")


def typical_with_attachment() -> bytes:
    """A ~30 KB everyday message: plain + HTML alternative and a ~20 KB PDF-ish attachment."""
    text = "Hello support,\n\nMy deposit of 0.5 BTC has not arrived after 6 confirmations.\n" * 40
    html = "<html><body>" + "<p>Hello support,</p><p>My deposit of <b>0.5 BTC</b> has not arrived.</p>" * 40
    alternative = multipart(
        [
            part("text/plain; charset=utf-8", text.encode(), "Content-Transfer-Encoding: 8bit"),
            part(
                "text/html; charset=utf-8",
                b64_lines((html + "</body></html>").encode()),
                "Content-Transfer-Encoding: base64",
            ),
        ],
        boundary="alt",
        subtype="alternative",
    )
    alternative_part = f"Content-Type: {alternative[0]}\n\n".encode() + alternative[1]
    attachment = part(
        'application/pdf; name="statement.pdf"',
        b64_lines(b"%PDF-1.4\n" + bytes(range(256)) * 60),
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="statement.pdf"',
    )
    return with_multipart([alternative_part, attachment], boundary="mixed")


def hostile_html() -> bytes:
    """HTML-only mail with script, event handlers, javascript: links, remote and inline images."""
    html = (
        "<html><head><title>t</title><style>body{background:url(https://track.example/bg.png)}</style>"
        "<script>steal(document.cookie)</script></head>"
        '<body onload="steal()"><p onclick="steal()">Dear customer, please <b>verify</b> your account.</p>'
        '<a href="https://evil.example/login">https://kefu.test/login</a> '
        '<a href="javascript:steal()">click</a>'
        '<img src="https://track.example/pixel.gif" width="1" height="1">'
        '<img src="cid:logo@kefu" alt="logo"><img src="data:image/png;base64,AAAA">'
        '<svg><script>steal()</script></svg><iframe src="https://evil.example"></iframe>'
        '<form action="https://evil.example"><input name=seed></form></body></html>'
    )
    return with_multipart(
        [
            part("text/html; charset=utf-8", html.encode()),
            part(
                "image/png",
                b64_lines(ONE_PIXEL_PNG),
                "Content-Transfer-Encoding: base64",
                "Content-ID: <logo@kefu>",
            ),
        ],
        subtype="related",
    )


def seeds() -> dict[str, bytes]:
    """Small samples of each pathology, as seeds for fuzzing by mutation."""
    builders: dict[str, Callable[[], bytes]] = {
        "gb2312_gbk": lambda: text_part("镕基金提现", "gbk", "gb2312"),
        "big5": lambda: text_part("繁體中文㗎", "big5hkscs", "big5"),
        "iso2022jp": lambda: text_part("日本語のテキスト", "iso2022_jp", "iso-2022-jp", cte="7bit"),
        "utf7": lambda: message(extra=[("Content-Type", "text/plain; charset=utf-7")], body=b"Hi +ZeVnLIqe-"),
        "nested": lambda: nested_rfc822(None),
        "deep": lambda: deep_nesting(8),
        "parts": lambda: many_parts(8),
        "uuencode": lambda: message(body=b"see file\n" + uuencoded("a.txt", b"hello world\n")),
        "html": hostile_html,
        "received": lambda: many_received(5),
        "typical": typical_with_attachment,
    }
    out = {name: build() for name, build in builders.items()}
    out.update({name: fixture(name) for name in fixture_names()})
    return out
