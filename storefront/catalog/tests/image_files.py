"""Image files for upload tests, made on the spot: ordinary ones and what an attacker sends."""

import io
import os
import struct
import zlib

from PIL import Image

PHP = b"<?php system($_GET['cmd']); ?>"
HTML = b"<html><script>alert(document.cookie)</script></html>"


def image_bytes(image_format: str = "PNG", size=(16, 8), mode: str = "RGB", **params) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "blue").save(buffer, format=image_format, **params)
    return buffer.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height black pixels: a few KB that decode to gigabytes.

    Written chunk by chunk (Pillow would need the whole image in memory to save it).
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # Filter byte "none", then the row's bits.
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale.
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg_with_exif(size=(40, 20), orientation: int = 6) -> bytes:
    """A JPEG whose EXIF says it must be turned (6: 90 degrees clockwise) and names a camera,
    a place and an owner."""
    image = Image.new("RGB", size, "blue")
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))  # Left half red.
    exif = image.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x013B] = "Jane Doe, 1 Secret Lane"  # Artist
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=b"shot at home", quality=95)
    return buffer.getvalue()


def animated_gif(durations=(100, 200, 300)) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (12, 12), colour) for colour in colours[: len(durations)]]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=list(durations),
        loop=0,
        comment=b"made by a tracker",
    )
    return buffer.getvalue()


def noisy_png(size=(64, 64)) -> bytes:
    """A PNG of random pixels, so that its compressed pixel data is most of the file."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        chunks.append((data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )


def png_with_idat(change) -> bytes:
    """A noisy PNG whose pixel data (IDAT) is replaced by change(pixel data), CRCs fixed."""
    chunks = png_chunks(noisy_png())
    return png_from_chunks([(k, change(b) if k == b"IDAT" else b) for k, b in chunks])


def png_with_text(text: bytes) -> bytes:
    """An ordinary 16 x 8 PNG with `text` in a tEXt chunk before its pixels."""
    chunks = png_chunks(image_bytes("PNG"))
    return png_from_chunks([chunks[0], (b"tEXt", b"Comment\x00" + text), *chunks[1:]])
