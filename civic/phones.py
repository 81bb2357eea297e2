"""Chinese phone numbers, in one place: reading them as people type them, and
masking them wherever people wrote them into a text.

People write one number in many ways: 13812345678, 138-1234-5678,
138 1234 5678, +86 138 1234 5678, full-width １３８１２３４５６７８ (a Chinese
input method's default), and now and then digits of another script. Every
part of the app that takes a number (registration, login, the texted codes
and their limits, the hotline, Open311) reads it through `normalise`, so one
number is one account and one rate-limit bucket however it was typed.
"""
import re
import unicodedata

MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Area code and number: 010 and 02x take 8 digits, the 4-digit codes 7 or 8.
LANDLINE = re.compile(r"0(?:10|2[0-9])[0-9]{8}|0[3-9][0-9]{2}[0-9]{7,8}")
SEPARATORS = re.compile(r"[\s\-–—.()（）]+")
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def _plain_char(ch):
    """One character as the matching reads it: a digit of any script as its ASCII
    digit, any dash as '-', any space as ' '; one character for one, so that
    positions in the plain text are positions in the original."""
    digit = unicodedata.decimal(ch, None)
    if digit is not None:
        return str(digit)
    if ch in DASHES:
        return "-"
    if ch.isspace():
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def plain(text):
    """`text` with ASCII digits, dashes and spaces, the same length as `text`."""
    return "".join(_plain_char(ch) for ch in text)


def normalise(raw):
    """The digits of a number as typed, without separators or the +86 / 0086 / 86
    prefix of a mobile number ('' if not text). Not yet checked to be a number."""
    if not isinstance(raw, str):
        return ""
    text = SEPARATORS.sub("", plain(raw))
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if len(text) == 13 and text.startswith("86") and MOBILE.fullmatch(text[2:]):
        text = text[2:]
    return text


def mobile(raw):
    """A mainland mobile number as 11 ASCII digits, or None."""
    text = normalise(raw)
    return text if MOBILE.fullmatch(text) else None


def mobile_or_landline(raw):
    """A mobile number, or a landline with its area code ('053188123456'), or None."""
    text = normalise(raw)
    return text if MOBILE.fullmatch(text) or LANDLINE.fullmatch(text) else None


# -- masking numbers in what people wrote ---------------------------------------------
# Matched on plain(text), replaced at the same positions in the original. A separator
# is one space, dash or dot between groups; a number never continues a longer one.
_SEP = r"[ \-.]?"
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})" + _SEP + r"(\d{4})" + _SEP + r"(\d{4})" + _SEP + r"(\d{3}[\dXx])"
                       r"(?![0-9A-Za-z])")
MOBILE_IN_TEXT = re.compile(r"(?<![\d.])((?:\+|00)?86[ \-]?)?(1[3-9]\d)" + _SEP + r"(\d{4})" + _SEP + r"(\d{4})"
                            r"(?![\d])")
LANDLINE_IN_TEXT = re.compile(r"(?<![\d.])([(（]?0\d{2,3}[)）]?[ \-]?)(\d{3,4})" + _SEP + r"(\d{4})(?!\d)")


def _landline_digits(match):
    area = re.sub(r"\D", "", match.group(1))
    return area + match.group(2) + match.group(3)


def mask_numbers(text):
    """Mobile, landline and ID-card numbers in `text` masked, in whatever form
    they were written: 138****5678, 0635-****4567, 110101********1234."""
    if not text:
        return text
    flat = plain(text)
    spans = []

    def take(match, replacement):
        start, end = match.span()
        if not any(start < e and s < end for s, e, _ in spans):
            spans.append((start, end, replacement))

    for m in ID_NUMBER.finditer(flat):
        take(m, f"{m.group(1)}********{m.group(4)[-4:]}")
    for m in MOBILE_IN_TEXT.finditer(flat):
        take(m, f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}")
    for m in LANDLINE_IN_TEXT.finditer(flat):
        if LANDLINE.fullmatch(_landline_digits(m)):
            take(m, f"{m.group(1)}****{m.group(3)}")
    for start, end, replacement in sorted(spans, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
