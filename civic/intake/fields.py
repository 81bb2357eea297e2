"""Readers for the fields of the JSON that phones send: a report's meta
(meta.py), a task action (actions.py) and a heartbeat (devices/services.py).

They live here once so that the same mistake gets the same answer everywhere:
a 422 ApiError naming the field, with the same code and message, whichever of
the three sent it. Each module keeps only its own fields and rules; each reader
takes the decoded object and a field name and returns the clean value (None
when the field is absent). No request objects here.
"""
import json
import math
import uuid
from datetime import datetime

from ..errors import ApiError
from ..timeutil import to_utc_naive, utcnow


def invalid(field, message, code="invalid"):
    return ApiError(422, code, message, field)


def json_object(raw, *, missing, not_json, not_object, field="meta"):
    """`raw` as a dict: JSON text or bytes are decoded, a dict is taken as it is.
    The messages are the caller's, so each names its own part."""
    if raw is None:
        raise ApiError(400, "meta_required", missing, field)
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[…]]]] nested too deep
            raise ApiError(400, "invalid_json", not_json, field) from None
    return require_object(raw, not_object, field)


def require_object(data, message, field=None):
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", message, field)
    require_unicode(data, field)
    return data


def require_unicode(value, field=None):
    """JSON may escape half of a surrogate pair ("\\udcff"): a string that is no
    text at all, which no database can store. Refused anywhere in the object."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ApiError(400, "invalid_json", "The JSON holds a broken character (a lone surrogate).",
                               field) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def is_integer(value):
    # bool is an int in Python, and 3.0 or "3" are not integers: all wrong types here.
    return isinstance(value, int) and not isinstance(value, bool)


def text(data, field, limit, required=False):
    """The text stripped, "" if it was blank; `required` refuses absent and blank."""
    value = data.get(field)
    if value is None:
        if required:
            raise invalid(field, f"{field} is required.", "required")
        return None
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be text.")
    if "\x00" in value:
        raise invalid(field, f"{field} contains a NUL character.")
    value = value.strip()
    if required and not value:
        raise invalid(field, f"{field} is required.", "required")
    if len(value) > limit:
        raise invalid(field, f"{field} is too long (at most {limit} characters).", "too_long")
    return value


def client_id(data):
    """The required `client_id`, a UUID in its canonical spelling."""
    value = data.get("client_id")
    if value is None:
        raise invalid("client_id", "client_id is required.", "required")
    if not isinstance(value, str):
        raise invalid("client_id", "client_id must be a UUID string.")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid("client_id", "client_id must be a UUID.") from None


def timestamp(data, field, future_slack=None):
    """An ISO 8601 time as naive UTC; with `future_slack`, no later than that past now."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be an ISO 8601 date and time.")
    try:
        parsed = to_utc_naive(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):  # overflow: 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise invalid(field, f"{field} must be an ISO 8601 date and time.") from None
    if future_slack is not None and parsed > utcnow() + future_slack:
        raise invalid(field, f"{field} is in the future; check the phone's clock.", "out_of_range")
    return parsed


def number(data, field, low, high):
    """A finite float between `low` and `high`; "30.1" (a string) is the wrong type."""
    value = data.get(field)
    if value is None:
        return None
    if not (is_integer(value) or isinstance(value, float)):
        raise invalid(field, f"{field} must be a number.")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise invalid(field, f"{field} must be between {low} and {high}.", "out_of_range")
    return value


def count(data, field, limit, default=None):
    """A whole number between 0 and `limit`; `default` when absent."""
    value = data.get(field)
    if value is None:
        return default
    if not is_integer(value):
        raise invalid(field, f"{field} must be a whole number.")
    if not 0 <= value <= limit:
        raise invalid(field, f"{field} must be between 0 and {limit}.", "out_of_range")
    return value


def flag(data, field):
    """True, False or None."""
    value = data.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise invalid(field, f"{field} must be true, false or null.")
