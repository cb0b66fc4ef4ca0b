"""Hypothesis fuzzing of parse_email: random bytes, mutated fixtures and generated MIME never raise,
stay within time and memory, and every field keeps its safety invariants.

The whole file runs in well under 30 s on one core (deadlines and example counts below).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from datetime import UTC, timedelta
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.parse import AutoKind, ParsedEmail, parse_email
from tests.mail.inbound.samples import seeds

SEEDS = list(seeds().values())
FUZZ = settings(
    max_examples=500,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Python-side allocation while parsing a fuzz input (nh3's Rust heap is capped by the subprocess test).
MAX_TRACED_BYTES = 32 * 1024 * 1024
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
_PROBLEMS = {str(problem) for problem in Problem}
ROOT = Path(__file__).parents[3]


def check(parsed: ParsedEmail) -> None:
    """The invariants every ParsedEmail keeps, whatever the input."""
    assert len(parsed.subject) <= 300
    assert not _CONTROL_RE.search(parsed.subject)
    assert len(parsed.from_name) <= 128
    assert not _CONTROL_RE.search(parsed.from_name)
    for address in (parsed.from_address, parsed.reply_to, *parsed.to, *parsed.cc):
        if address is not None:
            local, _, domain = address.rpartition("@")
            assert local
            assert "@" not in local
            assert domain.isascii()
            assert address == address.lower()
            assert len(address) <= 254
    assert parsed.date is None or parsed.date.tzinfo is UTC
    for message_id in (parsed.message_id, *parsed.in_reply_to, *parsed.references):
        assert message_id is None or re.fullmatch(r"<[!-;=?-~]+>", message_id)
    for text in (parsed.text, parsed.visible_text):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates
    if parsed.html is not None:
        check_html(parsed.html)
    for attachment in parsed.attachments:
        assert attachment.filename
        assert not re.search(r"[/\\\x00-\x1f]", attachment.filename)
        assert attachment.content_type == attachment.content_type.lower()
        assert attachment.data
    assert parsed.auto is None or isinstance(parsed.auto, AutoKind)
    assert set(parsed.problems) <= _PROBLEMS
    assert Problem.PARSER_ERROR not in parsed.problems
    assert len(parsed.headers) <= 20
    assert all(len(value) <= 300 for value in parsed.headers.values())


class _TagAudit(HTMLParser):
    """Collects what a browser would act on in sanitised HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in (
            "script",
            "style",
            "iframe",
            "object",
            "embed",
            "form",
            "input",
            "svg",
            "math",
            "link",
            "meta",
        ):
            self.bad.append(tag)
        for name, value in attrs:
            # As a browser reads a URL: tabs and line breaks inside it are dropped.
            lowered = re.sub(r"[\t\n\r]", "", value or "").strip().lower()
            if name.startswith("on") or name in ("style", "srcset", "formaction"):
                self.bad.append(f"{tag}[{name}]")
            elif name == "href" and not lowered.startswith(("http:", "https:", "mailto:", "cid:")):
                self.bad.append(f"href={lowered[:20]}")
            elif name == "src" and not (tag == "img" and lowered.startswith("cid:")):
                self.bad.append(f"src={lowered[:20]}")


def check_html(html: str) -> None:
    """No script, handler, style, form, frame or non-cid image source survives sanitising."""
    html.encode("utf-8")
    audit = _TagAudit()
    audit.feed(html)
    audit.close()
    assert audit.bad == [], audit.bad


def parse_within_memory(raw: bytes) -> ParsedEmail:
    tracemalloc.start()
    try:
        parsed = parse_email(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_TRACED_BYTES + 8 * len(raw)
    return parsed


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(raw: bytes) -> None:
    check(parse_within_memory(raw))


_OPERATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.sampled_from([0, 1, 2, 3, 4, 5])),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 200)),
    st.tuples(st.just("duplicate_header"), st.integers(0, 1 << 20), st.integers(1, 300)),
)
_INSERTS = [b"\x00", b"\r", b"\n--", b"=?utf-8?B?", b"\xff\xfe", b"\n\n"]


def mutate(data: bytes, operations: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for name, where, arg in operations:
        position = where % (len(out) + 1)
        if name == "flip" and out:
            out[position % len(out)] = arg
        elif name == "truncate":
            del out[position:]
        elif name == "insert":
            out[position:position] = _INSERTS[arg]
        elif name == "delete":
            del out[position : position + arg]
        elif name == "duplicate_header":
            head_end = out.find(b"\n\n") if b"\n\n" in out else out.find(b"\r\n\r\n")
            lines = bytes(out[: max(head_end, 0)]).split(b"\n")
            if lines and lines[0]:
                line = lines[position % len(lines)] + b"\n"
                out[0:0] = line * arg
    return bytes(out)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(_OPERATION, max_size=6))
def test_mutated_fixtures(seed: bytes, operations: list[tuple[str, int, int]]) -> None:
    check(parse_within_memory(mutate(seed, operations)))


_HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Auto-Submitted",
    "Precedence",
    "X-Junk",
]
_TOKENS = [
    "=?utf-8?B?",
    "=?gb2312?Q?",
    "?=",
    "<",
    ">",
    '"',
    "\\",
    "(",
    ")",
    ",",
    ";",
    ":",
    "@",
    "multipart/mixed",
    "boundary=",
    "b1",
    "--b1",
    "charset=",
    "big5",
    "utf-7",
    "base64",
    "quoted-printable",
    "filename*0*=",
    "\r\n",
    "\n",
    " ",
    "\t",
    "\x00",
    "提现",
    "\u202e",
]
_VALUES = st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=12)), max_size=12).map("".join)


@FUZZ
@given(
    st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), _VALUES), max_size=12),
    st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=40)), max_size=30).map("".join),
)
def test_generated_messages(headers: list[tuple[str, str]], body: str) -> None:
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n" + body
    check(parse_within_memory(raw.encode("utf-8", "surrogatepass")))


def test_bombs_and_mutations_under_an_address_space_cap() -> None:
    """1 GiB of address space for the interpreter, the 50 MB bomb and 300 mutated fixtures."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.mail.inbound.memory_probe", "1024", "7", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"
