"""Pictures, good and bad, made in memory for avatar tests."""

import io
import random
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def picture(
    fmt="PNG", size=(600, 300), color=(200, 30, 30), name=None, **save
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt == "PNG" else "RGB"
    Image.new(mode, size, color).save(buffer, fmt, **save)
    return SimpleUploadedFile(name or f"picture.{fmt.lower()}", buffer.getvalue())


def jpeg_with_gps_and_rotation() -> SimpleUploadedFile:
    """A 300x100 JPEG whose EXIF says: rotate 90 degrees, and here is where it was taken."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0x010F] = "CameraMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 0.0), "W", (0.0, 7.0, 0.0)
    return picture("JPEG", size=(300, 100), exif=exif.tobytes(), name="photo.jpg")


def animated_gif() -> SimpleUploadedFile:
    frames = [Image.new("P", (64, 64), index) for index in range(5)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return SimpleUploadedFile("moving.gif", buffer.getvalue())


def truncated_png() -> SimpleUploadedFile:
    # Noise does not compress, so cutting the file in half loses pixel data.
    noise = Image.frombytes("RGB", (300, 300), random.Random(7).randbytes(300 * 300 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    content = buffer.getvalue()
    return SimpleUploadedFile("cut.png", content[: len(content) // 2])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(width=20_000, height=20_000) -> SimpleUploadedFile:
    """A PNG of a few hundred bytes whose header promises width x height pixels (400
    megapixels by default): decoding it would need gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width * 3 + 1) * 4, 9)
    content = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )
    return SimpleUploadedFile("bomb.png", content)


def text_named_png() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "notes.png", b"just some text, honestly\n" * 10, content_type="image/png"
    )


def svg_with_script() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "logo.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
        b'<rect width="10" height="10"/></svg>',
        content_type="image/svg+xml",
    )


def html_with_png_header() -> SimpleUploadedFile:
    """The PNG signature followed by HTML: the header lies, the content is no picture."""
    return SimpleUploadedFile("trick.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>")
