"""EXIF readers: the forms cameras write, and the broken ones."""
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from civic.photos import exif

SHANGHAI = ZoneInfo("Asia/Shanghai")


def exif_with_gps(lat, lat_ref, lng, lng_ref):
    data = Image.Exif()
    gps = data.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
    gps[ExifTags.GPS.GPSLatitude] = lat
    gps[ExifTags.GPS.GPSLongitudeRef] = lng_ref
    gps[ExifTags.GPS.GPSLongitude] = lng
    return data


def r(value):
    return IFDRational(Fraction(value).limit_denominator(10**7))


def test_degrees_minutes_seconds_north_east():
    data = exif_with_gps((r(36), r(34), r(48)), "N", (r(116), r(15), r(0)), "E")
    lat, lng = exif.gps_position(data)
    assert abs(lat - 36.58) < 1e-9 and abs(lng - 116.25) < 1e-9


def test_decimal_minutes_and_south_west():
    data = exif_with_gps((r(33), r("51.5"), r(0)), "S", (r(151), r("12.6"), r(0)), "W")
    lat, lng = exif.gps_position(data)
    assert abs(lat + (33 + 51.5 / 60)) < 1e-9
    assert abs(lng + (151 + 12.6 / 60)) < 1e-9


def test_zero_position_and_zero_denominator_are_no_position():
    assert exif.gps_position(exif_with_gps((r(0), r(0), r(0)), "N", (r(0), r(0), r(0)), "E")) is None
    broken = exif_with_gps((IFDRational(1, 0), r(0), r(0)), "N", (r(116), r(0), r(0)), "E")
    assert exif.gps_position(broken) is None


def test_out_of_range_and_wrong_types_are_ignored():
    assert exif.gps_position(exif_with_gps((r(95), r(0), r(0)), "N", (r(116), r(0), r(0)), "E")) is None
    assert exif.gps_position(exif_with_gps("north", "N", (r(116), r(0), r(0)), "E")) is None
    assert exif.gps_position(Image.Exif()) is None


def test_taken_at_uses_offset_or_local_zone():
    data = Image.Exif()
    sub = data.get_ifd(ExifTags.IFD.Exif)
    sub[ExifTags.Base.DateTimeOriginal] = "2026:11:20 09:30:00"
    assert exif.taken_at(data, SHANGHAI) == datetime(2026, 11, 20, 1, 30)
    sub[ExifTags.Base.OffsetTimeOriginal] = "+02:00"
    assert exif.taken_at(data, SHANGHAI) == datetime(2026, 11, 20, 7, 30)
    sub[ExifTags.Base.DateTimeOriginal] = "0000:00:00 00:00:00"
    assert exif.taken_at(data, SHANGHAI) is None


def test_orientation_defaults_to_upright():
    data = Image.Exif()
    assert exif.orientation(data) == 1
    data[ExifTags.Base.Orientation] = 6
    assert exif.orientation(data) == 6
    data[ExifTags.Base.Orientation] = 99
    assert exif.orientation(data) == 1
