"""Stamp a reviewer's copy of an identity document with a tiled, diagonal, translucent text watermark.

The text (case reference, reviewer, time) repeats in staggered diagonal rows over the whole image, so
a screenshot or a crop of any part still says who viewed it and when. Decoding goes through the same
guarded helpers as uploads (`kefu.storage.images`): sniffed-type check, pixel limit checked on the
header, first frame only, EXIF orientation applied, metadata dropped on output.
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from kefu.core.errors import InvalidInput, TooLarge
from kefu.storage.images import _DECODE_ERRORS, _DECODE_LOCK, _encode, _open, _orient

ANGLE = 30  # degrees, counter-clockwise: rows rise to the right
MAX_TEXT = 240  # characters; longer text is cut (the tile grows with it)
MIN_FONT = 10
MAX_FONT = 256
# Opacity of the dark outline and the light letters: readable on both light and dark documents
# while the document underneath stays legible.
OUTLINE_ALPHA = 0.4
FILL_ALPHA = 0.45
_ELLIPSIS = "..."
# Pillow's bundled font (Aileron) covers printable ASCII and little else; these keep common
# punctuation readable instead of turning it into "?".
_ASCII_PUNCTUATION = str.maketrans(
    {
        "\u2014": "-",  # em dash
        "\u2013": "-",  # en dash
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u00b7": "-",  # middle dot
        "\u2022": "-",
        "\u2026": "...",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u00d7": "x",
    }
)


def _ascii_text(text: str) -> str:
    # NFKC first folds full-width forms (common in Chinese input) to ASCII; NFKD then splits accents
    # off their letters so "é" keeps its "e". Anything the font cannot draw becomes "?".
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).translate(_ASCII_PUNCTUATION))
    out: list[str] = []
    for char in folded:
        category = unicodedata.category(char)
        if category.startswith("M") or category == "Cf":
            continue  # accents, zero-width joiners, variation selectors, direction marks
        if char.isspace() or category == "Cc":
            out.append(" ")
        elif " " <= char <= "~":
            out.append(char)
        else:
            out.append("?")
    ascii_text = " ".join("".join(out).split())
    if len(ascii_text) > MAX_TEXT:
        ascii_text = ascii_text[: MAX_TEXT - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return ascii_text


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _font_size(width: int, height: int, text: str) -> int:
    # About 1/36 of the short side, but small enough that the whole line fits along the diagonal.
    by_side = min(width, height) / 36
    probe = 100
    length_per_px = _font(probe).getlength(text) / probe
    by_fit = 0.8 * math.hypot(width, height) / max(length_per_px, 1e-6)
    return int(max(MIN_FONT, min(MAX_FONT, by_side, by_fit)))


def _masks(text: str, size: int) -> tuple[Image.Image, Image.Image]:
    """The rotated outline mask (letters plus stroke) and letter mask, already scaled by opacity."""
    font = _font(size)
    stroke = max(1, size // 12)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    pad = stroke + 2
    tile_size = (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad)
    origin = (pad - left, pad - top)
    outline = Image.new("L", tile_size, 0)
    ImageDraw.Draw(outline).text(origin, text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    letters = Image.new("L", tile_size, 0)
    ImageDraw.Draw(letters).text(origin, text, font=font, fill=255)
    return _rotated(outline, OUTLINE_ALPHA), _rotated(letters, FILL_ALPHA)


def _rotated(mask: Image.Image, alpha: float) -> Image.Image:
    faded = mask.point([round(value * alpha) for value in range(256)])
    return faded.rotate(ANGLE, resample=Image.Resampling.BICUBIC, expand=True)


def _tile_centres(width: int, height: int, along: float, across: float) -> list[tuple[float, float]]:
    """Centres of the watermark copies: staggered rows along the text direction, through the middle."""
    theta = math.radians(ANGLE)
    ux, uy = math.cos(theta), -math.sin(theta)  # along a row (image y grows downwards)
    vx, vy = math.sin(theta), math.cos(theta)  # from one row to the next
    half_u = (width * abs(ux) + height * abs(uy)) / 2
    half_v = (width * abs(vx) + height * abs(vy)) / 2
    rows = math.ceil(half_v / across) + 1
    columns = math.ceil(half_u / along) + 1
    cx, cy = width / 2, height / 2
    centres = []
    for row in range(-rows, rows + 1):
        shift = along / 2 if row % 2 else 0.0
        for column in range(-columns, columns + 1):
            offset = column * along + shift
            centres.append((cx + offset * ux + row * across * vx, cy + offset * uy + row * across * vy))
    return centres


def _stamp(image: Image.Image, text: str) -> None:
    size = _font_size(image.width, image.height, text)
    outline, letters = _masks(text, size)
    dark = (0, 0, 0, 255)[: len(image.getbands())]
    light = (255, 255, 255, 255)[: len(image.getbands())]
    along = _font(size).getlength(text) + 3 * size
    for x, y in _tile_centres(image.width, image.height, along, across=4 * size):
        left, top = round(x - outline.width / 2), round(y - outline.height / 2)
        if (
            left >= image.width
            or top >= image.height
            or left + outline.width <= 0
            or top + outline.height <= 0
        ):
            continue
        # Pasting a colour through a mask blends it in and clips at the edges of the image.
        image.paste(dark, (left, top), outline)
        image.paste(light, (left, top), letters)


def _drawable(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits, as a plain conversion would clip it to white.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _watermark_locked(data: bytes, mime: str, text: str, max_pixels: int) -> tuple[bytes, str]:
    with warnings.catch_warnings():
        # As in images.py: Pillow's bomb warning becomes an error handled like its hard limit.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with _open(data, mime, max_pixels) as decoded:
                canvas = _drawable(_orient(decoded))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            raise TooLarge(f"the image has too many pixels; the limit is {limit} pixels in total") from None
        except _DECODE_ERRORS:
            raise InvalidInput("the image is corrupt or truncated") from None
    _stamp(canvas, text)
    encoded, content_type, _extension = _encode(canvas, mime)
    return encoded, content_type


def watermark_image(data: bytes, mime: str, text: str, *, max_pixels: int) -> tuple[bytes, str]:
    """The image with `text` tiled diagonally over it, as (PNG or JPEG bytes, media type); blocking.

    `mime` is the sniffed type (PNG, JPEG, GIF or WebP). Raises UnsupportedMedia for other types,
    InvalidInput for corrupt data or content not matching `mime`, TooLarge above `max_pixels`, and
    ValueError for a blank `text` (a caller's bug). Characters the bundled font lacks (CJK, emoji)
    are drawn as "?".
    """
    label = _ascii_text(text)
    if not label:
        raise ValueError("the watermark text is empty")
    # One image at a time, under the same lock as uploads: bounds peak memory per process.
    with _DECODE_LOCK:
        return _watermark_locked(data, mime, label, max_pixels)
