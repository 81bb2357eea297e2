"""Heartbeats from the field app: what a phone says about its queue and storage.

`record_heartbeat` checks every field first (a wrong type, a negative count, an
overlong text or a bad time is a 422 naming the field, and nothing is written),
then inserts or updates the device's row in one statement (INSERT … ON CONFLICT
on both SQLite and PostgreSQL), so two heartbeats racing for a new device never
fail. No request objects here.
"""
from dataclasses import dataclass
from datetime import datetime


from ..errors import ApiError
from ..extensions import db, upsert
from ..intake import fields
from ..timeutil import utcnow
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
    sync_failures: int = 0
    last_failure_at: datetime | None = None
    last_failure: str | None = None


FAILURE_MAX = 64


def parse_heartbeat(data):
    fields.require_object(data, "The body must be a JSON object.")
    return Heartbeat(
        device_id=fields.text(data, "device_id", DEVICE_ID_MAX, required=True),
        app_version=fields.text(data, "app_version", APP_VERSION_MAX) or None,
        pending=fields.count(data, "pending", COUNT_MAX, default=0),
        rejected=fields.count(data, "rejected", COUNT_MAX, default=0),
        oldest_pending_at=fields.timestamp(data, "oldest_pending_at"),
        last_sync_at=fields.timestamp(data, "last_sync_at"),
        storage_used=fields.count(data, "storage_used", BYTES_MAX),
        storage_quota=fields.count(data, "storage_quota", BYTES_MAX),
        persisted=fields.flag(data, "persisted"),
        sync_failures=fields.count(data, "sync_failures", COUNT_MAX, default=0),
        last_failure_at=fields.timestamp(data, "last_failure_at"),
        last_failure=fields.text(data, "last_failure", FAILURE_MAX) or None,
    )


def may_report_for(user, device_id, logged_in_on=None):
    """Whether `user` may send heartbeats for `device_id`: a new device, one already
    theirs, or the phone they logged in on (their token names it: a phone shared by
    two workers moves to whoever logged in last). Anyone else's is not theirs to take."""
    owner = db.session.scalar(db.select(Device.user_id).where(Device.device_id == device_id))
    return owner is None or owner == user.id or (logged_in_on is not None and logged_in_on == device_id)


def record_heartbeat(user, data, *, user_agent=None, logged_in_on=None, now=None):
    """Validate the heartbeat `data` (a decoded JSON object) from `user`'s device
    and upsert its row: the device is now this user's. `logged_in_on`: the device
    id the user's token was issued for. Commits; returns the Device."""
    beat = parse_heartbeat(data)
    if not may_report_for(user, beat.device_id, logged_in_on):
        raise ApiError(409, "device_taken", "This device belongs to another account; log in on it to use it.",
                       "device_id")
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
        "sync_failures": beat.sync_failures,
        "last_failure_at": beat.last_failure_at,
        "last_failure": beat.last_failure,
        "last_seen_at": now,
    }
    statement = upsert(Device).values(device_id=beat.device_id, first_seen_at=now, **values)
    statement = statement.on_conflict_do_update(index_elements=["device_id"], set_=values)
    db.session.execute(statement)
    return db.session.scalar(db.select(Device).where(Device.device_id == beat.device_id))
