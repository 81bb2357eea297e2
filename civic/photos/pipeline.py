"""The photo pipeline, free of HTTP: inspect() checks an upload and reads its
EXIF without decoding the pixels; render() makes the upright display copy and
thumbnail, both without any metadata.

A JPEG that is already upright and no larger than the display size (what the
field app sends: it draws the photo upright at 1600 px) keeps its pixel data:
its metadata is cut out at the byte level (jpeg.py) and one decode at a reduced
scale both proves the whole image data sound and gives the thumbnail. Anything
else is decoded, turned upright, resized and encoded again.

Uploads are inspected and rendered in memory before anything is written, so a
refused photo never leaves a half-written case behind.
"""
import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from datetime import datetime

import pillow_heif
from PIL import Image, ImageFile, UnidentifiedImageError

from . import exif as exif_reader
from . import jpeg

pillow_heif.register_heif_opener()
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is refused, not padded with grey

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# EXIF orientation → the transpose that makes the picture upright.
TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}
JPEG_QUALITY = 82
# What the decoders raise for a file that is not what it says (Pillow: OSError for
# truncated data, SyntaxError for a broken PNG/GIF structure, struct.error or
# ValueError for bad fields; pillow-heif: ValueError). Anything else is a bug of
# ours: it must be a logged 500 that the tests catch, never "your photo is damaged".
DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class PhotoRejected(Exception):
    """An upload that is not a usable photo; carries the HTTP status and code."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Inspected:
    data: bytes
    format: str
    mode: str
    width: int  # as stored in the file, before orientation
    height: int
    orientation: int
    gps: tuple | None
    taken_at: datetime | None
    sha256: str
    icc_profile: bytes | None


@dataclass
class Rendered:
    display: bytes
    thumb: bytes
    width: int
    height: int
    phash: str


def inspect(data, *, max_bytes, max_pixels, local_tz):
    """Check size and type and read EXIF; decodes no pixels."""
    if not data:
        raise PhotoRejected(422, "photo_empty", "The photo is empty (0 bytes).")
    if len(data) > max_bytes:
        raise PhotoRejected(413, "photo_too_large", f"The photo is larger than {max_bytes // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        if isinstance(exc, (Image.DecompressionBombWarning, Image.DecompressionBombError)):
            raise PhotoRejected(422, "photo_too_many_pixels", "The photo has too many pixels.") from exc
        raise PhotoRejected(415, "photo_unsupported", "Not a readable photo: send a JPEG, PNG, WebP or HEIC image.") from exc
    except DECODER_ERRORS as exc:  # a header so broken the decoder gives up at once
        raise PhotoRejected(422, "photo_unreadable", "The photo is damaged and cannot be read.") from exc
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise PhotoRejected(422, "photo_too_many_pixels",
                            f"The photo has too many pixels (at most {max_pixels // 1_000_000} megapixels).")
    try:
        exif = image.getexif()
    except DECODER_ERRORS:  # malformed EXIF: the pixels may still be fine
        exif = Image.Exif()
    return Inspected(
        data=data,
        format=image.format,
        mode=image.mode,
        width=width,
        height=height,
        orientation=exif_reader.orientation(exif),
        gps=exif_reader.gps_position(exif),
        taken_at=exif_reader.taken_at(exif, local_tz),
        sha256=hashlib.sha256(data).hexdigest(),
        icc_profile=image.info.get("icc_profile"),
    )


def _fit(size, max_side):
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resampling(size, target):
    """After DCT scaling only a small step is left (1632 → 1600 px, say), where
    bilinear is as good as Lanczos and much cheaper on a small CPU; a big step
    (PNG, WebP, HEIC: no DCT scaling) reduces by whole factors first."""
    if target[0] / size[0] >= 0.5:
        return {"resample": Image.Resampling.BILINEAR}
    return {"resample": Image.Resampling.LANCZOS, "reducing_gap": 2.0}


def _to_rgb(image):
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _upright(image, orientation):
    for method in TRANSPOSE.get(orientation, []):
        image = image.transpose(method)
    return image


def _jpeg(image, icc_profile=None):
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY}
    if icc_profile:
        options["icc_profile"] = icc_profile
    image.save(out, "JPEG", **options)  # no exif=… given: nothing of the original's EXIF/XMP is written
    return out.getvalue()


def difference_hash(image):
    """64-bit dHash: survives resizing and recompression, for spotting reused photos."""
    small = image.convert("L").resize((9, 8), Image.Resampling.BILINEAR)
    pixels = small.tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def render(inspected, *, display_max, thumb_max):
    """The display copy and thumbnail: the upload's own pixel data when it can be
    kept as it is, else decoded and encoded again."""
    if _keeps_its_pixels(inspected, display_max):
        try:
            return _render_kept(inspected, jpeg.strip_metadata(inspected.data), thumb_max)
        except jpeg.MalformedJpeg:
            pass  # a structure we do not copy (an Adobe segment, say): the decoder decides below
    return _render_anew(inspected, display_max=display_max, thumb_max=thumb_max)


def _keeps_its_pixels(inspected, display_max):
    # MPO: a JPEG with more pictures after its end (a phone's depth map, say), which the copy leaves out.
    return (inspected.format in ("JPEG", "MPO") and inspected.orientation == 1 and inspected.mode in ("RGB", "L")
            and max(inspected.width, inspected.height) <= display_max)


def _render_kept(inspected, display, thumb_max):
    """`display` is the upload without its metadata. Decoding it at the smallest
    DCT scale that still covers the thumbnail reads every byte of its image data
    (a truncated or corrupt file fails here, as it would at full size)."""
    try:
        image = Image.open(io.BytesIO(display), formats=("JPEG",))
        target = _fit(image.size, thumb_max)
        image.draft("RGB", target)
        image.load()
        thumb = _to_rgb(image)
    except DECODER_ERRORS as exc:
        raise PhotoRejected(422, "photo_unreadable", "The photo is damaged and cannot be read.") from exc
    if thumb.size != target:
        thumb = thumb.resize(target, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Rendered(display=display, thumb=_jpeg(thumb, inspected.icc_profile), width=inspected.width,
                    height=inspected.height, phash=difference_hash(thumb))


def _render_anew(inspected, *, display_max, thumb_max):
    """Decode only as much as the display copy needs, make it upright, strip metadata."""
    try:
        image = Image.open(io.BytesIO(inspected.data), formats=ACCEPTED_FORMATS)
        target = _fit(image.size, display_max)
        if image.format == "JPEG":
            # DCT scaling: decode at 1/2, 1/4 or 1/8 size when that is still big enough.
            image.draft("RGB", target)
        image.load()
        image = _to_rgb(image)
        if image.size != target:
            image = image.resize(target, **_resampling(image.size, target))
        image = _upright(image, inspected.orientation)
    except DECODER_ERRORS as exc:  # truncated or corrupt pixel data
        raise PhotoRejected(422, "photo_unreadable", "The photo is damaged and cannot be read.") from exc
    thumb = image.resize(_fit(image.size, thumb_max), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Rendered(
        display=_jpeg(image, inspected.icc_profile),
        thumb=_jpeg(thumb, inspected.icc_profile),
        width=image.width,
        height=image.height,
        phash=difference_hash(thumb),
    )


def naive_render(data, *, display_max, thumb_max):
    """The straightforward way, kept as the benchmark's baseline: decode every
    pixel, transpose, resize, save."""
    from PIL import ImageOps

    image = Image.open(io.BytesIO(data))
    image.load()
    image = ImageOps.exif_transpose(image).convert("RGB")
    display = image.copy()
    display.thumbnail((display_max, display_max), Image.Resampling.LANCZOS, reducing_gap=None)
    thumb = image.copy()
    thumb.thumbnail((thumb_max, thumb_max), Image.Resampling.LANCZOS, reducing_gap=None)
    return _jpeg(display), _jpeg(thumb)
