"""The audit log: one row per administrative change and per login, never changed
afterwards (the ORM refuses an update or delete of an entry, and the database
refuses an UPDATE: migration 0014's trigger)."""
from datetime import datetime

from sqlalchemy import JSON, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # No foreign key, and the name kept as it was: the log outlives renamed and deleted accounts
    # (and an ON DELETE SET NULL would be an UPDATE, which the log refuses).
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_name: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40), index=True)  # e.g. user.create, user.deactivate, login
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[int | None]
    target_label: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class AppendOnly(Exception):
    """An audit entry was about to be changed or deleted: a programming error."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, entry):
    raise AppendOnly(f"audit entry {entry.id} is append-only")
