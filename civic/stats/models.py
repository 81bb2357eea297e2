"""The daily roll-up of case activity that dashboards read instead of the case
table: one row per (local day, department, grid, category), additive counters
only, so an event adds to one row with an upsert and any period is a SUM.

A case with no department (unrouted, returned) or no grid (outside every grid)
is counted under 0, not NULL: the key is the primary key, and a NULL in a unique
key would make every such row distinct on both SQLite and PostgreSQL, which
would break the ON CONFLICT upsert. 0 is never a real id, so these columns carry
no foreign key.
"""
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# Upper edges (minutes, inclusive) of the histogram buckets for the time to
# acknowledge and to resolve; a last bucket holds everything above the last edge.
BUCKET_EDGES = (15, 30, 60, 120, 240, 480, 1440, 2880, 7200)
BUCKETS = len(BUCKET_EDGES) + 1

COUNTERS = (
    "reported",              # report events (the routed department, if any)
    "accepted",              # accept, or dispatch straight from reported
    "rejected",              # reject and merge (a duplicate is refused too)
    "dispatched",            # dispatch and reroute: the case arrives at a department
    "acknowledged",
    "acknowledged_on_time",  # acknowledged in time from the dispatch (the acknowledge stage's clock)
    "handled",
    "handled_on_time",       # handled in time from the acknowledgement (the handle stage's clock)
    "closed",                # any move into closed (verify, or a rating / recheck that closes it)
    "reopened",              # reopen and recheck_reopen
    "returned",              # 退回, counted against the department that returned it
    "rework",                # verify_fail (返工)
    "ratings", "satisfied", "basic", "unsatisfied",
    "ack_minutes_sum", "resolve_minutes_sum",
    # The dispatchers' own stages (cases/stages.py): accept stages ended (accepted,
    # dispatched from the queue, rejected or merged) and those ended in time; the
    # same for dispatch stages. Counted for the department the case went to (0: none).
    "accept_stages", "accept_stages_on_time", "dispatch_stages", "dispatch_stages_on_time",
)
ACK_BUCKETS = tuple(f"ack_h{n}" for n in range(BUCKETS))
RESOLVE_BUCKETS = tuple(f"resolve_h{n}" for n in range(BUCKETS))
ALL_COUNTERS = COUNTERS + ACK_BUCKETS + RESOLVE_BUCKETS
KEY = ("day", "department_id", "grid_id", "category_id")


class DailyCaseStats(db.Model):
    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)  # 0: none
    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True)                    # 0: none
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)


DIMENSIONS = ("department", "grid", "category")


class DailyDimensionStats(db.Model):
    """The same counters summed per day and department, per day and grid, per day
    and category. Kept in the same upsert as stats_daily, so a view of
    departments over a month reads 30 rows per department instead of every grid ×
    category row: the unfiltered dashboards stay fast at 10 million cases.
    Filtered views (a grid's departments) read stats_daily.

    Every row belongs to one department (department_id is in the key; for the
    department dimension it is the key itself), and the day's total is the sum of
    its department rows, read at query time: two reports for different
    departments never add to the same row, so neither waits for the other's
    commit (a single row per day that every report updated was the hot spot)."""
    __tablename__ = "stats_daily_by"

    # Dimension first: a view reads one dimension's rows for a run of days, a range of the key.
    dimension: Mapped[str] = mapped_column(String(12), primary_key=True)  # one of DIMENSIONS
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)       # the id; 0: none
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default="0")  # 0: none


class KeywordStats(db.Model):
    """Cases per local day whose description has the word (jieba; keywords.py),
    per department the report was routed to (so that reports for different
    departments never add to the same row; views sum over departments)."""
    __tablename__ = "stats_keywords"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    word: Mapped[str] = mapped_column(String(32), primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default="0")  # 0: none
    n: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


# The counters as columns, written out once here rather than 40 times by hand.
for _model in (DailyCaseStats, DailyDimensionStats):
    for _name in ALL_COUNTERS:
        _type = BigInteger if _name.endswith("_sum") else Integer
        setattr(_model, _name, mapped_column(_name, _type, nullable=False, server_default="0"))
del _model, _name, _type


class EvaluationExclusion(db.Model):
    """A case a supervisor left out of the evaluation (考核), with the reason: an
    unreasonable complaint, a problem that was no one's to solve. Logged in the
    audit log and shown beside the scores it would have counted in."""
    __tablename__ = "evaluation_exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    excluded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    excluded_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("Case")
