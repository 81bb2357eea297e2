"""Times are stored as naive UTC in the database (SQLite has no time zones) and
shown in the configured local zone (Asia/Shanghai by default)."""
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app

from .config import DEFAULT_TIMEZONE


@lru_cache(maxsize=8)
def _zone(name):
    return ZoneInfo(name)


def local_zone(config=None):
    """The county's time zone (CIVIC_TIMEZONE), from `config` or the current app's."""
    config = current_app.config if config is None else config
    return _zone(config.get("TIMEZONE") or DEFAULT_TIMEZONE)


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
