from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class Photo(db.Model):
    """A stored photo: an upright display copy and a thumbnail, both stripped of
    EXIF. The original bytes are not kept; their SHA-256 and a perceptual hash
    are, to recognise a photo used twice."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="before")  # before | after
    position: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    phash: Mapped[str] = mapped_column(String(16), index=True)
    width: Mapped[int]
    height: Mapped[int]
    bytes: Mapped[int]
    source_format: Mapped[str] = mapped_column(String(10))
    display_key: Mapped[str] = mapped_column(String(128), index=True)
    thumb_key: Mapped[str] = mapped_column(String(128), index=True)
    taken_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case", back_populates="photos")
