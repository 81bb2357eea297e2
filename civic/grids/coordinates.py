"""Coordinates typed by a person or sent as form text (the hotline form, Open311):
one reading of them for the whole app. JSON clients send numbers, checked by
intake/fields.number."""
import math
import re
import unicodedata

TYPED_MAX = 40  # characters: a coordinate as typed, spaces and all
# Plain decimal degrees: no exponent, no "_" (float() takes "3_6.5" as 36.5), no "inf".
DEGREES = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{1,12})?")


class OutOfRange(ValueError):
    """A number, but not between the bounds."""


def parse_degrees(raw, low, high):
    """WGS-84 degrees from text: full-width digits and a trailing ° are read as
    typed on a Chinese keyboard. None when blank; ValueError (its message says
    what is wrong; OutOfRange for a number past the bounds) when it is not a number
    from `low` to `high`."""
    text = unicodedata.normalize("NFKC", raw or "").strip().rstrip("°").strip()
    if not text:
        return None
    if len(text) > TYPED_MAX:
        raise ValueError("too long for a coordinate")
    if not DEGREES.fullmatch(text):
        raise ValueError("not a decimal number")
    value = float(text)
    if not math.isfinite(value) or not low <= value <= high:
        raise OutOfRange(f"not between {low} and {high}")
    return value
