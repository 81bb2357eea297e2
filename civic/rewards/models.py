from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class PointEntry(db.Model):
    """One line of a resident's points ledger. Never updated or deleted (except
    with the whole account, when its owner deletes it): the balance is the sum.

    kinds: report_valid (a report accepted as valid), report_fixed (it led to a
    fix), redeem (points spent, negative), refund (a cancelled redemption), adjust.
    A grant that was withheld is written with 0 points and the reason, so a
    resident can see why (daily_cap, cooldown, photo_reused)."""

    __tablename__ = "point_entries"
    __table_args__ = (UniqueConstraint("user_id", "case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@event.listens_for(PointEntry, "before_update")
def _ledger_is_append_only(_mapper, _connection, target):
    raise RuntimeError(f"point entry {target.id} is append-only")


class RewardItem(db.Model):
    """Something points buy: a bag of salt, a bus-card top-up. Stock never goes
    below zero (a check constraint, and a conditional UPDATE when redeeming)."""

    __tablename__ = "reward_items"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),
                      CheckConstraint("cost > 0", name="cost_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    cost: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Redemption(db.Model):
    """Points exchanged for an item: a one-time code the resident shows, which
    staff verify and mark used (once)."""

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("reward_items.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    cost: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="issued")  # issued | used | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)

    item = relationship("RewardItem")
    user = relationship("User", foreign_keys=[user_id])
