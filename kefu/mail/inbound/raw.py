"""The original bytes of every inbound message, kept compressed beside the parsed one.

zlib (level 6) rather than lzma: mail is mostly base64 and text, where lzma saves a few percent more
but costs ~10× the CPU on the ingest path; zlib is in every Python and every database tool. A
4-byte tag names the format so a later change (zstd, lzma) can read old rows.
"""

from __future__ import annotations

import zlib
from typing import Final

_TAG: Final = b"KFZ1"
LEVEL: Final = 6
# Decompression stops here: stored rows are ours, but a corrupt or hostile one must not exhaust memory.
MAX_RAW_BYTES: Final = 256 * 1024 * 1024


def compress_raw(raw: bytes) -> bytes:
    """`raw` compressed with zlib behind the "KFZ1" format tag."""
    return _TAG + zlib.compress(raw, LEVEL)


def decompress_raw(blob: bytes, *, max_bytes: int = MAX_RAW_BYTES) -> bytes:
    """The bytes given to `compress_raw`; ValueError for an unknown tag, corrupt data or more than
    `max_bytes` of output.
    """
    if not blob.startswith(_TAG):
        raise ValueError("not a compressed raw message (unknown format tag)")
    decompressor = zlib.decompressobj()
    try:
        data = decompressor.decompress(blob[len(_TAG) :], max_bytes + 1)
    except zlib.error as exc:
        raise ValueError(f"corrupt compressed raw message: {exc}") from None
    if len(data) > max_bytes or decompressor.unconsumed_tail:
        raise ValueError("compressed raw message is larger than allowed")
    if not decompressor.eof:
        raise ValueError("compressed raw message is truncated")
    return data
