"""Type sniffing decides from content only, against the allowlist."""

from __future__ import annotations

import pytest

from kefu.core.errors import UnsupportedMedia
from kefu.storage import sniff as sniffing
from kefu.storage.sniff import sniff
from tests.storage import samples


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.png(), sniffing.PNG),
        (samples.noise_jpeg(), sniffing.JPEG),
        (samples.animated_gif(), sniffing.GIF),
        (samples.webp("RGB"), sniffing.WEBP),
        (samples.pdf(), sniffing.PDF),
        (samples.iso_media(b"isom"), sniffing.MP4),
        (samples.iso_media(b"mp41"), sniffing.MP4),
        (samples.iso_media(b"mp42"), sniffing.MP4),
        (samples.iso_media(b"qt  "), sniffing.QUICKTIME),
        (b"withdrawal 0xabc stuck since 10:00\n", sniffing.TEXT),
        ("我的提现一直没有到账，订单号 123".encode(), sniffing.TEXT),
        ("我的提现一直没有到账".encode("gb18030"), sniffing.TEXT),
        ("\ufeffBOM first line\r\n".encode(), sniffing.TEXT),
        (b'{"order_id": 42}', sniffing.TEXT),
        (b"<2024-05-01 10:00> login failed\n", sniffing.TEXT),
        (b"\x1b[31mERROR\x1b[0m ansi coloured log\n", sniffing.TEXT),
        (b"a < b and c > d, see the <br> in that page\n", sniffing.TEXT),
    ],
)
def test_allowed_types(data: bytes, expected: sniffing.SniffedType) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<!DOCTYPE html><html><body>hi</body></html>", id="html"),
        pytest.param(b"  \n<html>" + samples.SCRIPT, id="html-after-whitespace"),
        pytest.param(b"\xef\xbb\xbf<script>alert(1)</script>", id="script-after-bom"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', id="svg"),
        pytest.param(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', id="svg-xml"),
        pytest.param(b"<?xml version='1.0'?><note>x</note>", id="xml"),
        pytest.param(b"<!-- comment --><p>hi</p>", id="html-comment"),
        pytest.param(b"Dear support,\n\n<img src=x onerror=alert(1)>\n", id="active-tag-in-text"),
        pytest.param(b"#!/bin/sh\nrm -rf /\n", id="shell-script"),
        pytest.param(b"<html><script>x</script></html>\n%PDF-1.4\n%%EOF\n", id="pdf-after-html"),
        pytest.param(samples.windows_exe(), id="exe"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, id="elf"),
        pytest.param(samples.zip_archive(), id="zip"),
        pytest.param(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 10, id="gzip"),
        pytest.param(samples.iso_media(b"heic"), id="heic"),
        pytest.param(samples.iso_media(b"M4A "), id="m4a"),
        pytest.param(samples.iso_media(b"3gp4"), id="3gp"),
        pytest.param("UTF-16 text".encode("utf-16"), id="utf16"),
        pytest.param(b"text with a NUL \x00 inside", id="nul"),
        pytest.param(b"bell \x07 and backspace \x08", id="control-chars"),
        pytest.param(b"\x80\xff\xfe binary", id="not-text"),
        pytest.param(b"BM" + b"\x00" * 60, id="bmp"),
        pytest.param(b"II*\x00" + b"\x00" * 60, id="tiff"),
    ],
)
def test_refused_types(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia):
        sniff(data)


def test_signature_must_be_at_offset_zero() -> None:
    with pytest.raises(UnsupportedMedia):
        sniff(b"\x00junk" + samples.png())
