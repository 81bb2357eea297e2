"""The field app's photo (a JPEG already upright and at the display size) keeps
its pixel data: the stored copy is the upload with its metadata cut out, proved
sound by a reduced-scale decode that also makes the thumbnail."""
import io
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageCms

from civic.photos import jpeg, pipeline
from tests.conftest import photo_path
from tests.photos.field import FIELD_SIZE, field_photo

LIMITS = {"max_bytes": 20 * 2**20, "max_pixels": 50_000_000, "local_tz": ZoneInfo("Asia/Shanghai")}
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>36,35.0N</exif:GPSLatitude></x:xmpmeta>"


def render(data):
    return pipeline.render(pipeline.inspect(data, **LIMITS), display_max=1600, thumb_max=320)


def segment(marker, payload):
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def with_segments(data, *segments, trailer=b""):
    """`data` with `segments` right after its start-of-image marker and `trailer` after its end."""
    return data[:2] + b"".join(segments) + data[2:] + trailer


def image_data(data):
    """From the first start-of-scan to the end: the entropy-coded picture."""
    return data[data.index(b"\xff\xda"):]


def markers(data):
    """The marker segments before the first scan."""
    found, pos = [], 2
    while data[pos + 1] != 0xDA:
        found.append(data[pos + 1])
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return found


def assert_no_metadata(data):
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    assert "xmp" not in image.info and "exif" not in image.info and "comment" not in image.info
    for needle in (b"Exif\x00", b"http://ns.adobe.com", b"GPS", b"MPF\x00", b"NIKON", b"secret"):
        assert needle not in data


def test_the_field_photo_keeps_its_pixels_and_loses_its_metadata():
    upload = field_photo()
    assert 200_000 < len(upload) < 400_000 and pipeline.inspect(upload, **LIMITS).gps  # it has GPS to lose
    out = render(upload)
    assert image_data(out.display) == image_data(upload)  # not decoded and encoded again
    assert_no_metadata(out.display)
    assert_no_metadata(out.thumb)
    display = Image.open(io.BytesIO(out.display))
    display.load()
    assert display.size == FIELD_SIZE == (out.width, out.height)
    assert max(Image.open(io.BytesIO(out.thumb)).size) == 320


@pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO file")  # the fake MPF segment
def test_every_kind_of_metadata_goes_and_the_icc_profile_stays():
    upload = with_segments(field_photo(icc_profile=SRGB), segment(0xE1, XMP), segment(0xFE, b"secret comment"),
                           segment(0xE2, b"MPF\x00" + b"\x00" * 40), segment(0xED, b"Photoshop 3.0\x00secret"),
                           trailer=b"\xff\xd8secret second picture\xff\xd9")
    out = render(upload)
    assert image_data(out.display) == image_data(upload)[:len(image_data(out.display))]  # its pixels kept
    assert_no_metadata(out.display)
    assert Image.open(io.BytesIO(out.display)).info["icc_profile"] == SRGB
    assert Image.open(io.BytesIO(out.thumb)).info["icc_profile"] == SRGB
    assert out.display.endswith(b"\xff\xd9") and markers(out.display).count(0xE2) == 1
    assert not any(0xE0 <= m <= 0xEF and m != 0xE2 for m in markers(out.display))


def test_a_multi_picture_file_keeps_its_first_picture_only():
    first = Image.open(io.BytesIO(field_photo()))
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[first.resize((400, 300))], quality=88)
    upload = out.getvalue()
    assert pipeline.inspect(upload, **LIMITS).format == "MPO"
    rendered = render(upload)
    assert_no_metadata(rendered.display)
    assert len(rendered.display) < len(upload) - 10_000  # the second picture is not stored
    assert Image.open(io.BytesIO(rendered.display)).size == FIELD_SIZE


@pytest.mark.parametrize("cut", [1_000, 20_000, 150_000, -200, -3])
def test_a_truncated_field_photo_is_refused(cut):
    with pytest.raises(pipeline.PhotoRejected) as refused:
        render(field_photo()[:cut])
    assert refused.value.status == 422 and refused.value.code == "photo_unreadable"


def test_broken_marker_structure_is_refused_and_not_a_server_error():
    upload = field_photo()
    start = upload.index(b"\xff\xdb")  # the first quantisation table: its length says past the file's end
    broken = upload[:start + 2] + b"\xff\xff" + upload[start + 4:]
    with pytest.raises(jpeg.MalformedJpeg):
        jpeg.strip_metadata(broken)
    with pytest.raises(pipeline.PhotoRejected) as refused:
        render(broken)
    assert 400 <= refused.value.status < 500


def test_a_photo_needing_a_turn_is_decoded_and_turned():
    upload = photo_path("orientation/landscape_6.jpg").read_bytes()
    out = render(upload)
    assert image_data(out.display) != image_data(upload)
    assert (out.width, out.height) == (600, 450) == Image.open(io.BytesIO(out.display)).size


def test_an_adobe_jpeg_is_encoded_again():
    upload = with_segments(field_photo(), segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01"))
    out = render(upload)
    assert image_data(out.display) != image_data(upload)
    assert_no_metadata(out.display)


def test_a_larger_photo_is_still_shrunk():
    out = render(photo_path("mobile/jolla.jpg").read_bytes())
    assert max(out.width, out.height) == 1600 and max(Image.open(io.BytesIO(out.display)).size) == 1600
