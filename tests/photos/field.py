"""The photo the field app sends, made from the repository's fixtures: the phone
photo shrunk to 1600×1200 and saved at the browser's quality, with a Nikon's EXIF
GPS block (the field app's canvas drops EXIF; a resident's browser upload of an
already small photo keeps it). About 300 KB."""
import io
from functools import lru_cache

from PIL import Image

from tests.conftest import photo_path

FIELD_SIZE = (1600, 1200)


@lru_cache(maxsize=None)
def field_photo(quality=88, icc_profile=None):
    exif = Image.open(photo_path("gps/DSCN0010.jpg")).getexif()
    image = Image.open(photo_path("mobile/jolla.jpg")).resize(FIELD_SIZE, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes(), **options)
    return out.getvalue()
