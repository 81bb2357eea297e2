from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

KINDS = ("grid", "park", "market", "bus_stop", "street", "community", "other")


class Poster(db.Model):
    """A place with a printed QR code. The code is short and random: a poster
    can be replaced (a new code) when an old one is defaced or copied."""

    __tablename__ = "posters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="grid")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    address: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grid = relationship("Grid")
