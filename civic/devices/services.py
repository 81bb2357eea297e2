"""Heartbeats from the field app: what a phone says about its queue and storage.

`record_heartbeat` checks every field first (a wrong type, a negative count, an
overlong text or a bad time is a 422 naming the field, and nothing is written),
then inserts or updates the device's row in one statement (INSERT … ON CONFLICT
on both SQLite and PostgreSQL), so two heartbeats racing for a new device never
fail. No request objects here.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite

from ..errors import ApiError
from ..extensions import db
from ..timeutil import to_utc_naive, utcnow
from .models import Device

DEVICE_ID_MAX = 64
APP_VERSION_MAX = 32
USER_AGENT_MAX = 256
COUNT_MAX = 2**31 - 1        # an INTEGER column on PostgreSQL
BYTES_MAX = 2**63 - 1        # a BIGINT column


@dataclass(frozen=True)
class Heartbeat:
    device_id: str
    app_version: str | None
    pending: int
    rejected: int
    oldest_pending_at: datetime | None
    last_sync_at: datetime | None
    storage_used: int | None
    storage_quota: int | None
    persisted: bool | None


def _invalid(field, message, code="invalid"):
    return ApiError(422, code, message, field)


def _text(data, field, limit, required=False):
    value = data.get(field)
    if value is None:
        if required:
            raise _invalid(field, f"{field} is required.", "required")
        return None
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be text.")
    if "\x00" in value:
        raise _invalid(field, f"{field} contains a NUL character.")
    value = value.strip()
    if required and not value:
        raise _invalid(field, f"{field} is required.", "required")
    if len(value) > limit:
        raise _invalid(field, f"{field} is too long (at most {limit} characters).", "too_long")
    return value or None


def _count(data, field, limit, default=None):
    value = data.get(field)
    if value is None:
        return default
    # bool is an int in Python, and 3.0 or "3" are not counts: all wrong types here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"{field} must be a whole number.")
    if not 0 <= value <= limit:
        raise _invalid(field, f"{field} must be between 0 and {limit}.", "out_of_range")
    return value


def _time(data, field):
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be an ISO 8601 date and time.")
    try:
        return to_utc_naive(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        raise _invalid(field, f"{field} must be an ISO 8601 date and time.") from None


def _flag(data, field):
    value = data.get(field)
    if value is None or isinstance(value, bool):
        return value
    raise _invalid(field, f"{field} must be true, false or null.")


def parse_heartbeat(data):
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return Heartbeat(
        device_id=_text(data, "device_id", DEVICE_ID_MAX, required=True),
        app_version=_text(data, "app_version", APP_VERSION_MAX),
        pending=_count(data, "pending", COUNT_MAX, default=0),
        rejected=_count(data, "rejected", COUNT_MAX, default=0),
        oldest_pending_at=_time(data, "oldest_pending_at"),
        last_sync_at=_time(data, "last_sync_at"),
        storage_used=_count(data, "storage_used", BYTES_MAX),
        storage_quota=_count(data, "storage_quota", BYTES_MAX),
        persisted=_flag(data, "persisted"),
    )


def _insert():
    return (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(Device)


def record_heartbeat(user, data, *, user_agent=None, now=None):
    """Validate the heartbeat `data` (a decoded JSON object) from `user`'s device
    and upsert its row: the device is now this user's. Commits; returns the Device."""
    beat = parse_heartbeat(data)
    now = now or utcnow()
    values = {
        "user_id": user.id,
        "app_version": beat.app_version,
        "user_agent": (user_agent or "")[:USER_AGENT_MAX] or None,
        "pending": beat.pending,
        "rejected": beat.rejected,
        "oldest_pending_at": beat.oldest_pending_at,
        "last_sync_at": beat.last_sync_at,
        "storage_used": beat.storage_used,
        "storage_quota": beat.storage_quota,
        "persisted": beat.persisted,
        "last_seen_at": now,
    }
    statement = _insert().values(device_id=beat.device_id, first_seen_at=now, **values)
    statement = statement.on_conflict_do_update(index_elements=["device_id"], set_=values)
    try:
        db.session.execute(statement)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return db.session.scalar(db.select(Device).where(Device.device_id == beat.device_id))
