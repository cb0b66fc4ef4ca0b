"""Reviewer watermark: tiled over the whole image, translucent, metadata-free, safe on hostile input."""

from __future__ import annotations

import io
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from kefu.core.errors import InvalidInput, KefuError, TooLarge, UnsupportedMedia
from kefu.storage.watermark import _font, _font_size, watermark_image
from tests.storage import samples

TEXT = "KYC review — KF-123456 — reviewer@example.com — 2026-11-24 10:00 UTC"
MAX_PIXELS = 10_000_000
GREY = (128, 128, 128)


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def flat(
    size: tuple[int, int], color: int | tuple[int, ...] = GREY, fmt: str = "PNG", mode: str = "RGB"
) -> bytes:
    return encoded(Image.new(mode, size, color), fmt)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def extrema(band: Image.Image) -> tuple[int, int]:
    """Lowest and highest value of a single-band image."""
    lowest, highest = band.getextrema()
    assert isinstance(lowest, int)
    assert isinstance(highest, int)
    return lowest, highest


def marked(before: Image.Image, after: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels in `box` differ by more than 20 in some channel (JPEG noise stays below)."""
    red, green, blue = ImageChops.difference(
        before.convert("RGB").crop(box), after.convert("RGB").crop(box)
    ).split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return sum(strongest.histogram()[21:])


def grid(size: tuple[int, int], cells: int) -> list[tuple[int, int, int, int]]:
    width, height = size
    return [
        (
            column * width // cells,
            row * height // cells,
            (column + 1) * width // cells,
            (row + 1) * height // cells,
        )
        for row in range(cells)
        for column in range(cells)
    ]


# Output shape


@pytest.mark.parametrize("color", [GREY, (255, 255, 255), (0, 0, 0)])
def test_png_is_marked_in_every_region_on_any_background(color: tuple[int, int, int]) -> None:
    original = flat((480, 360), color)
    data, mime = watermark_image(original, "image/png", TEXT, max_pixels=MAX_PIXELS)
    assert mime == "image/png"
    result = decode(data)
    assert result.format == "PNG"
    assert result.size == (480, 360)
    before = decode(original)
    for box in grid(result.size, 3):
        area = (box[2] - box[0]) * (box[3] - box[1])
        assert marked(before, result, box) > area // 100, box
    # Text, not a blanket: most of the document is untouched.
    assert marked(before, result, (0, 0, 480, 360)) < 480 * 360 // 2


def test_any_crop_still_carries_the_watermark() -> None:
    original = flat((640, 480))
    result = decode(watermark_image(original, "image/png", TEXT, max_pixels=MAX_PIXELS)[0])
    before = decode(original)
    window = 100
    for top in range(0, 480 - window + 1, 50):
        for left in range(0, 640 - window + 1, 50):
            assert marked(before, result, (left, top, left + window, top + window)) > 50, (left, top)


@pytest.mark.parametrize(
    ("color", "low", "high"), [(GREY, 40, 215), ((255, 255, 255), 100, 255), ((0, 0, 0), 0, 160)]
)
def test_watermark_is_translucent(color: tuple[int, int, int], low: int, high: int) -> None:
    """Neither the outline nor the letters are opaque: the document stays visible under them."""
    data, _mime = watermark_image(flat((300, 200), color), "image/png", TEXT, max_pixels=MAX_PIXELS)
    darkest, lightest = extrema(decode(data).convert("L"))
    # Opaque letters would reach white (255) and an opaque outline black (0).
    assert low <= darkest
    assert lightest <= high
    assert darkest < lightest


def test_jpeg_stays_jpeg_and_is_marked() -> None:
    original = flat((400, 300), fmt="JPEG")
    data, mime = watermark_image(original, "image/jpeg", TEXT, max_pixels=MAX_PIXELS)
    assert mime == "image/jpeg"
    result = decode(data)
    assert (result.format, result.size, result.mode) == ("JPEG", (400, 300), "RGB")
    before = decode(original)
    for box in grid(result.size, 2):
        assert marked(before, result, box) > 300, box


def test_webp_becomes_jpeg_or_png_by_alpha() -> None:
    data, mime = watermark_image(flat((200, 150), fmt="WEBP"), "image/webp", TEXT, max_pixels=MAX_PIXELS)
    assert (mime, decode(data).format) == ("image/jpeg", "JPEG")
    clear = flat((200, 150), (0, 0, 0, 0), fmt="WEBP", mode="RGBA")
    data, mime = watermark_image(clear, "image/webp", TEXT, max_pixels=MAX_PIXELS)
    result = decode(data)
    assert (mime, result.format, result.mode) == ("image/png", "PNG", "RGBA")
    # The mark shows on transparent areas too, and leaves the rest transparent.
    lowest, highest = extrema(result.getchannel("A"))
    assert (lowest, highest) == (0, highest)
    assert 0 < highest < 255


@pytest.mark.parametrize(
    ("mode", "color"), [("1", 1), ("L", 128), ("LA", (128, 255)), ("P", 3), ("RGBA", (128, 128, 128, 255))]
)
def test_png_modes(mode: str, color: object) -> None:
    original = encoded(Image.new(mode, (160, 120), color), "PNG")  # type: ignore[arg-type]
    data, mime = watermark_image(original, "image/png", TEXT, max_pixels=MAX_PIXELS)
    result = decode(data)
    assert (mime, result.size) == ("image/png", (160, 120))
    assert marked(decode(original), result, (0, 0, 160, 120)) > 500


def test_16_bit_greyscale_is_scaled_not_clipped_to_white() -> None:
    data, _mime = watermark_image(
        flat((160, 120), 30000, mode="I;16"), "image/png", TEXT, max_pixels=MAX_PIXELS
    )
    grey = decode(data).convert("L")
    # 30000 / 256 ≈ 117: the unmarked majority keeps that level.
    assert grey.histogram().index(max(grey.histogram())) in range(115, 120)


def test_exif_orientation_is_applied() -> None:
    data, _mime = watermark_image(
        samples.jpeg_with_exif(orientation=6, size=(80, 40)), "image/jpeg", TEXT, max_pixels=MAX_PIXELS
    )
    assert decode(data).size == (40, 80)


@pytest.mark.parametrize("size", [(1, 1), (3, 2000), (2000, 3), (12, 12)])
def test_tiny_and_extreme_shapes(size: tuple[int, int]) -> None:
    data, _mime = watermark_image(flat(size), "image/png", TEXT, max_pixels=MAX_PIXELS)
    assert decode(data).size == size


def test_a_larger_image_is_quick_enough() -> None:
    started = time.monotonic()
    data, _mime = watermark_image(samples.noise_jpeg((2400, 1600)), "image/jpeg", TEXT, max_pixels=MAX_PIXELS)
    assert decode(data).size == (2400, 1600)
    assert time.monotonic() - started < 10


# Metadata and smuggled bytes


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (samples.png_with_metadata(), "image/png"),
        (samples.jpeg_with_exif(), "image/jpeg"),
        (samples.jpeg_polyglot(), "image/jpeg"),
        (samples.gif_polyglot(), "image/gif"),
    ],
)
def test_no_metadata_or_smuggled_bytes_survive(data: bytes, mime: str) -> None:
    out, _mime = watermark_image(data, mime, TEXT, max_pixels=MAX_PIXELS)
    for needle in (b"KefuCam", b"FAKEICC", samples.SCRIPT, b"Zhang San", b"<html"):
        assert needle not in out
    result = decode(out)
    assert not result.getexif()
    assert not {"exif", "icc_profile", "comment", "Comment", "Author", "XML:com.adobe.xmp"} & set(result.info)


# The text


def test_the_text_is_what_is_drawn() -> None:
    original = flat((300, 200))
    first, _ = watermark_image(original, "image/png", "KF-111111 alice@example.com", max_pixels=MAX_PIXELS)
    second, _ = watermark_image(original, "image/png", "KF-222222 alice@example.com", max_pixels=MAX_PIXELS)
    assert decode(first).tobytes() != decode(second).tobytes()


def test_characters_outside_the_font_become_ascii() -> None:
    """The bundled font only has ASCII: dashes, accents and full-width forms fold, CJK becomes "?"."""
    original = flat((300, 200))
    unicode_text = "KYC 审核 — KF-１２３ — José\u200d — 2026-11-24\n10:00"
    ascii_text = "KYC ?? - KF-123 - Jose - 2026-11-24 10:00"
    first, _ = watermark_image(original, "image/png", unicode_text, max_pixels=MAX_PIXELS)
    second, _ = watermark_image(original, "image/png", ascii_text, max_pixels=MAX_PIXELS)
    assert decode(first).tobytes() == decode(second).tobytes()


def test_overlong_text_is_cut_not_refused() -> None:
    data, _mime = watermark_image(flat((300, 200)), "image/png", "x" * 10_000, max_pixels=MAX_PIXELS)
    assert decode(data).size == (300, 200)


@pytest.mark.parametrize("text", ["", "   ", "\u200d\u200b", "\n\t"])
def test_blank_text_is_a_caller_error(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        watermark_image(flat((30, 20)), "image/png", text, max_pixels=MAX_PIXELS)


def test_font_scales_with_the_image_and_the_line_fits_the_diagonal() -> None:
    small, large = _font_size(600, 400, TEXT), _font_size(3000, 2000, TEXT)
    assert large > 3 * small
    assert _font_size(40, 30, TEXT) == 10  # floor: still legible
    assert _font_size(100_000, 100_000, "x") == 256  # ceiling
    for width, height in ((600, 400), (3000, 2000), (4000, 300)):
        size = _font_size(width, height, TEXT)
        assert _font(size).getlength(TEXT) <= math.hypot(width, height)


# Hostile input


@pytest.mark.parametrize(
    ("data", "mime", "error"),
    [
        (b"not an image at all", "image/png", InvalidInput),
        (b"", "image/jpeg", InvalidInput),
        (samples.noise_png()[: len(samples.noise_png()) // 2], "image/png", InvalidInput),
        (samples.noise_jpeg()[:300], "image/jpeg", InvalidInput),
        (samples.noise_jpeg(), "image/png", InvalidInput),  # content does not match the type
        (samples.png_declaring(20_000, 20_000), "image/png", TooLarge),
        (samples.jpeg_declaring(60_000, 60_000), "image/jpeg", TooLarge),
        (samples.gif_declaring(65_000, 65_000), "image/gif", TooLarge),
        (samples.pdf(), "application/pdf", UnsupportedMedia),
        (b"<svg onload=alert(1)/>", "image/svg+xml", UnsupportedMedia),
    ],
)
def test_hostile_input_gives_a_clear_4xx(data: bytes, mime: str, error: type[KefuError]) -> None:
    with pytest.raises(error) as caught:
        watermark_image(data, mime, TEXT, max_pixels=MAX_PIXELS)
    assert 400 <= caught.value.status < 500
    assert caught.value.message


def test_pillows_own_bomb_guard_is_a_too_large_too() -> None:
    """With a generous setting, Pillow's process-wide limit fires first; it must not escape as a warning."""
    limit = Image.MAX_IMAGE_PIXELS or 0
    side = math.isqrt(limit) + 1000
    with pytest.raises(TooLarge):
        watermark_image(samples.png_declaring(side, side), "image/png", TEXT, max_pixels=10 * limit)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupted_pngs_never_raise_anything_else(data: st.DataObject) -> None:
    image = bytearray(flat((40, 30)))
    for _ in range(data.draw(st.integers(1, 8))):
        image[data.draw(st.integers(0, len(image) - 1))] = data.draw(st.integers(0, 255))
    try:
        out, _mime = watermark_image(bytes(image), "image/png", TEXT, max_pixels=MAX_PIXELS)
    except (InvalidInput, TooLarge):
        return
    assert decode(out).size[0] > 0
