"""Hostile and ordinary upload samples, built in code so every byte is explained."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

SCRIPT = b"<script>alert(document.cookie)</script>"


def png(size: tuple[int, int] = (32, 24), color: str = "green", mode: str = "RGB") -> bytes:
    """A small, valid PNG."""
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def noise_png(size: tuple[int, int] = (128, 128)) -> bytes:
    """A PNG of random pixels (compresses badly, so truncating it really loses image data)."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG")
    return out.getvalue()


def noise_jpeg(size: tuple[int, int] = (128, 128)) -> bytes:
    """A JPEG of random pixels."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "JPEG")
    return out.getvalue()


def png_with_metadata() -> bytes:
    """A PNG carrying text chunks (one with a script), EXIF with a camera name and an ICC profile."""
    info = PngInfo()
    info.add_text("Comment", SCRIPT.decode())
    info.add_text("Author", "Zhang San, 13800138000")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "KefuCam"
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(out, "PNG", pnginfo=info, exif=exif, icc_profile=b"FAKEICC" * 4)
    return out.getvalue()


def jpeg_with_exif(orientation: int = 1, size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG, left half red and right half blue, with GPS, camera, comment and ICC metadata."""
    image = Image.new("RGB", size, "blue")
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), "red"), (0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "KefuCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (22.0, 16.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (114.0, 10.0, 15.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=SCRIPT, icc_profile=b"FAKEICC" * 4, quality=95)
    return out.getvalue()


def gif_polyglot() -> bytes:
    """A valid GIF whose comment block and trailing bytes carry JavaScript and HTML."""
    out = io.BytesIO()
    Image.new("P", (20, 10), 1).save(out, "GIF", comment=b"*/=alert(1);/*" + SCRIPT)
    return out.getvalue() + b"<html><body>" + SCRIPT + b"</body></html>"


def jpeg_polyglot() -> bytes:
    """A valid JPEG with HTML in a COM segment and after the end-of-image marker."""
    out = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(out, "JPEG", comment=b"<html>" + SCRIPT)
    return out.getvalue() + b"<html>" + SCRIPT


def animated_gif() -> bytes:
    """Two frames: red then blue; only the first should survive."""
    frames = [Image.new("RGB", (10, 10), "red"), Image.new("RGB", (10, 10), "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def transparent_gif() -> bytes:
    """A GIF whose palette index 0 is transparent."""
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 255, 255, 255, 0, 0] + [0] * 762)
    image.putpixel((0, 0), 1)
    out = io.BytesIO()
    image.save(out, "GIF", transparency=0)
    return out.getvalue()


def webp(mode: str) -> bytes:
    """A WebP image in mode RGB or RGBA."""
    out = io.BytesIO()
    color = (10, 200, 30, 128) if mode == "RGBA" else (10, 200, 30)
    Image.new(mode, (12, 12), color).save(out, "WEBP", lossless=True)
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width×height pixels (a decompression bomb's shape)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) is patched to declare width×height pixels."""
    data = bytearray(noise_jpeg((16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_declaring(width: int, height: int) -> bytes:
    """A small GIF whose logical screen is patched to width×height."""
    out = io.BytesIO()
    Image.new("P", (8, 8), 0).save(out, "GIF")
    data = bytearray(out.getvalue())
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def iso_media(brand: bytes) -> bytes:
    """An ISO base media file (MP4/MOV family) with the given major brand."""

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    return (
        box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"isom")
        + box(b"free", b"")
        + box(b"mdat", bytes(range(256)) * 8)
    )


def pdf() -> bytes:
    """A minimal one-page PDF."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def windows_exe() -> bytes:
    """The start of a PE executable: MZ header, NUL padding and the DOS stub message."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + (b"This program cannot be run in DOS mode.\r\r\n$")
    )


def zip_archive() -> bytes:
    """A zip file with one stored entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()
