"""Addresses, subjects, dates and ids from hostile headers: strict where identity is at stake."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from kefu.mail.inbound.addresses import normalize_addr_spec, parse_address_list
from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.parse import parse_email
from tests.mail.inbound.samples import BASE_HEADERS, encoded_word, many_received, message


def with_from(*values: str | bytes, extra: list[tuple[str, str | bytes]] | None = None) -> bytes:
    headers: list[tuple[str, str | bytes]] = [("From", value) for value in values]
    return message([*headers, ("Subject", "s"), *(extra or [])], b"body\n")


@pytest.mark.parametrize(
    ("value", "address", "name"),
    [
        ("Li Wei <Li.Wei@Example.COM>", "li.wei@example.com", "Li Wei"),
        ('"Doe, John" <john@example.com>', "john@example.com", "Doe, John"),
        ("john@example.com (John Doe)", "john@example.com", "John Doe"),
        ("<john@example.com>", "john@example.com", ""),
        ('"bob@example.org" <alice@example.org>', "alice@example.org", "bob@example.org"),
        (
            "=?utf-8?q?evil=40x.com_=3Cv=40y.com=3E?= <real@example.com>",
            "real@example.com",
            "evil@x.com <v@y.com>",
        ),
        ("用户 <user@例子.中国>", "user@xn--fsqu00a.xn--fiqs8s", "用户"),
        ("José <jose@bücher.example>", "jose@xn--bcher-kva.example", "José"),
        ("<@relay.example:old@example.com>", "old@example.com", ""),
        (encoded_word("张三", "gbk", "gb2312") + " <z@example.cn>", "z@example.cn", "张三"),
    ],
)
def test_from_addresses(value: str, address: str, name: str) -> None:
    parsed = parse_email(with_from(value))
    assert (parsed.from_address, parsed.from_name) == (address, name)
    assert not {Problem.AMBIGUOUS_FROM, Problem.MULTIPLE_FROM} & set(parsed.problems)


@pytest.mark.parametrize(
    "value",
    [
        '"a@b.com"@evil.com',  # quoted local part holding an address (CVE style)
        '"a@b.com"@evil.com <x@y.com>',
        "alice@example.org)<bob@example.org>",  # CVE-2023-27043's own example
        "alice@example.org <bob@example.org>",  # bare phrase holding "@"
        "Alice <alice@example.org> <bob@example.org>",  # two angle addresses
        "a@b@example.com",
    ],
)
def test_ambiguous_from_is_refused(value: str) -> None:
    parsed = parse_email(with_from(value))
    assert parsed.from_address is None
    assert Problem.AMBIGUOUS_FROM in parsed.problems
    assert parsed.needs_review


def test_multiple_from_headers_are_refused() -> None:
    parsed = parse_email(with_from("a@example.com", "b@example.com"))
    assert parsed.from_address is None
    assert Problem.MULTIPLE_FROM in parsed.problems


def test_from_with_two_mailboxes_is_refused() -> None:
    parsed = parse_email(with_from("a@example.com, b@example.com"))
    assert parsed.from_address is None
    assert Problem.MULTIPLE_FROM in parsed.problems


def test_missing_from() -> None:
    parsed = parse_email(message([("Subject", "hi")], b"text\n"))
    assert parsed.from_address is None
    assert Problem.MISSING_FROM in parsed.problems
    assert parsed.needs_review


def test_wholly_encoded_from_is_accepted_but_flagged() -> None:
    parsed = parse_email(with_from(encoded_word("Zhang <zhang@example.cn>", "utf-8")))
    assert parsed.from_address == "zhang@example.cn"
    assert Problem.ENCODED_ADDRESS in parsed.problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            'Friends: a@example.com, "x, y" <b@example.com>;, c@example.com',
            ("a@example.com", "b@example.com", "c@example.com"),
        ),
        ("undisclosed-recipients:;", ()),
        ("A <a@example.com>, broken@, b@example.com", ("a@example.com", "b@example.com")),
        ("a@example.com, A@EXAMPLE.com", ("a@example.com",)),
        ("user@[127.0.0.1], local@localhost", ()),
    ],
)
def test_recipient_lists(value: str, expected: tuple[str, ...]) -> None:
    parsed = parse_email(message([("From", "a@example.com"), ("To", value)], b"x\n"))
    assert parsed.to == expected


def test_reply_to_and_cc() -> None:
    raw = message(
        [("From", "a@example.com"), ("Reply-To", "Other <Other@Example.com>"), ("Cc", "c@example.com")], b"x"
    )
    parsed = parse_email(raw)
    assert (parsed.reply_to, parsed.cc) == ("other@example.com", ("c@example.com",))


def test_address_list_parsing_is_linear() -> None:
    # The stdlib header registry needs ~15 s for this; the parser caps and scans once.
    started = time.perf_counter()
    mailboxes, problems = parse_address_list("," * 50_000 + "(" * 5000 + '"' * 3)
    assert time.perf_counter() - started < 0.5
    assert mailboxes == []
    assert Problem.BAD_ADDRESS in problems


@pytest.mark.parametrize(
    "spec", ['"a b"@example.com', "a..b@example.com", "a@example", "a@-bad-.com", "", "a@b.c\x00m"]
)
def test_refused_addr_specs(spec: str) -> None:
    assert normalize_addr_spec(spec)[0] is None


def test_subject_decoded_one_line_without_controls_and_capped() -> None:
    raw = message(
        [("From", "a@example.com"), ("Subject", "=?utf-8?B?5o+Q546w?=\t\u202eevil\x1b[31m " + "x" * 500)],
        b".",
    )
    subject = parse_email(raw).subject
    assert subject.startswith("提现 evil [31m x")
    assert len(subject) == 300
    assert subject.endswith("…")
    assert all(ord(char) >= 32 and char != "\u202e" for char in subject)


def test_folded_subject_is_unfolded() -> None:
    raw = b"From: a@example.com\r\nSubject: part one\r\n  part two\r\n\r\nbody"
    assert parse_email(raw).subject == "part one part two"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 02 Jan 2024 17:15:20 +0800", datetime(2024, 1, 2, 9, 15, 20, tzinfo=UTC)),
        ("2 Jan 2024 10:00:07 -0000", datetime(2024, 1, 2, 10, 0, 7, tzinfo=UTC)),
        ("Tue, 2 Jan 2024 10:00:00 GMT", datetime(2024, 1, 2, 10, 0, tzinfo=UTC)),
    ],
)
def test_dates_are_utc(value: str, expected: datetime) -> None:
    assert parse_email(message([("From", "a@example.com"), ("Date", value)], b".")).date == expected


@pytest.mark.parametrize(
    "value", ["yesterday", "Tue, 99 Foo 2024 99:99:99 +9999", "", "Mon, 1 Jan 99999999999 00:00"]
)
def test_bad_dates(value: str) -> None:
    parsed = parse_email(message([("From", "a@example.com"), ("Date", value)], b"."))
    assert parsed.date is None
    assert Problem.BAD_DATE in parsed.problems


def test_message_ids_are_normalised() -> None:
    raw = message(
        [
            ("From", "a@example.com"),
            ("Message-ID", "  <abc@example.com> (comment)"),
            ("In-Reply-To", "<KF-1.2@kefu.test> garbage"),
            ("References", "<r1@x> <r2@x>\r\n <r3@x> <r1@x>"),
        ],
        b".",
    )
    parsed = parse_email(raw)
    assert parsed.message_id == "<abc@example.com>"
    assert parsed.in_reply_to == ("<KF-1.2@kefu.test>",)
    assert parsed.references == ("<r1@x>", "<r2@x>", "<r3@x>")


def test_bare_message_id_is_wrapped_and_junk_refused() -> None:
    assert parse_email(message([("Message-ID", "abc@example.com")], b".")).message_id == "<abc@example.com>"
    parsed = parse_email(message([("Message-ID", "not an id")], b"."))
    assert parsed.message_id is None
    assert Problem.BAD_MESSAGE_ID in parsed.problems


def test_long_references_keep_root_and_latest() -> None:
    references = " ".join(f"<r{i}@x>" for i in range(200))
    parsed = parse_email(message([("References", references)], b"."))
    assert len(parsed.references) == 50
    assert parsed.references[0] == "<r0@x>"
    assert parsed.references[-1] == "<r199@x>"


def test_5000_received_lines() -> None:
    started = time.perf_counter()
    parsed = parse_email(many_received(5000))
    assert time.perf_counter() - started < 1
    assert parsed.headers["Received-Count"] == "5000"
    assert (parsed.from_address, parsed.subject, parsed.text) == (
        "customer@example.com",
        "Help",
        "body after many hops",
    )
    assert parsed.problems == ()


def test_huge_header_section_stops_reading_headers_but_keeps_the_body() -> None:
    junk = [("X-Junk", "y" * 1000)] * 3000  # 3 MB of headers, past the 2 MiB limit
    raw = message([("From", "a@example.com"), *junk, ("Subject", "late")], b"the body\n")
    parsed = parse_email(raw)
    assert parsed.from_address == "a@example.com"
    assert parsed.subject == ""  # after the limit
    assert parsed.text == "the body"
    assert Problem.HEADERS_TOO_LARGE in parsed.problems


def test_single_huge_header_is_cut() -> None:
    raw = message([("From", "a@example.com"), ("Subject", "s" * 200_000)], b"the body\n")
    parsed = parse_email(raw)
    assert len(parsed.subject) == 300
    assert parsed.text == "the body"
    assert Problem.HEADER_TOO_LONG in parsed.problems


def test_too_many_header_fields() -> None:
    raw = message([("From", "a@example.com"), *[("X-A", "b")] * 12_000], b"the body\n")
    parsed = parse_email(raw)
    assert parsed.from_address == "a@example.com"
    assert parsed.text == "the body"
    assert Problem.TOO_MANY_HEADERS in parsed.problems


def test_duplicated_header_flood_keeps_a_bounded_number() -> None:
    parsed = parse_email(message([*[("From", "a@example.com")] * 5000], b"x"))
    assert parsed.from_address is None
    assert Problem.MULTIPLE_FROM in parsed.problems


def test_missing_header_body_separator() -> None:
    parsed = parse_email(b"From: a@example.com\r\nSubject: hi\r\nThis line is the body.\r\nSecond line.\r\n")
    assert (parsed.from_address, parsed.subject) == ("a@example.com", "hi")
    assert parsed.text == "This line is the body.\nSecond line."
    assert Problem.MISSING_HEADER_SEPARATOR in parsed.problems


def test_headers_only_message() -> None:
    parsed = parse_email(b"From: a@example.com\r\nSubject: only headers")
    assert (parsed.subject, parsed.text) == ("only headers", "")
    assert parsed.needs_review


def test_no_headers_at_all() -> None:
    parsed = parse_email("just some text, 你好".encode())
    assert parsed.text == "just some text, 你好"
    assert Problem.MISSING_HEADER_SEPARATOR in parsed.problems


def test_mbox_from_line_and_continuation_first() -> None:
    parsed = parse_email(
        b"From a@example.com Mon Jan  1 00:00:00 2024\n continuation\nFrom: a@example.com\n\nx"
    )
    assert parsed.from_address == "a@example.com"
    assert Problem.BAD_HEADER_LINE in parsed.problems


def test_nul_bytes_are_removed_and_recorded() -> None:
    parsed = parse_email(message([("From", "a@example.com"), ("Subject", b"sub\x00ject")], b"te\x00xt"))
    assert (parsed.subject, parsed.text) == ("sub ject", "text")
    assert Problem.NUL_BYTES in parsed.problems


def test_bare_cr_line_endings() -> None:
    parsed = parse_email(b"From: a@example.com\rSubject: mac\r\rline one\rline two\r")
    assert (parsed.from_address, parsed.subject, parsed.text) == (
        "a@example.com",
        "mac",
        "line one\nline two",
    )
    assert Problem.BARE_CR in parsed.problems


def test_bare_lf_line_endings_are_normal() -> None:
    parsed = parse_email(message(body=b"line one\nline two\n", newline=b"\n"))
    assert parsed.text == "line one\nline two"
    assert parsed.problems == ()


def test_mixed_line_endings() -> None:
    raw = b"From: a@example.com\r\nSubject: mixed\nTo: b@example.com\r\n\nline one\r\nline two\nline three\r"
    parsed = parse_email(raw)
    assert parsed.to == ("b@example.com",)
    assert parsed.text == "line one\nline two\nline three"


def test_info_headers_are_small_and_clean() -> None:
    raw = message(
        [*BASE_HEADERS, ("X-Mailer", "Evil\x1b Mailer " + "z" * 1000), ("X-Originating-IP", "[192.0.2.1]")],
        b".",
    )
    headers = parse_email(raw).headers
    assert headers["X-Mailer"].startswith("Evil Mailer z")
    assert len(headers["X-Mailer"]) == 300
    assert headers["X-Originating-IP"] == "[192.0.2.1]"
    with pytest.raises(TypeError):
        headers["X-Mailer"] = "changed"  # type: ignore[index]
