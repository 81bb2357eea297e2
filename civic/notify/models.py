"""The log of group notifications: one row per message to a department's chat
group, with its status, attempts and next attempt."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class WebhookDelivery(db.Model):
    """One message about one case to one department's group.

    kind: dispatch | escalation | close; adapter: wecom | dingtalk | feishu.
    status: queued (waiting for next_attempt_at) → sent | failed. `message` is
    what was said (title, lines, link), kept so a retry says the same; the URL
    and secret are read from the department at each attempt (DingTalk and Feishu
    signatures carry the time of sending)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    adapter: Mapped[str] = mapped_column(String(16))
    message: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    department = relationship("Department")

    def to_dict(self):
        from ..timeutil import isoformat

        return {"kind": self.kind, "adapter": self.adapter, "status": self.status, "attempts": self.attempts,
                "last_error": self.last_error, "sent_at": isoformat(self.sent_at)}

    def __repr__(self):
        return f"<WebhookDelivery {self.id} {self.kind} {self.adapter} {self.status}>"
