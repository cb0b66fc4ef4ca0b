"""The upload pipeline end to end, with hostile files built in code."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from kefu.core.errors import InvalidInput, TooLarge, UnsupportedMedia
from kefu.storage.local import LocalBlobStore
from kefu.storage.uploads import StoredFile, store_upload
from tests.storage import samples

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4_000_000


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


async def upload(store: LocalBlobStore, data: bytes, name: str = "upload.bin", **limits: int) -> StoredFile:
    return await store_upload(
        store,
        data,
        name,
        max_bytes=limits.get("max_bytes", MAX_BYTES),
        max_pixels=limits.get("max_pixels", MAX_PIXELS),
    )


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_png_named_exe_is_stored_as_png(store: LocalBlobStore) -> None:
    stored = await upload(store, samples.png((32, 24)), "invoice.exe")
    assert stored.filename == "invoice.png"
    assert stored.content_type == "image/png"
    assert (stored.is_image, stored.width, stored.height) == (True, 32, 24)
    data = await store.get(stored.key)
    assert stored.size == len(data)
    assert open_image(data).format == "PNG"


@pytest.mark.parametrize("name", ["photo.png", "photo.jpg", "photo.svg", "photo"])
async def test_html_is_refused_whatever_its_name(store: LocalBlobStore, name: str) -> None:
    with pytest.raises(UnsupportedMedia):
        await upload(store, b"<html><body>" + samples.SCRIPT + b"</body></html>", name)


async def test_svg_is_refused(store: LocalBlobStore) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(UnsupportedMedia):
        await upload(store, svg, "avatar.svg")


async def test_executable_named_png_is_refused(store: LocalBlobStore) -> None:
    with pytest.raises(UnsupportedMedia):
        await upload(store, samples.windows_exe(), "screenshot.png")


async def test_pdf_starting_with_html_is_refused(store: LocalBlobStore) -> None:
    with pytest.raises(UnsupportedMedia):
        await upload(store, b"<html>" + samples.SCRIPT + b"</html>\n" + samples.pdf(), "statement.pdf")


async def test_pdf_is_stored_unchanged(store: LocalBlobStore) -> None:
    stored = await upload(store, samples.pdf(), "statement")
    assert (stored.content_type, stored.filename, stored.is_image) == (
        "application/pdf",
        "statement.pdf",
        False,
    )
    assert await store.get(stored.key) == samples.pdf()


@pytest.mark.parametrize(
    ("brand", "mime", "extension"), [(b"isom", "video/mp4", ".mp4"), (b"qt  ", "video/quicktime", ".mov")]
)
async def test_screen_recordings_are_accepted(
    store: LocalBlobStore, brand: bytes, mime: str, extension: str
) -> None:
    stored = await upload(store, samples.iso_media(brand), "recording.webm")
    assert (stored.content_type, stored.filename) == (mime, "recording" + extension)
    assert (stored.width, stored.height) == (None, None)


@pytest.mark.parametrize("data", [samples.gif_polyglot(), samples.jpeg_polyglot()], ids=["gif", "jpeg"])
async def test_polyglot_images_lose_their_script(store: LocalBlobStore, data: bytes) -> None:
    assert samples.SCRIPT in data
    stored = await upload(store, data, "meme.gif")
    clean = await store.get(stored.key)
    for needle in (b"<script", b"alert(", b"<html"):
        assert needle not in clean
    open_image(clean)


async def test_jpeg_metadata_is_stripped(store: LocalBlobStore) -> None:
    original = samples.jpeg_with_exif()
    assert open_image(original).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    stored = await upload(store, original, "IMG_0001.JPG")
    assert (stored.content_type, stored.filename) == ("image/jpeg", "IMG_0001.jpg")
    clean = await store.get(stored.key)
    image = open_image(clean)
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "icc_profile" not in image.info
    assert "comment" not in image.info
    for needle in (b"Exif", b"KefuCam", b"FAKEICC", b"<script"):
        assert needle not in clean


async def test_png_metadata_is_stripped(store: LocalBlobStore) -> None:
    stored = await upload(store, samples.png_with_metadata(), "scan.png")
    clean = await store.get(stored.key)
    image = open_image(clean)
    assert set(image.info) <= {"dpi"}
    assert not image.getexif()
    for needle in (b"KefuCam", b"FAKEICC", b"13800138000", b"<script", b"tEXt", b"eXIf", b"iCCP"):
        assert needle not in clean


async def test_exif_orientation_is_applied_before_stripping(store: LocalBlobStore) -> None:
    # Orientation 6: the camera was turned; viewers rotate 90° clockwise, moving the left (red)
    # half to the top.
    stored = await upload(store, samples.jpeg_with_exif(orientation=6, size=(40, 20)), "portrait.jpg")
    assert (stored.width, stored.height) == (20, 40)
    image = open_image(await store.get(stored.key)).convert("RGB")
    assert image.size == (20, 40)
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 > top[2]
    assert bottom[2] > 200 > bottom[0]


async def test_gif_becomes_png_of_its_first_frame(store: LocalBlobStore) -> None:
    stored = await upload(store, samples.animated_gif(), "party.gif")
    assert (stored.content_type, stored.filename) == ("image/png", "party.png")
    image = open_image(await store.get(stored.key))
    assert getattr(image, "n_frames", 1) == 1
    assert image.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


async def test_gif_transparency_survives(store: LocalBlobStore) -> None:
    stored = await upload(store, samples.transparent_gif(), "icon.gif")
    image = open_image(await store.get(stored.key)).convert("RGBA")
    assert image.getpixel((0, 0)) == (255, 0, 0, 255)
    pixel = image.getpixel((4, 4))
    assert isinstance(pixel, tuple)
    assert pixel[3] == 0


async def test_png_colour_key_transparency_survives(store: LocalBlobStore) -> None:
    out = io.BytesIO()
    image = Image.new("RGB", (4, 4), (255, 255, 255))
    image.putpixel((0, 0), (0, 0, 255))
    image.save(out, "PNG", transparency=(255, 255, 255))
    stored = await upload(store, out.getvalue(), "key.png")
    clean = open_image(await store.get(stored.key)).convert("RGBA")
    assert clean.getpixel((0, 0)) == (0, 0, 255, 255)
    assert clean.getpixel((3, 3)) == (255, 255, 255, 0)


@pytest.mark.parametrize(("mode", "mime"), [("RGBA", "image/png"), ("RGB", "image/jpeg")])
async def test_webp_is_reencoded(store: LocalBlobStore, mode: str, mime: str) -> None:
    stored = await upload(store, samples.webp(mode), "sticker.webp")
    assert stored.content_type == mime
    assert open_image(await store.get(stored.key)).format == mime.split("/")[1].upper()


async def test_oversized_file_is_refused(store: LocalBlobStore) -> None:
    with pytest.raises(TooLarge):
        await upload(store, b"a" * 2049, "big.txt", max_bytes=2048)
    stored = await upload(store, b"a" * 2048, "fits.txt", max_bytes=2048)
    assert stored.size == 2048


async def test_empty_file_is_refused(store: LocalBlobStore) -> None:
    with pytest.raises(InvalidInput):
        await upload(store, b"", "empty.txt")


@pytest.mark.parametrize(
    "bomb",
    [
        samples.png_declaring(30000, 30000),
        samples.png_declaring(10000, 10000),  # between Pillow's warning and error thresholds
        samples.jpeg_declaring(60000, 60000),
        samples.gif_declaring(65535, 65535),
    ],
    ids=["png-900M", "png-100M", "jpeg-3600M", "gif-4295M"],
)
async def test_decompression_bombs_are_refused_fast(store: LocalBlobStore, bomb: bytes) -> None:
    assert len(bomb) < 10_000
    started = time.monotonic()
    with pytest.raises(TooLarge, match="pixels"):
        await upload(store, bomb, "bomb.png", max_pixels=40_000_000)
    assert time.monotonic() - started < 2


async def test_pixel_limit_is_the_callers(store: LocalBlobStore) -> None:
    with pytest.raises(TooLarge, match="200×200"):
        await upload(store, samples.png((200, 200)), "a.png", max_pixels=10_000)
    stored = await upload(store, samples.png((100, 100)), "b.png", max_pixels=10_000)
    assert (stored.width, stored.height) == (100, 100)


@pytest.mark.parametrize(
    "data",
    [
        samples.noise_png()[:2000],
        samples.noise_jpeg()[:2000],
        samples.animated_gif()[:40],
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,
        b"GIF89a" + b"\xff" * 3,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8,
    ],
    ids=[
        "png-truncated",
        "jpeg-truncated",
        "gif-truncated",
        "png-garbage",
        "jpeg-garbage",
        "gif-header",
        "webp-garbage",
    ],
)
async def test_corrupt_images_are_invalid(store: LocalBlobStore, data: bytes) -> None:
    with pytest.raises(InvalidInput):
        await upload(store, data, "broken.png")


async def test_gb18030_text_is_stored_as_utf8(store: LocalBlobStore) -> None:
    text = "提现地址：0xabc，金额 100 USDT\n"
    stored = await upload(store, text.encode("gb18030"), "记录.log")
    assert (stored.content_type, stored.filename) == ("text/plain", "记录.txt")
    assert (await store.get(stored.key)).decode("utf-8") == text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd.txt"),
        ("..\\..\\windows\\win.ini", "win.txt"),
        ("/var/www/html/shell.php", "shell.txt"),
        ("C:\\Users\\x\\notes.txt", "notes.txt"),
        ("report\u202etxt.exe", "reporttxt.txt"),
        ("\x00", "file.txt"),
        ("..", "file.txt"),
        ("", "file.txt"),
        ("提现截图", "提现截图.txt"),
    ],
)
async def test_stored_filename_is_sanitized(store: LocalBlobStore, name: str, expected: str) -> None:
    stored = await upload(store, b"plain text\n", name)
    assert stored.filename == expected


async def test_same_upload_twice_shares_one_blob(store: LocalBlobStore) -> None:
    first = await upload(store, samples.png(), "a.png")
    second = await upload(store, samples.png(), "b.png")
    assert first.key == second.key
    assert (first.filename, second.filename) == ("a.png", "b.png")
