"""Decode an uploaded raster image and re-encode only its pixels (no metadata, no smuggled bytes)."""

from __future__ import annotations

import io
import struct
import threading
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from kefu.core.errors import InvalidInput, TooLarge, UnsupportedMedia

# Pillow's name for each sniffed type; opening with only that decoder also verifies the sniff.
_PILLOW_FORMATS: dict[str, tuple[str, ...]] = {
    "image/png": ("PNG",),
    "image/jpeg": ("JPEG", "MPO"),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
}
# What Pillow raises on malformed input besides OSError (truncated data, bad chunks, bad tables).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error)
_PNG_MODES = frozenset({"1", "L", "LA", "RGB", "RGBA", "I;16"})
_JPEG_MODES = frozenset({"L", "RGB"})
JPEG_QUALITY = 90

# One image decoded at a time per process: bounds peak memory to one `max_pixels` image, and lets
# the warnings filter below be changed without two threads interleaving their save/restore.
_DECODE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ReencodedImage:
    """Clean image bytes with their media type, extension and size in pixels."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _open(data: bytes, mime: str, max_pixels: int) -> Image.Image:
    formats = _PILLOW_FORMATS.get(mime)
    if formats is None:
        raise UnsupportedMedia(f"{mime} is not an image type Kefu re-encodes")
    image = Image.open(io.BytesIO(data), formats=list(formats))
    if image.format not in formats:
        raise InvalidInput("the image content does not match its type")
    width, height = image.size
    # Checked on the header, before any pixel is decoded.
    if width * height > max_pixels:
        raise TooLarge(f"the image is {width}×{height} pixels; the limit is {max_pixels} pixels in total")
    image.seek(0)  # first frame only for animations
    image.load()
    return image


def _orient(image: Image.Image) -> Image.Image:
    # The EXIF orientation is about to be stripped, so it must be baked into the pixels first.
    # A broken EXIF block only loses the rotation; the image itself decoded fine.
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image


def _pixels_only(image: Image.Image, modes: frozenset[str]) -> Image.Image:
    # A tRNS colour key lives in the info dict, which is dropped below, so it becomes real alpha.
    if image.mode not in modes or "transparency" in image.info:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        target = "RGBA" if has_alpha and "RGBA" in modes else "RGB"
        image = image.convert(target)
    # A new image carries no info dict, EXIF, ICC profile, comments or text chunks: only pixels.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def _encode(image: Image.Image, mime: str) -> tuple[bytes, str, str]:
    out = io.BytesIO()
    keep_jpeg = mime == "image/jpeg" or (mime == "image/webp" and "A" not in image.getbands())
    if keep_jpeg:
        _pixels_only(image, _JPEG_MODES).save(out, format="JPEG", quality=JPEG_QUALITY)
        return out.getvalue(), "image/jpeg", ".jpg"
    _pixels_only(image, _PNG_MODES).save(out, format="PNG")
    return out.getvalue(), "image/png", ".png"


def _reencode_locked(data: bytes, mime: str, max_pixels: int) -> ReencodedImage:
    with warnings.catch_warnings():
        # Pillow's own bomb guard warns below its hard limit; a warning would either escape to the
        # caller or be ignored, so it becomes an exception handled like the hard limit.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open(data, mime, max_pixels) as image:
                oriented = _orient(image)
                encoded, content_type, extension = _encode(oriented, mime)
                width, height = oriented.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            # Pillow's process-wide guard fired first, so its limit is the one that applied.
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            raise TooLarge(f"the image has too many pixels; the limit is {limit} pixels in total") from None
        except _DECODE_ERRORS:
            raise InvalidInput("the image is corrupt or truncated") from None
    return ReencodedImage(encoded, content_type, extension, width, height)


def reencode_image(data: bytes, mime: str, *, max_pixels: int) -> ReencodedImage:
    """Re-encode a sniffed image (PNG, or JPEG for photos); blocking, so call it in a thread.

    TooLarge above `max_pixels`, InvalidInput for corrupt or truncated data.
    """
    with _DECODE_LOCK:
        return _reencode_locked(data, mime, max_pixels)
