"""A case is one reported problem: a point, a grid, a department, photos, and a
status that moves through the workflow with deadlines. Every change is an
append-only CaseEvent."""
import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..spatial import point_column_type
from ..timeutil import utcnow


class Status(str, enum.Enum):
    REPORTED = "reported"          # 上报: received, not yet filed
    ACCEPTED = "accepted"          # 受理/立案
    REJECTED = "rejected"          # 不予受理 (invalid, duplicate, out of scope)
    DISPATCHED = "dispatched"      # 派遣 to a department
    ACKNOWLEDGED = "acknowledged"  # "收到"
    IN_PROGRESS = "in_progress"    # 处置中
    HANDLED = "handled"            # 处置完成, waiting for verification
    CLOSED = "closed"              # 结案
    PARKED = "parked"              # 挂账: waits for a budget or a season, until its review date; no clock runs


OPEN_STATUSES = {s.value for s in Status} - {Status.REJECTED.value, Status.CLOSED.value}
# A department is working on it: its clocks run, it can be late (a parked case is
# open but none of these: never overdue).
WORKING_STATUSES = (Status.DISPATCHED.value, Status.ACKNOWLEDGED.value, Status.IN_PROGRESS.value)


class Channel(str, enum.Enum):
    GRID_WORKER = "grid_worker"
    RESIDENT = "resident"
    HOTLINE = "hotline"
    QR = "qr"
    OPEN311 = "open311"  # filed by another system through GeoReport v2 (civic/open311/)


class ExtensionStatus(str, enum.Enum):
    """延期: a request for more time, decided by a supervisor."""
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class ParkStatus(str, enum.Enum):
    """挂账: a department's request to park a case, decided by a supervisor; an
    approved one ends when the case is resumed (on its review date or before)."""
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    RESUMED = "resumed"


class RecheckStatus(str, enum.Enum):
    """复核 of an unsatisfied rating: pending until upheld or reopened."""
    PENDING = "pending"
    UPHELD = "upheld"
    REOPENED = "reopened"


class Score(str, enum.Enum):
    """A reporter's rating of the result: 满意 / 基本满意 / 不满意."""
    SATISFIED = "satisfied"
    BASIC = "basic"
    UNSATISFIED = "unsatisfied"


class LocationSource(str, enum.Enum):
    DEVICE = "device"
    EXIF = "exif"
    MANUAL = "manual"
    NONE = "none"


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        # What is open now, by status, deadline, grid, department and category, with
        # the id and the point: the supervisors' map (shading and clusters) and the
        # "overdue now" count and list read the open cases from this index alone (an index-only scan on PostgreSQL), never
        # touching the closed bulk of the table. It also serves every status filter.
        Index("ix_cases_status_due", "status", "resolve_due_at", "grid_id", "department_id", "category_id", "id",
              "lat", "lng"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    # SHA-256 over the submitted metadata and photo bytes: tells a replay from a reuse.
    content_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None]
    lng: Mapped[float | None]
    point = mapped_column(point_column_type(), nullable=True)
    location_source: Mapped[str] = mapped_column(String(10))
    accuracy_m: Mapped[float | None]
    # What the place checks found (intake/place_checks.py): outside_county, old_photo,
    # photo_far_from_device; None or [] when nothing. Shown to the dispatcher, never a refusal.
    location_flags: Mapped[list | None] = mapped_column(JSON)
    address: Mapped[str | None] = mapped_column(Text)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=Status.REPORTED.value)  # ix_cases_status_due
    captured_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ack_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The person the case is assigned to: a grid worker who handles it on site, or
    # a named member of staff. Department staff of case.department may act on it too.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime | None]
    # A duplicate merged ("me too") into the case that goes on; this one is rejected.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The hotline (12345) caller's number: operators see it masked, like reporters' phones.
    caller_phone: Mapped[str | None] = mapped_column(String(20))
    # The QR poster (place) it was reported from, if any: pre-fills the place and
    # counts for the reward cooldown per place.
    poster_id: Mapped[int | None] = mapped_column(ForeignKey("posters.id"), index=True)
    # 退回 disputes: "arbitration" after its second return (a supervisor decides the
    # department), "decided" once one has (final: it can no longer be returned).
    dispute: Mapped[str | None] = mapped_column(String(16))
    # 挂账: the review date of a parked case, when it comes back (cases/parking.py).
    parked_until: Mapped[datetime | None] = mapped_column(index=True)
    # Its urgency level (cases/urgency.py): the category's, unless a dispatcher set another.
    urgency: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    reporter = relationship("User", foreign_keys=[reporter_id])
    merged_into = relationship("Case", remote_side=[id], foreign_keys=[merged_into_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    category = relationship("Category")
    grid = relationship("Grid")
    department = relationship("Department")
    poster = relationship("Poster")
    photos = relationship("Photo", back_populates="case", order_by="Photo.position", cascade="all, delete-orphan")
    events = relationship("CaseEvent", back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan")
    stages = relationship("CaseStage", back_populates="case", order_by="CaseStage.id", cascade="all, delete-orphan")

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES


class CaseEvent(db.Model):
    """The audit trail: who did what to a case, when, from which status to which."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    # The device-made id of a task action (UUID): a replay never applies twice.
    client_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    case = relationship("Case", back_populates="events")
    actor = relationship("User")


class CaseStage(db.Model):
    """One stage of a case (cases/stages.py): accept, dispatch, acknowledge, handle,
    verify or close, with its owner, its clock and whether it ended in time. A stage
    runs again after a return, a re-route, a rework or a reopening: a new round."""

    __tablename__ = "case_stages"
    __table_args__ = (
        UniqueConstraint("case_id", "stage", "round", name="uq_case_stages_round"),
        # The evaluation reads a period's ended stages by stage.
        Index("ix_case_stages_stage_done", "stage", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(default=1)
    owner_kind: Mapped[str] = mapped_column(String(16))  # dispatch | department | user
    owner_id: Mapped[int | None]                        # the department's or the user's id
    urgency: Mapped[str] = mapped_column(String(16))     # the level its limit was taken at
    started_at: Mapped[datetime]
    due_at: Mapped[datetime | None]                      # None: no clock (closing)
    done_at: Mapped[datetime | None]
    on_time: Mapped[bool | None]
    # How it ended: done, or returned / rerouted / rejected / merged / failed (a failed check) / parked
    outcome: Mapped[str | None] = mapped_column(String(16))

    case = relationship("Case", back_populates="stages")


@event.listens_for(CaseEvent, "before_update")
def _events_are_append_only(_mapper, _connection, target):
    raise RuntimeError(f"case event {target.id} is append-only")


class CaseFollower(db.Model):
    """Someone who follows a case they did not report: the reporters of the
    duplicates merged into it. They see its progress as its reporter does."""

    __tablename__ = "case_followers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    via_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExtensionRequest(db.Model):
    """A request for more time (延期) on a case's resolve deadline, decided by a
    supervisor. At most one pending per case (a partial unique index)."""

    __tablename__ = "extension_requests"
    __table_args__ = (
        Index("uq_extension_requests_one_pending", "case_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ExtensionStatus.PENDING.value)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParkRequest(db.Model):
    """挂账: a request to park a case that cannot be solved now, with the reason, what
    it needs (a budget, a season, another body's decision) and a review date. At
    most one pending per case (a partial unique index)."""

    __tablename__ = "park_requests"
    __table_args__ = (
        Index("uq_park_requests_one_pending", "case_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    needs: Mapped[str] = mapped_column(Text)
    review_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=ParkStatus.PENDING.value)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    resumed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplyTemplate(db.Model):
    """惯用语: a reply staff pick for a step and edit before sending, for one category
    or (category NULL) for every category; placeholders filled from the case
    (cases/replies.py). Kept by the administrators."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(32), index=True)  # the workflow step it is for
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category = relationship("Category")


class CaseReminder(db.Model):
    """Bookkeeping of the chasing job (chasing.py): one row per reminder or
    escalation sent for one deadline of a case; the unique key makes sending
    idempotent, also when two jobs run at once."""

    __tablename__ = "case_reminders"
    __table_args__ = (UniqueConstraint("case_id", "kind", "clock", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))    # remind | escalate
    clock: Mapped[str] = mapped_column(String(16))   # ack | resolve
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(db.Model):
    """A reporter's (or follower's) verdict on how a case was handled (市民评价):
    satisfied, basically satisfied or unsatisfied, with a comment. One per person
    per round of handling (a recheck that reopens a case starts a new round). The
    department it rates is kept, for the departments' satisfaction rates."""

    __tablename__ = "case_ratings"
    __table_args__ = (UniqueConstraint("case_id", "user_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    # NULL once the resident has deleted their account: the rating still counts.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    score: Mapped[str] = mapped_column(String(16))  # a Score
    comment: Mapped[str | None] = mapped_column(Text)
    round: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Recheck(db.Model):
    """复核: an unsatisfied rating, looked at again by someone other than the
    department that handled the case. Upheld (the work stands, the case closes)
    or reopened (back to the department on fresh deadlines). At most one pending
    per case (a partial unique index)."""

    __tablename__ = "case_rechecks"
    __table_args__ = (
        Index("uq_case_rechecks_one_pending", "case_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    rating_id: Mapped[int | None] = mapped_column(ForeignKey("case_ratings.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))  # whose work is rechecked
    status: Mapped[str] = mapped_column(String(16), default=RecheckStatus.PENDING.value)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
