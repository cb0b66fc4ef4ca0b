"""The raw bytes of every message are kept compressed and come back exactly."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.mail.inbound.raw import compress_raw, decompress_raw
from tests.mail.inbound.samples import fixture, typical_with_attachment


@given(st.binary(max_size=5000))
def test_round_trip(raw: bytes) -> None:
    assert decompress_raw(compress_raw(raw)) == raw


def test_mail_compresses() -> None:
    raw = fixture("gmail_reply_en.eml") * 20 + typical_with_attachment()
    blob = compress_raw(raw)
    assert blob.startswith(b"KFZ1")
    assert len(blob) < len(raw) / 2
    assert decompress_raw(blob) == raw


@pytest.mark.parametrize(
    "blob",
    [b"", b"nope", b"KFZ1", b"KFZ1not zlib at all", compress_raw(b"x" * 1000)[:-5]],
)
def test_bad_blobs_are_refused(blob: bytes) -> None:
    with pytest.raises(ValueError):
        decompress_raw(blob)


def test_decompression_is_capped() -> None:
    bomb = compress_raw(bytes(10_000_000))
    assert len(bomb) < 20_000
    with pytest.raises(ValueError, match="larger than allowed"):
        decompress_raw(bomb, max_bytes=1_000_000)
    assert len(decompress_raw(bomb, max_bytes=10_000_000)) == 10_000_000


def test_incompressible_data_round_trips() -> None:
    raw = os.urandom(100_000)
    assert decompress_raw(compress_raw(raw)) == raw
