"""One row per installed field app (device_id is a UUID the app makes once), with
what its last heartbeat said: how much is waiting to be sent, how much the server
refused, when it last synced, and how full its storage is. Supervisors use it to
find phones that have not synced for days before their photos are lost."""
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class Device(db.Model):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    app_version: Mapped[str | None] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    pending: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    oldest_pending_at: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]
    storage_used: Mapped[int | None] = mapped_column(BigInteger)
    storage_quota: Mapped[int | None] = mapped_column(BigInteger)
    persisted: Mapped[bool | None]
    # Failed sync attempts in the phone's last 24 h (server errors, or no answer
    # while it believed it was online), and the last one's time and error code.
    sync_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failure_at: Mapped[datetime | None]
    last_failure: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user = relationship("User")

    def __repr__(self):
        return f"<Device {self.device_id} user={self.user_id}>"
