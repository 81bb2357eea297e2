"""Validation of a report's `meta` JSON. Every problem is an ApiError naming
the field, so the client can show it next to the right input."""
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from . import fields
from .fields import invalid

ADDRESS_MAX = 500
POSTER_MAX = 16  # posters.code
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
    # A hotline (12345) caller's number, normalised: set by the operators' hotline
    # form (web/hotline.py), never read from the API's JSON. With it, the
    # case has no reporter account: the operator is the actor of its "report" event.
    caller_phone: str | None = None
    # The code of the QR poster the report was started from (the place it is
    # about), upper case; intake checks that the poster exists.
    poster: str | None = None
    # The first photo's EXIF GPS as the phone read it before shrinking the photo
    # (which drops EXIF): compared with the phone's own position (place_checks.py).
    photo_lat: float | None = None
    photo_lng: float | None = None

    def canonical(self):
        """A stable text of the content, for telling a replay from a reuse."""
        data = asdict(self)
        data["captured_at"] = self.captured_at.isoformat() if self.captured_at else None
        for optional in ("location_source", "caller_phone", "poster", "photo_lat", "photo_lng"):
            if data[optional] is None:
                del data[optional]  # as before the field existed: old clients' replays still match
        return json.dumps(data, sort_keys=True, ensure_ascii=False)


def parse_meta(raw, *, description_max):
    """`raw` is the text of the meta part (or an already decoded dict)."""
    data = fields.json_object(raw, missing="The report has no 'meta' part.",
                              not_json="'meta' is not valid JSON.", not_object="'meta' must be a JSON object.")
    lat = fields.number(data, "lat", -90, 90)
    lng = fields.number(data, "lng", -180, 180)
    if (lat is None) != (lng is None):
        field = "lng" if lng is None else "lat"
        raise invalid(field, "lat and lng go together.", "required")
    location_source = fields.text(data, "location_source", 10)
    if location_source is not None and location_source not in CLIENT_LOCATION_SOURCES:
        raise invalid("location_source", f"location_source must be one of {', '.join(CLIENT_LOCATION_SOURCES)}.")
    if location_source is not None and lat is None:
        raise invalid("lat", "location_source goes with lat and lng.", "required")
    category = fields.text(data, "category", 16, required=True)
    photo_lat = fields.number(data, "photo_lat", -90, 90)
    photo_lng = fields.number(data, "photo_lng", -180, 180)
    if (photo_lat is None) != (photo_lng is None):
        raise invalid("photo_lng" if photo_lng is None else "photo_lat", "photo_lat and photo_lng go together.",
                      "required")
    return ReportMeta(
        client_id=fields.client_id(data),
        category=category,
        description=fields.text(data, "description", description_max) or "",
        lat=lat,
        lng=lng,
        accuracy_m=fields.number(data, "accuracy_m", 0, 1e6),
        captured_at=fields.timestamp(data, "captured_at", CAPTURED_FUTURE_SLACK),
        address=fields.text(data, "address", ADDRESS_MAX) or None,
        channel=fields.text(data, "channel", 16) or None,
        location_source=location_source,
        poster=(fields.text(data, "poster", POSTER_MAX) or "").upper() or None,
        photo_lat=photo_lat,
        photo_lng=photo_lng,
    )
