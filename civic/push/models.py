"""Web Push: the browsers' subscriptions, each user's notification preferences,
and a log of every notification sent (or tried) with its outcome."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

DEFAULT_NIGHT = "22:00-07:00"


class PushSubscription(db.Model):
    """One browser's push subscription (one installed app on one phone) for one user.

    The endpoint is unique; it is stored whole (Text) and found by its SHA-256
    (endpoint_hash, unique), since push services' URLs can be long. `failures`
    counts the deliveries in a row that ended in failure on this subscription
    (0 again after a success): the subscription is "active" while it is 0."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))  # base64url, no padding, of the 65-byte point
    auth: Mapped[str] = mapped_column(String(32))     # base64url, no padding, of 16 bytes
    user_agent: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)

    user = relationship("User")

    @property
    def active(self):
        return self.failures == 0

    def __repr__(self):
        return f"<PushSubscription {self.id} user={self.user_id}>"


class NotificationPreference(db.Model):
    """A user's choices; a user without a row has the defaults."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    mute_at_night: Mapped[bool] = mapped_column(default=False)
    night: Mapped[str] = mapped_column(String(11), default=DEFAULT_NIGHT)  # "HH:MM-HH:MM", local time
    resident_updates: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PushDelivery(db.Model):
    """One notification to one user through one channel: a push to one
    subscription, or an SMS when the user has no working push subscription.

    status: queued (waiting for next_attempt_at) → sent | failed | gone (the push
    service said the subscription no longer exists). Deliveries made together
    for one notification to one user share a `batch`."""

    __tablename__ = "push_deliveries"
    __table_args__ = (Index("ix_push_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(8), default="push")  # push | sms
    kind: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]

    subscription = relationship("PushSubscription")
    user = relationship("User")

    def __repr__(self):
        return f"<PushDelivery {self.id} {self.kind} {self.channel} {self.status}>"
