"""Validation of a report's `meta` JSON. Every problem is an ApiError naming
the field, so the client can show it next to the right input."""
import json
import math
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from ..errors import ApiError
from ..timeutil import to_utc_naive, utcnow

ADDRESS_MAX = 500
CLIENT_LOCATION_SOURCES = ("device", "exif", "manual")
CAPTURED_FUTURE_SLACK = timedelta(days=1)  # phone clocks drift; a day ahead is a wrong clock


@dataclass(frozen=True)
class ReportMeta:
    client_id: str
    category: str
    description: str
    lat: float | None
    lng: float | None
    accuracy_m: float | None
    captured_at: datetime | None
    address: str | None
    channel: str | None
    # Where the client's lat/lng came from: the phone's GPS ("device", the
    # default), the photo's EXIF read on the phone before it was shrunk
    # ("exif"), or a pin the reporter placed ("manual").
    location_source: str | None = None

    def canonical(self):
        """A stable text of the content, for telling a replay from a reuse."""
        data = asdict(self)
        data["captured_at"] = self.captured_at.isoformat() if self.captured_at else None
        if data["location_source"] is None:
            del data["location_source"]  # as before the field existed: old clients' replays still match
        return json.dumps(data, sort_keys=True, ensure_ascii=False)


def invalid(field, message, code="invalid"):
    return ApiError(422, code, message, field)


def _number(data, field, low, high):
    value = data.get(field)
    if value is None:
        return None
    # bool is an int in Python; "30.1" is a string: both are wrong types here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(field, f"{field} must be a number.")
    value = float(value)
    if not math.isfinite(value) or not low <= value <= high:
        raise invalid(field, f"{field} must be between {low} and {high}.", "out_of_range")
    return value


def _text(data, field, limit, required=False):
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
    if len(value) > limit:
        raise invalid(field, f"{field} is too long (at most {limit} characters).", "too_long")
    return value


def _client_id(data):
    value = data.get("client_id")
    if value is None:
        raise invalid("client_id", "client_id is required.", "required")
    if not isinstance(value, str):
        raise invalid("client_id", "client_id must be a UUID string.")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid("client_id", "client_id must be a UUID.") from None


def _captured_at(data):
    value = data.get("captured_at")
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("captured_at", "captured_at must be an ISO 8601 date and time.")
    try:
        parsed = to_utc_naive(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):  # overflow: 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise invalid("captured_at", "captured_at must be an ISO 8601 date and time.") from None
    if parsed > utcnow() + CAPTURED_FUTURE_SLACK:
        raise invalid("captured_at", "captured_at is in the future; check the phone's clock.", "out_of_range")
    return parsed


def parse_meta(raw, *, description_max):
    """`raw` is the text of the meta part (or an already decoded dict)."""
    if raw is None:
        raise ApiError(400, "meta_required", "The report has no 'meta' part.", "meta")
    if isinstance(raw, (str, bytes)):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "'meta' is not valid JSON.", "meta") from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "'meta' must be a JSON object.", "meta")

    lat = _number(data, "lat", -90, 90)
    lng = _number(data, "lng", -180, 180)
    if (lat is None) != (lng is None):
        field = "lng" if lng is None else "lat"
        raise invalid(field, "lat and lng go together.", "required")
    location_source = _text(data, "location_source", 10)
    if location_source is not None and location_source not in CLIENT_LOCATION_SOURCES:
        raise invalid("location_source", f"location_source must be one of {', '.join(CLIENT_LOCATION_SOURCES)}.")
    if location_source is not None and lat is None:
        raise invalid("lat", "location_source goes with lat and lng.", "required")
    category = _text(data, "category", 16, required=True)
    if not category:
        raise invalid("category", "category is required.", "required")
    return ReportMeta(
        client_id=_client_id(data),
        category=category,
        description=_text(data, "description", description_max) or "",
        lat=lat,
        lng=lng,
        accuracy_m=_number(data, "accuracy_m", 0, 1e6),
        captured_at=_captured_at(data),
        address=_text(data, "address", ADDRESS_MAX) or None,
        channel=_text(data, "channel", 16) or None,
        location_source=location_source,
    )
