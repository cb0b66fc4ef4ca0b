"""MIME structure and transfer encodings as mailers break them: boundaries, CTEs, uuencode, TNEF,
Outlook .msg, nested messages and attachment names.
"""

from __future__ import annotations

import base64

import pytest

from kefu.mail.inbound.limits import Problem
from kefu.mail.inbound.parse import parse_email
from kefu.mail.inbound.transfer import decode_base64
from tests.mail.inbound.samples import (
    OLE2_MSG_DATA,
    ONE_PIXEL_PNG,
    TNEF_DATA,
    b64_lines,
    message,
    nested_rfc822,
    part,
    uuencoded,
    with_multipart,
)


def test_missing_boundary_parameter_is_guessed() -> None:
    body = b"--xyz\nContent-Type: text/plain\n\nfirst\n--xyz\nContent-Type: text/plain\n\nsecond\n--xyz--\n"
    parsed = parse_email(message(extra=[("Content-Type", "multipart/mixed")], body=body))
    assert parsed.text == "first\n\nsecond"
    assert Problem.MISSING_BOUNDARY in parsed.problems


def test_mismatched_boundary_is_guessed() -> None:
    body = b"--real\nContent-Type: text/plain\n\nhello\n--real--\n"
    parsed = parse_email(message(extra=[("Content-Type", 'multipart/mixed; boundary="declared"')], body=body))
    assert parsed.text == "hello"
    assert Problem.BOUNDARY_NOT_FOUND in parsed.problems


def test_multipart_without_any_delimiter_is_read_as_text() -> None:
    raw = message(extra=[("Content-Type", 'multipart/mixed; boundary="nope"')], body=b"just text here\n")
    parsed = parse_email(raw)
    assert parsed.text == "just text here"
    assert Problem.BOUNDARY_NOT_FOUND in parsed.problems


def test_reused_boundary_keeps_all_text() -> None:
    inner = (
        b'Content-Type: multipart/alternative; boundary="same"\n\n'
        b"--same\nContent-Type: text/plain\n\ninner\n--same--"
    )
    body = (
        b"--same\nContent-Type: text/plain\n\nouter\n--same\n"
        + inner
        + b"\n--same\nContent-Type: text/plain\n\nlast\n--same--\n"
    )
    parsed = parse_email(message(extra=[("Content-Type", 'multipart/mixed; boundary="same"')], body=body))
    assert "outer" in parsed.text
    assert "inner" in parsed.text
    assert Problem.BOUNDARY_NOT_FOUND in parsed.problems or Problem.REUSED_BOUNDARY in parsed.problems


def test_missing_closing_boundary_keeps_the_last_part() -> None:
    body = (
        b"--b\nContent-Type: text/plain\n\nfirst\n--b\nContent-Type: text/plain\n\nunterminated last part\n"
    )
    parsed = parse_email(message(extra=[("Content-Type", "multipart/mixed; boundary=b")], body=body))
    assert parsed.text == "first\n\nunterminated last part"
    assert Problem.MISSING_CLOSING_BOUNDARY in parsed.problems


def test_boundary_prefix_lines_are_not_delimiters() -> None:
    body = b"--b\nContent-Type: text/plain\n\nkeep --bx this\n--bxyz not a delimiter\n--b--\n"
    parsed = parse_email(message(extra=[("Content-Type", "multipart/mixed; boundary=b")], body=body))
    assert parsed.text == "keep --bx this\n--bxyz not a delimiter"


def test_delimiter_with_trailing_whitespace_and_epilogue() -> None:
    body = b"--b  \nContent-Type: text/plain\n\nx\n--b--\t\nepilogue text is ignored\n"
    parsed = parse_email(message(extra=[("Content-Type", "multipart/mixed; boundary=b")], body=body))
    assert parsed.text == "x"


def test_alternative_prefers_plain_and_keeps_html() -> None:
    raw = with_multipart(
        [
            part("text/plain; charset=utf-8", b"plain version"),
            part("text/html", b"<p>html <b>version</b></p>"),
        ],
        subtype="alternative",
    )
    parsed = parse_email(raw)
    assert parsed.text == "plain version"
    assert parsed.html == "<p>html <b>version</b></p>"


def test_alternative_with_empty_plain_uses_html() -> None:
    raw = with_multipart(
        [part("text/plain", b"  \n"), part("text/html", b"<p>only html</p>")], subtype="alternative"
    )
    assert parse_email(raw).text == "only html"


def test_mixed_text_parts_are_joined_in_order() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"one"),
            part("image/png", b64_lines(ONE_PIXEL_PNG), "Content-Transfer-Encoding: base64"),
            part("text/plain", b"two"),
        ]
    )
    parsed = parse_email(raw)
    assert parsed.text == "one\n\ntwo"
    assert [a.content_type for a in parsed.attachments] == ["image/png"]
    assert parsed.attachments[0].data == ONE_PIXEL_PNG


def test_calendar_alternative_becomes_an_attachment() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"invite"),
            part("text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\nEND:VCALENDAR"),
        ],
        subtype="alternative",
    )
    parsed = parse_email(raw)
    assert parsed.text == "invite"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("attachment-1.ics", "text/calendar")
    ]


def test_unknown_transfer_encoding_is_read_as_is() -> None:
    raw = message(extra=[("Content-Transfer-Encoding", "x-gzip64")], body=b"readable anyway")
    parsed = parse_email(raw)
    assert parsed.text == "readable anyway"
    assert Problem.UNKNOWN_TRANSFER_ENCODING in parsed.problems


def test_sloppy_base64_spelling_is_decoded() -> None:
    raw = message(extra=[("Content-Transfer-Encoding", "Base-64")], body=base64.b64encode(b"decoded"))
    parsed = parse_email(raw)
    assert parsed.text == "decoded"
    assert Problem.UNKNOWN_TRANSFER_ENCODING in parsed.problems


def test_wrong_transfer_encoding_plain_text_labelled_base64() -> None:
    raw = message(extra=[("Content-Transfer-Encoding", "base64")], body=b"Hello, this is not base64 at all!")
    parsed = parse_email(raw)
    assert parsed.text == "Hello, this is not base64 at all!"
    assert Problem.WRONG_TRANSFER_ENCODING in parsed.problems


def test_base64_with_stray_characters() -> None:
    encoded = base64.b64encode("提现没有到账，请帮忙".encode())
    body = encoded[:8] + b"*" + encoded[8:16] + b"\x00" + encoded[16:]
    raw = message(
        extra=[("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")],
        body=body,
    )
    parsed = parse_email(raw)
    assert parsed.text == "提现没有到账，请帮忙"
    assert Problem.BAD_BASE64 in parsed.problems


def test_truncated_base64_keeps_what_decodes() -> None:
    encoded = base64.b64encode(b"The quick brown fox jumps")[:-3]
    raw = message(extra=[("Content-Transfer-Encoding", "base64")], body=encoded)
    parsed = parse_email(raw)
    assert parsed.text.startswith("The quick brown fox ju")
    assert Problem.TRUNCATED_BASE64 in parsed.problems


def test_base64_concatenated_chunks_with_inner_padding() -> None:
    data, problems = decode_base64(base64.b64encode(b"ab") + b"\n" + base64.b64encode(b"cd"))
    assert data == b"abcd"
    assert problems == []


def test_bad_quoted_printable_is_kept_literally() -> None:
    body = b"caf=C3=A9 =ZZ soft=\nbreak and =E4=BD"
    raw = message(
        extra=[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Transfer-Encoding", "quoted-printable"),
        ],
        body=body,
    )
    parsed = parse_email(raw)
    assert parsed.text.startswith("café =ZZ softbreak and")
    assert Problem.BAD_QUOTED_PRINTABLE in parsed.problems


def test_uuencoded_file_in_a_text_body() -> None:
    payload = bytes(range(256)) * 3
    raw = message(
        body=b"Please see the file.\n\n" + uuencoded("../../etc/report.bin", payload) + b"\nThanks\n"
    )
    parsed = parse_email(raw)
    assert parsed.text.startswith("Please see the file.\n")
    assert parsed.text.endswith("\nThanks")
    assert "begin" not in parsed.text
    assert [(a.filename, a.data) for a in parsed.attachments] == [("report.bin", payload)]
    assert Problem.UUENCODE in parsed.problems


def test_uuencode_transfer_encoding() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"body"),
            part(
                'application/octet-stream; name="x.bin"',
                uuencoded("x.bin", b"\x00\x01binary"),
                "Content-Transfer-Encoding: x-uuencode",
            ),
        ]
    )
    parsed = parse_email(raw)
    assert [(a.filename, a.data) for a in parsed.attachments] == [("x.bin", b"\x00\x01binary")]


def test_tnef_winmail_dat_is_kept_undecoded() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"see attached"),
            part(
                'application/ms-tnef; name="winmail.dat"',
                b64_lines(TNEF_DATA),
                "Content-Transfer-Encoding: base64",
                'Content-Disposition: attachment; filename="winmail.dat"',
            ),
        ]
    )
    parsed = parse_email(raw)
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("winmail.dat", "application/ms-tnef", TNEF_DATA)
    ]
    assert Problem.TNEF in parsed.problems


def test_forwarded_outlook_msg_is_kept_as_an_attachment() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"forwarding the phishing mail"),
            part(
                'application/vnd.ms-outlook; name="=?utf-8?B?6ZKT6bG8Lm1zZw==?="',
                b64_lines(OLE2_MSG_DATA),
                "Content-Transfer-Encoding: base64",
            ),
        ]
    )
    parsed = parse_email(raw)
    assert parsed.text == "forwarding the phishing mail"
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("钓鱼.msg", "application/vnd.ms-outlook", OLE2_MSG_DATA)
    ]


def test_nested_message_is_an_attachment_and_outer_text_wins() -> None:
    parsed = parse_email(nested_rfc822("Is this email from you?"))
    assert parsed.text == "Is this email from you?"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("Verify your wallet.eml", "message/rfc822")
    ]
    assert b"Send your seed phrase" in parsed.attachments[0].data


def test_nested_message_text_is_used_when_outer_has_none() -> None:
    parsed = parse_email(nested_rfc822(None))
    assert parsed.text == "Your account is locked. Send your seed phrase to unlock."
    assert parsed.from_address == "customer@example.com"  # the outer sender, never the nested one


def test_base64_encoded_nested_message() -> None:
    inner = (
        b"From: x@example.com\r\nSubject: inner\r\nContent-Type: text/html\r\n\r\n<p>inner <b>html</b></p>"
    )
    raw = with_multipart([part("message/rfc822", b64_lines(inner), "Content-Transfer-Encoding: base64")])
    parsed = parse_email(raw)
    assert parsed.text == "inner html"
    assert parsed.attachments[0].filename == "inner.eml"


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ("attachment; filename*=UTF-8''%E6%8F%90%E7%8E%B0%E6%88%AA%E5%9B%BE.png", "提现截图.png"),
        ("attachment; filename*0*=gb2312''%CC%E1%CF%D6; filename*1=.png", "提现.png"),
        ('attachment; filename="=?utf-8?B?5oiq5Zu+LnBuZw==?="', "截图.png"),
        ('attachment; filename="C:\\\\Users\\\\me\\\\evil\u202egnp.exe"', "evilgnp.exe"),
        ('attachment; filename="a;b.png"; filename="second.png"', "a;b.png"),
        ('attachment; filename="\x00"', "attachment-1.png"),
        ("attachment", "attachment-1.png"),
        ('attachment; filename="..."', "attachment-1.png"),
        ('attachment; filename="file"', "file"),
    ],
)
def test_attachment_names_are_sanitised(disposition: str, expected: str) -> None:
    raw = with_multipart(
        [
            part("text/plain", b"x"),
            part(
                "image/png",
                b64_lines(ONE_PIXEL_PNG),
                "Content-Transfer-Encoding: base64",
                f"Content-Disposition: {disposition}",
            ),
        ]
    )
    attachment = parse_email(raw).attachments[0]
    assert attachment.filename == expected
    assert "/" not in attachment.filename
    assert "\\" not in attachment.filename


def test_inline_image_with_content_id() -> None:
    raw = with_multipart(
        [
            part("text/html", b'<p>logo <img src="cid:logo@x"></p>'),
            part(
                "image/png",
                b64_lines(ONE_PIXEL_PNG),
                "Content-Transfer-Encoding: base64",
                "Content-ID: <logo@x>",
            ),
        ],
        subtype="related",
    )
    parsed = parse_email(raw)
    attachment = parsed.attachments[0]
    assert (attachment.inline, attachment.content_id, attachment.filename) == (
        True,
        "logo@x",
        "attachment-1.png",
    )
    assert parsed.html == '<p>logo <img src="cid:logo@x"></p>'


def test_text_part_with_a_filename_is_an_attachment() -> None:
    raw = with_multipart(
        [
            part("text/plain", b"body"),
            part('text/plain; name="log.txt"', b"log line", "Content-Disposition: inline"),
        ]
    )
    parsed = parse_email(raw)
    assert parsed.text == "body"
    assert [(a.filename, a.data, a.inline) for a in parsed.attachments] == [("log.txt", b"log line", True)]


def test_bad_content_type_is_read_as_text() -> None:
    parsed = parse_email(message(extra=[("Content-Type", "garbage; charset=utf-8")], body="文本".encode()))
    assert parsed.text == "文本"
    assert Problem.BAD_CONTENT_TYPE in parsed.problems


def test_format_flowed_is_unflowed() -> None:
    body = b"This is a long line that \nwas wrapped by the client.\n> quoted soft \n> wrapped\n-- \nsig"
    raw = message(extra=[("Content-Type", "text/plain; charset=utf-8; format=flowed")], body=body)
    assert parse_email(raw).text == (
        "This is a long line that was wrapped by the client.\n> quoted soft wrapped\n-- \nsig"
    )


def test_empty_attachments_are_dropped() -> None:
    raw = with_multipart([part("text/plain", b"x"), part("application/pdf", b"")])
    assert parse_email(raw).attachments == ()
