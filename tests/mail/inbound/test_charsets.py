"""Mislabelled and exotic charsets, in bodies and in RFC 2047 headers, decode to the right text."""

from __future__ import annotations

import base64

import pytest

from kefu.mail.inbound.charsets import codec_for, decode_bytes, scrub_text
from kefu.mail.inbound.encoded_words import decode_words, header_bytes_to_str
from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.parse import parse_email
from tests.mail.inbound.samples import encoded_word, message, text_part


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ('"GB2312"', "gb18030"),
        ("big5", "big5hkscs"),
        ("iso-2022-jp", "iso2022_jp"),
        ("utf-7", "utf-7"),
        ("UTF8", "utf-8"),
        ("shift_jis", "cp932"),
        ("ks_c_5601-1987", "cp949"),
        ("iso-8859-1", "cp1252"),
        ("windows-874", "cp874"),
        ("koi8-r", "koi8-r"),
    ],
)
def test_labels_map_to_superset_codecs(label: str, codec: str) -> None:
    assert codec_for(label) == codec


@pytest.mark.parametrize(
    "label",
    [
        None,
        "",
        "unknown-8bit",
        "x-nonsense",
        "punycode",
        "unicode_escape",
        "idna",
        "rot13",
        "base64",
        "a" * 90,
    ],
)
def test_unknown_and_non_text_codecs_are_refused(label: str | None) -> None:
    # "punycode" and friends are Python codecs, not mail charsets (and punycode is quadratic).
    assert codec_for(label) is None


def test_gb2312_label_on_gbk_and_gb18030_text() -> None:
    # 镕 is GBK-only, 𠀀 needs GB18030's four-byte form; both are sent as "gb2312" in practice.
    parsed = parse_email(text_part("朱镕基 𠀀 提现到账", "gb18030", "gb2312"))
    assert parsed.text == "朱镕基 𠀀 提现到账"
    assert parsed.problems == ()


def test_big5_label_on_hkscs_text() -> None:
    parsed = parse_email(text_part("繁體中文㗎，提款未到帳", "big5hkscs", "big5"))
    assert parsed.text == "繁體中文㗎，提款未到帳"
    assert parsed.problems == ()


def test_iso_2022_jp_body_and_subject() -> None:
    raw = message(
        [
            ("From", "a@example.jp"),
            ("Subject", encoded_word("出金について", "iso2022_jp", "ISO-2022-JP")),
            ("Content-Type", "text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        "日本語のテキストです".encode("iso2022_jp"),
    )
    parsed = parse_email(raw)
    assert parsed.subject == "出金について"
    assert parsed.text == "日本語のテキストです"


def test_iso_2022_jp_label_on_jis_x_0213_text_uses_a_relative() -> None:
    # ① is not in ISO-2022-JP proper; Japanese clients still label it so.
    text, problems = decode_bytes("丸数字①".encode("iso2022_jp_2004"), "iso-2022-jp")
    assert text == "丸数字①"
    assert problems == []


def test_utf7_body() -> None:
    parsed = parse_email(
        message(extra=[("Content-Type", "text/plain; charset=utf-7")], body=b"Hi +ZeVnLIqe-")
    )
    assert parsed.text == "Hi 日本語"


def test_utf7_lone_surrogate_is_replaced() -> None:
    text, _ = decode_bytes(b"a+2AA-b", "utf-7")
    cleaned, _ = scrub_text(text)
    assert cleaned == "a\ufffdb"


def test_latin1_label_on_utf8_text_is_recognised() -> None:
    text, problems = decode_bytes("提现 café".encode(), "iso-8859-1")
    assert text == "提现 café"
    assert problems == [Problem.MISLABELED_CHARSET]


def test_undeclared_8bit_gbk_body_falls_back_to_gb18030() -> None:
    raw = message(body="您好，提现没有到账".encode("gbk"))
    parsed = parse_email(raw)
    assert parsed.text == "您好，提现没有到账"
    assert Problem.MISSING_CHARSET in parsed.problems


def test_ascii_label_on_utf8_text_is_a_mislabel() -> None:
    parsed = parse_email(text_part("提现没有到账", "utf-8", "us-ascii"))
    assert parsed.text == "提现没有到账"
    assert Problem.MISLABELED_CHARSET in parsed.problems


def test_shift_jis_label_on_utf8_text_is_a_mislabel() -> None:
    # UTF-8 bytes also decode as (garbled) CP932; valid UTF-8 wins.
    parsed = parse_email(text_part("提现没有到账", "utf-8", "shift_jis"))
    assert parsed.text == "提现没有到账"
    assert Problem.MISLABELED_CHARSET in parsed.problems


def test_big5_text_labelled_gb2312_is_not_valid_gb18030_and_falls_back() -> None:
    text, problems = decode_bytes("繁體".encode("big5") + b"\x80", "gb2312")
    assert Problem.BAD_CHARSET in problems
    assert text


def test_unknown_declared_charset_falls_back_to_utf8() -> None:
    parsed = parse_email(text_part("提现没有到账", "utf-8", "x-klingon"))
    assert parsed.text == "提现没有到账"
    assert Problem.BAD_CHARSET in parsed.problems


def test_undecodable_bytes_end_as_latin1_never_an_error() -> None:
    text, problems = decode_bytes(b"\xff\xfe\x80\x81 ok", None)
    assert text.endswith(" ok")
    assert problems == [Problem.MISSING_CHARSET]


def test_a_few_corrupt_bytes_keep_the_declared_reading() -> None:
    data = "这是一段很长的中文文本，用来测试。".encode("gb18030") * 20 + b"\xff"
    text, problems = decode_bytes(data, "gb2312")
    assert text.startswith("这是一段很长的中文文本")
    assert text.endswith("\ufffd")
    assert problems == [Problem.BAD_CHARSET]


def test_encoded_words_join_bytes_split_across_words() -> None:
    data = "你好".encode()
    first = base64.b64encode(data[:2]).decode()
    second = base64.b64encode(data[2:]).decode()
    text, problems = decode_words(f"=?utf-8?B?{first}?= =?UTF-8?B?{second}?= world")
    assert text == "你好 world"
    assert problems == []


def test_encoded_word_with_gb2312_label_and_gbk_char() -> None:
    text, _ = decode_words(encoded_word("朱镕基", "gbk", "gb2312"))
    assert text == "朱镕基"


def test_encoded_word_with_unknown_charset() -> None:
    parsed = parse_email(
        message(extra=[], headers=[("From", "a@example.com"), ("Subject", "=?x-bogus?B?5L2g5aW9?=")])
    )
    assert parsed.subject == "你好"
    assert Problem.BAD_CHARSET in parsed.problems


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("=?utf-8?B?5L2g5aW9!!!?=", "你好"),  # stray characters
        ("=?utf-8?B?5L2g5aW?=", "你"),  # truncated, no padding
        ("=?utf-8?Q?caf=C3=A9_=ZZ?=", "café =ZZ"),  # bad Q escape kept literally
    ],
)
def test_broken_encoded_words(subject: str, expected: str) -> None:
    parsed = parse_email(message(headers=[("From", "a@example.com"), ("Subject", subject)]))
    assert parsed.subject.startswith(expected)
    assert Problem.BAD_ENCODED_WORD in parsed.problems


def test_raw_utf8_header_bytes() -> None:
    parsed = parse_email(
        message(headers=[("From", "张三 <z@example.cn>".encode()), ("Subject", "提现".encode())])
    )
    assert (parsed.from_name, parsed.subject) == ("张三", "提现")
    assert Problem.RAW_8BIT_HEADER not in parsed.problems


def test_raw_gbk_header_bytes_use_the_body_charset() -> None:
    raw = message(
        [
            ("From", "张三".encode("gbk") + b" <z@example.cn>"),
            ("Subject", "提现未到账".encode("gbk")),
            ("Content-Type", "text/plain; charset=gbk"),
        ],
        "正文".encode("gbk"),
    )
    parsed = parse_email(raw)
    assert (parsed.from_name, parsed.subject, parsed.text) == ("张三", "提现未到账", "正文")
    assert Problem.RAW_8BIT_HEADER in parsed.problems


def test_raw_big5_header_bytes_with_big5_body_hint() -> None:
    text, problems = header_bytes_to_str("繁體主旨".encode("big5"), "big5hkscs")
    assert text == "繁體主旨"
    assert problems == [Problem.RAW_8BIT_HEADER]


def test_html_meta_charset_is_used_when_mime_has_none() -> None:
    html = '<html><head><meta charset="gbk"></head><body><p>中文内容</p></body></html>'.encode("gbk")
    parsed = parse_email(message(extra=[("Content-Type", "text/html")], body=html))
    assert parsed.text == "中文内容"
