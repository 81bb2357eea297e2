"""The photo pipeline on real camera and phone photos, and on hostile files."""
import io
import struct
import zlib
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from civic.photos import pipeline
from tests.conftest import PHOTOS, photo_path

LIMITS = {"max_bytes": 20 * 2**20, "max_pixels": 50_000_000, "local_tz": ZoneInfo("Asia/Shanghai")}
EXPECTED_GPS = {
    "DSCN0010.jpg": (43.467448, 11.885127),
    "DSCN0012.jpg": (43.467157, 11.885395),
    "DSCN0021.jpg": (43.467082, 11.884538),
    "DSCN0025.jpg": (43.468365, 11.881635),
}


def inspect(data):
    return pipeline.inspect(data, **LIMITS)


def render(data):
    return pipeline.render(inspect(data), display_max=1600, thumb_max=320)


@pytest.mark.parametrize("name", sorted(EXPECTED_GPS))
def test_gps_photos_give_their_position(name):
    lat, lng = inspect(photo_path(f"gps/{name}").read_bytes()).gps
    assert abs(lat - EXPECTED_GPS[name][0]) < 1e-5
    assert abs(lng - EXPECTED_GPS[name][1]) < 1e-5


def _signature(image):
    """A coarse picture of the content, to compare orientation-corrected copies."""
    return list(image.convert("L").resize((8, 6), Image.Resampling.BOX).tobytes())


def test_all_orientations_come_out_upright_and_alike():
    reference = None
    for n in range(1, 9):
        out = render(photo_path(f"orientation/landscape_{n}.jpg").read_bytes())
        image = Image.open(io.BytesIO(out.display))
        assert (out.width, out.height) == image.size == (600, 450), n
        signature = _signature(image)
        if reference is None:
            reference = signature
        # Same picture, same way up: every coarse cell within a small difference.
        assert max(abs(a - b) for a, b in zip(signature, reference)) < 40, f"landscape_{n} is not upright"


def _has_exif_or_gps(data):
    image = Image.open(io.BytesIO(data))
    return bool(image.getexif()) or b"Exif\x00\x00" in data or b"GPS" in data or "xmp" in image.info


@pytest.mark.parametrize("relative", ["gps/DSCN0010.jpg", "orientation/landscape_6.jpg", "plain/Canon_40D.jpg",
                                      "mobile/jolla.jpg", "heic/samplefilehub.heif"])
def test_derivatives_carry_no_exif(relative):
    out = render(photo_path(relative).read_bytes())
    assert not _has_exif_or_gps(out.display)
    assert not _has_exif_or_gps(out.thumb)
    assert max(Image.open(io.BytesIO(out.thumb)).size) <= 320


def test_big_phone_photo_is_shrunk_to_1600():
    inspected = inspect(photo_path("mobile/jolla.jpg").read_bytes())
    assert (inspected.width, inspected.height) == (3264, 2448)
    assert inspected.gps is None
    out = pipeline.render(inspected, display_max=1600, thumb_max=320)
    assert max(out.width, out.height) == 1600


def test_heif_is_accepted_and_converted():
    inspected = inspect(photo_path("heic/samplefilehub.heif").read_bytes())
    assert inspected.format == "HEIF"
    out = pipeline.render(inspected, display_max=1600, thumb_max=320)
    assert Image.open(io.BytesIO(out.display)).format == "JPEG"
    assert (out.width, out.height) == (640, 426)


@pytest.mark.parametrize("path", sorted(p.relative_to(PHOTOS).as_posix() for p in (PHOTOS / "broken").rglob("*") if p.is_file()))
def test_broken_files_are_read_or_refused_cleanly(path):
    data = photo_path(path).read_bytes()
    try:
        out = render(data)
    except pipeline.PhotoRejected as exc:
        assert 400 <= exc.status < 500 and exc.code
    else:
        assert out.width > 0 and not _has_exif_or_gps(out.display)


def _chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header(width, height):
    """A small PNG file announcing a huge image: the start of a decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("data, status, code", [
    (b"", 422, "photo_empty"),
    (b"<html><script>alert(1)</script></html>", 415, "photo_unsupported"),
    (b"GIF89a" + b"\x00" * 100, 415, "photo_unsupported"),
    (png_header(60000, 60000), 422, "photo_too_many_pixels"),
    (png_header(8000, 7000), 422, "photo_too_many_pixels"),
])
def test_hostile_inputs_are_refused(data, status, code):
    with pytest.raises(pipeline.PhotoRejected) as caught:
        render(data)
    assert (caught.value.status, caught.value.code) == (status, code)


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(pipeline.PhotoRejected) as caught:
        pipeline.inspect(b"\xff\xd8" + b"\x00" * 100, max_bytes=50, max_pixels=10, local_tz=LIMITS["local_tz"])
    assert caught.value.status == 413


def test_truncated_jpeg_is_refused():
    data = photo_path("mobile/jolla.jpg").read_bytes()[:200_000]
    with pytest.raises(pipeline.PhotoRejected) as caught:
        render(data)
    assert caught.value.code == "photo_unreadable"


def test_transparent_png_becomes_white_background_jpeg():
    image = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    out = render(buffer.getvalue())
    assert Image.open(io.BytesIO(out.display)).getpixel((5, 5)) > (240, 240, 240)


def test_perceptual_hash_survives_recompression():
    data = photo_path("gps/DSCN0010.jpg").read_bytes()
    again = io.BytesIO()
    Image.open(io.BytesIO(data)).save(again, "JPEG", quality=60)
    first, second = render(data).phash, render(again.getvalue()).phash
    distance = bin(int(first, 16) ^ int(second, 16)).count("1")
    assert distance <= 6


SAVE_QUICKLY = {"HEIF": {"quality": 50, "enc_params": {"preset": "ultrafast"}}, "PNG": {"compress_level": 1},
                "WEBP": {"quality": 50, "method": 0}}


def large_photo(format_name, size=(4032, 3024)):
    """A picture the size of a 12-megapixel phone camera's (4032×3024), made here
    in smooth gradients that the encoders write in a second."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    gradient, radial = Image.linear_gradient("L").resize(size), Image.radial_gradient("L").resize(size)
    image = Image.merge("RGB", (gradient, radial, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    image.save(out, format_name, **SAVE_QUICKLY[format_name])
    return out.getvalue()


@pytest.mark.parametrize("format_name", ["HEIF", "PNG", "WEBP"])
def test_large_photos_that_need_more_than_halving_are_rendered(format_name):
    """A 12-megapixel iPhone HEIC, a large PNG or WebP: no DCT scaling, so the
    resize reduces by more than 2×; they were refused as "damaged" before."""
    data = large_photo(format_name)
    out = render(data)
    assert (out.width, out.height) == (1600, 1200)
    assert Image.open(io.BytesIO(out.display)).format == "JPEG"


def test_a_bug_in_the_pipeline_is_not_told_to_the_user_as_a_damaged_photo(monkeypatch):
    def broken_resize(*args, **kwargs):
        raise TypeError("a programming error")

    monkeypatch.setattr(pipeline.Image.Image, "resize", broken_resize)
    with pytest.raises(TypeError):
        render(photo_path("mobile/jolla.jpg").read_bytes())
