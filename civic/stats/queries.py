"""Figures for dashboards, read from the daily roll-up only (never the cases).

Rates (None when there is nothing to divide by):
- ack_on_time_rate      按时签收率 = acknowledged on time / acknowledged
- handled_on_time_rate  按期处置率 = handled on time / handled
- satisfaction_rate     满意率 = (satisfied + basically satisfied) / ratings. The
  domain notes name 市民满意率 without a formula; 12345 dashboards commonly count
  基本满意 as satisfied, so we do too; `satisfied` and `basic` are returned
  apart for a city that counts only 满意.
- reopen_rate           重办率 = reopened (by the reporter, or after a recheck) / handled
- rework_rate           返工率 = rework / handled (as in the domain notes)
- return_rate           退回率 = returned / dispatched
Volume is `dispatched`: the times cases arrived at the department (re-routes in).
Median and p90 of the minutes to acknowledge and to resolve are estimated from
the histogram (linear within a bucket; in the open last bucket, its lower edge).
"""
from sqlalchemy import func, select

from ..extensions import db
from .models import ACK_BUCKETS, BUCKET_EDGES, COUNTERS, RESOLVE_BUCKETS, DailyCaseStats

T = DailyCaseStats.__table__


def percentile(histogram, q):
    """The q-quantile (0 < q ≤ 1) of minutes from bucket counts, or None if empty."""
    total = sum(histogram)
    if not total:
        return None
    rank, seen = q * total, 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            low = BUCKET_EDGES[index - 1] if index else 0
            if index == len(BUCKET_EDGES):
                return float(low)
            return low + (BUCKET_EDGES[index] - low) * (rank - seen) / count
        seen += count
    return float(BUCKET_EDGES[-1])


def _rate(part, whole):
    return part / whole if whole else None


def department_performance(start_day, end_day, department_ids=None):
    """Per department (None: cases with none), days start_day..end_day inclusive:
    a list of dicts with the counters, the rates above, the mean, median and p90
    minutes to acknowledge and to resolve. One GROUP BY over the roll-up."""
    columns = COUNTERS + ACK_BUCKETS + RESOLVE_BUCKETS
    stmt = (select(T.c.department_id, *(func.coalesce(func.sum(T.c[c]), 0).label(c) for c in columns))
            .where(T.c.day >= start_day, T.c.day <= end_day)
            .group_by(T.c.department_id).order_by(T.c.department_id))
    if department_ids is not None:
        stmt = stmt.where(T.c.department_id.in_([d or 0 for d in department_ids]))
    return [_figures(row._mapping) for row in db.session.execute(stmt)]


def _figures(row):
    n = {c: int(row[c]) for c in COUNTERS}
    ack = [int(row[c]) for c in ACK_BUCKETS]
    resolve = [int(row[c]) for c in RESOLVE_BUCKETS]
    timed_ack, timed_resolve = sum(ack), sum(resolve)
    return {
        "department_id": row["department_id"] or None,
        "volume": n["dispatched"],
        **n,
        "ack_on_time_rate": _rate(n["acknowledged_on_time"], n["acknowledged"]),
        "handled_on_time_rate": _rate(n["handled_on_time"], n["handled"]),
        "satisfaction_rate": _rate(n["satisfied"] + n["basic"], n["ratings"]),
        "reopen_rate": _rate(n["reopened"], n["handled"]),
        "rework_rate": _rate(n["rework"], n["handled"]),
        "return_rate": _rate(n["returned"], n["dispatched"]),
        "ack_minutes_mean": _rate(n["ack_minutes_sum"], timed_ack),
        "ack_minutes_median": percentile(ack, 0.5),
        "ack_minutes_p90": percentile(ack, 0.9),
        "resolve_minutes_mean": _rate(n["resolve_minutes_sum"], timed_resolve),
        "resolve_minutes_median": percentile(resolve, 0.5),
        "resolve_minutes_p90": percentile(resolve, 0.9),
    }
