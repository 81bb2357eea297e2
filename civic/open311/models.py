"""Keys that let another system file service requests (GeoReport v2's api_key).
Only the SHA-256 of a key is stored; the key itself is shown once, when made."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class ApiKey(db.Model):
    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))  # the key's first characters, to tell keys apart in lists
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    requests: Mapped[int] = mapped_column(default=0)
    revoked_at: Mapped[datetime | None]

    @property
    def active(self):
        return self.revoked_at is None
