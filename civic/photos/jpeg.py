"""A JPEG's metadata removed at the byte level, its pixel data untouched.

What the field app sends is already upright and already the display size: to
decode, resize and re-encode it only to drop its EXIF would cost most of a
report's time and a generation of quality. Instead the file is copied segment by
segment, keeping what the picture needs (tables, frame, scans, and the ICC
profile that gives its colours) and leaving out every other APPn segment (EXIF
with its GPS, XMP, JFIF and its thumbnail, MPF, maker notes, Photoshop IRB),
every comment, and whatever follows the end of the image (a second picture, a
motion photo's video). The caller still decodes the result, at a reduced scale,
to prove that every byte of the entropy-coded data is sound.
"""

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP0, APP2, APP14, APP15, COM = 0xE0, 0xE2, 0xEE, 0xEF, 0xFE
RST0, RST7 = 0xD0, 0xD7
ICC_SIGNATURE = b"ICC_PROFILE\x00"
ADOBE_SIGNATURE = b"Adobe"


class MalformedJpeg(ValueError):
    """The marker structure is broken or ends early: not a JPEG we keep as it is."""


def _is_metadata(marker, payload_start, data):
    if marker == COM:
        return True
    if not APP0 <= marker <= APP15:
        return False
    return not (marker == APP2 and data.startswith(ICC_SIGNATURE, payload_start))


def _scan_end(data, pos):
    """Where the entropy-coded data starting at `pos` ends: at the first marker
    that is neither a stuffed zero (FF 00) nor a restart (FF D0–D7)."""
    end = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= end:
            raise MalformedJpeg("the image data ends before the end-of-image marker")
        following = data[pos + 1]
        if following == 0x00 or RST0 <= following <= RST7:
            pos += 2
        elif following == 0xFF:
            pos += 1  # a fill byte before the marker
        else:
            return pos


def strip_metadata(data):
    """`data` without its metadata segments and trailing bytes. Raises
    MalformedJpeg when its structure is broken, and when it carries an Adobe
    segment (whose colour transform the copy would lose: those go through the
    re-encoding path instead)."""
    if not data.startswith(b"\xff\xd8"):
        raise MalformedJpeg("no start-of-image marker")
    kept, pos, end = [b"\xff\xd8"], 2, len(data)
    while True:
        if pos >= end or data[pos] != 0xFF:
            raise MalformedJpeg("a marker was expected")
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            raise MalformedJpeg("the file ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker == EOI:
            kept.append(b"\xff\xd9")
            return b"".join(kept)
        if marker == SOI or marker == 0x00 or RST0 <= marker <= RST7:
            raise MalformedJpeg(f"marker FF{marker:02X} out of place")
        if pos + 2 > end:
            raise MalformedJpeg("the file ends inside a segment")
        length = int.from_bytes(data[pos:pos + 2], "big")
        segment_end = pos + length
        if length < 2 or segment_end > end:
            raise MalformedJpeg("a segment runs past the end of the file")
        if marker == APP14 and data.startswith(ADOBE_SIGNATURE, pos + 2):
            raise MalformedJpeg("an Adobe colour-transform segment")
        if not _is_metadata(marker, pos + 2, data):
            kept.append(data[pos - 2:segment_end])
        pos = segment_end
        if marker == SOS:
            scan_end = _scan_end(data, pos)
            kept.append(data[pos:scan_end])
            pos = scan_end
