"""Times are stored as naive UTC in the database (SQLite has no time zones) and
shown in the configured local zone (Asia/Shanghai by default)."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc_naive(value):
    """An aware datetime in UTC without tzinfo; a naive one is taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def isoformat(value):
    """ISO 8601 with an explicit UTC offset, or None."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).isoformat().replace("+00:00", "Z")
