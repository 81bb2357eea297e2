"""Personal data in what people write: a report's text may carry someone's
mobile or ID-card number. Masked wherever a case is shown to people other than
its reporter and the city's staff (the public board, followers of a case)."""
import re

PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")


def scrub(text):
    """Mobile and ID-card numbers masked."""
    if not text:
        return text
    return ID_NUMBER.sub(r"\1********\2", PHONE.sub(r"\1****\2", text))
