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
import functools
from datetime import timedelta

from sqlalchemy import Integer, bindparam, case, cast, func, select

from ..extensions import db
from .models import (ACK_BUCKETS, BUCKET_EDGES, COUNTERS, RESOLVE_BUCKETS, DailyCaseStats, DailyDimensionStats,
                     KeywordStats)

T = DailyCaseStats.__table__
B = DailyDimensionStats.__table__
ALL_SUMMED = COUNTERS + ACK_BUCKETS + RESOLVE_BUCKETS
# What each rate divides: the counts shown beside a rate, and the ranking's minimum.
RATE_NUMERATORS = {"ack_on_time_rate": "acknowledged_on_time", "handled_on_time_rate": "handled_on_time",
                   "satisfaction_rate": "satisfied_or_basic", "reopen_rate": "reopened", "rework_rate": "rework",
                   "return_rate": "returned", "accept_on_time_rate": "accept_stages_on_time",
                   "dispatch_on_time_rate": "dispatch_stages_on_time"}
RATE_DENOMINATORS = {"ack_on_time_rate": "acknowledged", "handled_on_time_rate": "handled",
                     "satisfaction_rate": "ratings", "reopen_rate": "handled", "rework_rate": "handled",
                     "return_rate": "dispatched", "accept_on_time_rate": "accept_stages",
                     "dispatch_on_time_rate": "dispatch_stages"}


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


def empty_figures():
    """The figures of nothing: zero counts, no rates."""
    return _figures({"department_id": None, **{c: 0 for c in ALL_SUMMED}})


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
        "satisfied_or_basic": n["satisfied"] + n["basic"],
        "satisfaction_rate": _rate(n["satisfied"] + n["basic"], n["ratings"]),
        "reopen_rate": _rate(n["reopened"], n["handled"]),
        "rework_rate": _rate(n["rework"], n["handled"]),
        "return_rate": _rate(n["returned"], n["dispatched"]),
        # The command centre's own stages, on the cases that went to this department:
        # its lateness is its own, never the department's (cases/stages.py).
        "accept_on_time_rate": _rate(n["accept_stages_on_time"], n["accept_stages"]),
        "dispatch_on_time_rate": _rate(n["dispatch_stages_on_time"], n["dispatch_stages"]),
        "ack_minutes_mean": _rate(n["ack_minutes_sum"], timed_ack),
        "ack_minutes_median": percentile(ack, 0.5),
        "ack_minutes_p90": percentile(ack, 0.9),
        "resolve_minutes_mean": _rate(n["resolve_minutes_sum"], timed_resolve),
        "resolve_minutes_median": percentile(resolve, 0.5),
        "resolve_minutes_p90": percentile(resolve, 0.9),
    }


# -- the dashboards' questions -------------------------------------------------------

DIMENSIONS = ("department", "grid", "category")
# Everything's figures are the sum of the department rows (each row has one department).
TOTAL = "department"


def _sums(table):
    return [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in ALL_SUMMED]


@functools.lru_cache(maxsize=64)
def _by_select(group):
    """A read of stats_daily_by for one dimension (:dimension) and days :start..:end,
    grouped by `group` ("key_id", "day" or None for one row). Built once: making
    the 40 sums anew cost more than running the query on a short period."""
    columns = ([B.c[group].label(group)] if group else []) + _sums(B)
    stmt = select(*columns).where(B.c.dimension == bindparam("dimension"), B.c.day >= bindparam("start"),
                                  B.c.day <= bindparam("end"))
    return stmt.group_by(B.c[group]) if group else stmt


@functools.lru_cache(maxsize=64)
def _fine_select(group, department, grids, category):
    """A read of stats_daily for days :start..:end restricted to a department
    (:department_id), grids (:grid_ids) and a category (:category_id), as present."""
    columns = ([T.c[group].label("key_id" if group.endswith("_id") else group)] if group else []) + _sums(T)
    stmt = select(*columns).where(T.c.day >= bindparam("start"), T.c.day <= bindparam("end"))
    if department:
        stmt = stmt.where(T.c.department_id == bindparam("department_id"))
    if grids:
        stmt = stmt.where(T.c.grid_id.in_(bindparam("grid_ids", expanding=True)))
    if category:
        stmt = stmt.where(T.c.category_id == bindparam("category_id"))
    return stmt.group_by(T.c[group]) if group else stmt


def _read(group, dimension, start_day, end_day, department_id, grid_ids, category_id):
    """Rows of the roll-up: stats_daily_by when nothing is filtered, else stats_daily."""
    params = {"start": start_day, "end": end_day}
    if department_id is None and grid_ids is None and category_id is None:
        return db.session.execute(_by_select(group), {**params, "dimension": dimension}).mappings()
    fine_group = {"key_id": f"{dimension}_id"}.get(group, group)
    stmt = _fine_select(fine_group, department_id is not None, grid_ids is not None, category_id is not None)
    if department_id is not None:
        params["department_id"] = department_id or 0
    if grid_ids is not None:
        params["grid_ids"] = [g or 0 for g in grid_ids]
    if category_id is not None:
        params["category_id"] = category_id
    return db.session.execute(stmt, params).mappings()


def performance(start_day, end_day, by="department", *, department_id=None, grid_ids=None, category_id=None):
    """Figures per department, grid or category (`by`) over start_day..end_day,
    as {key_id or None: figures}. With no filter, one indexed read of the
    per-dimension roll-up (a row per day and key); with filters, the fine roll-up
    restricted to them."""
    if by not in DIMENSIONS:
        raise ValueError(by)
    rows = _read("key_id", by, start_day, end_day, department_id, grid_ids, category_id)
    return {row["key_id"] or None: _figures({**row, "department_id": row["key_id"]}) for row in rows}


def totals(start_day, end_day, *, department_id=None, grid_ids=None, category_id=None):
    """The figures of everything (or of the filtered part) over the period, one dict."""
    row = _read(None, TOTAL, start_day, end_day, department_id, grid_ids, category_id).one()
    return _figures({**row, "department_id": None})


def daily(start_day, end_day, *, department_id=None, grid_ids=None, category_id=None):
    """[(day, figures)] for every day of the period, days without activity included (zeros)."""
    found = {row["day"]: row for row in _read("day", TOTAL, start_day, end_day, department_id, grid_ids, category_id)}
    zero = {c: 0 for c in ALL_SUMMED}
    days = [start_day + timedelta(days=n) for n in range((end_day - start_day).days + 1)]
    return [(day, _figures({**(found.get(day) or zero), "department_id": None})) for day in days]


def ranking(start_day, end_day, rate, minimum):
    """Departments ranked by `rate` ("handled_on_time_rate" or
    "satisfaction_rate") over the period: (ranked, unranked). A department is
    ranked when the rate's denominator (handled cases, ratings) reaches
    `minimum`; ties share a rank (standard competition ranking: 1, 1, 3), broken
    for display by the larger count. Unranked departments are listed with their
    counts, so nobody wonders where they went."""
    denominator = RATE_DENOMINATORS[rate]
    figures = [f for key, f in performance(start_day, end_day, "department").items() if key is not None]
    ranked = sorted((f for f in figures if f[denominator] >= minimum),
                    key=lambda f: (-f[rate], -f[denominator], f["department_id"]))
    previous, position = None, 0
    for index, f in enumerate(ranked, 1):
        if f[rate] != previous:
            position, previous = index, f[rate]
        f["rank"] = position
    # Below the minimum but with some cases: listed unranked. None at all: left out.
    unranked = sorted((f for f in figures if 0 < f[denominator] < minimum), key=lambda f: -f[denominator])
    return ranked, unranked


def keyword_counts(start_day, end_day, limit=None):
    """{word: cases} of the period from stats_keywords, most frequent first."""
    K = KeywordStats.__table__
    total = func.sum(K.c.n)
    stmt = (select(K.c.word, total.label("n")).where(K.c.day >= start_day, K.c.day <= end_day)
            .group_by(K.c.word).order_by(total.desc(), K.c.word))
    if limit:
        stmt = stmt.limit(limit)
    return {row.word: int(row.n) for row in db.session.execute(stmt)}


def hot_topics(end_day, days, *, spike_ratio=2.0, spike_min=5, keyword_limit=20):
    """The last `days` days up to end_day against the `days` before them:
    categories by reports with their change, keywords by cases, and spikes (at
    least `spike_min` reports and `spike_ratio` times the previous period, or new)."""
    start = end_day - timedelta(days=days - 1)
    before_end = start - timedelta(days=1)
    before_start = before_end - timedelta(days=days - 1)
    now = performance(start, end_day, "category")
    then = performance(before_start, before_end, "category")
    categories = []
    for key in set(now) | set(then):
        current, previous = (now[key]["reported"] if key in now else 0), (then[key]["reported"] if key in then else 0)
        if not current and not previous:
            continue
        categories.append(_trend(key, current, previous, spike_ratio, spike_min))
    categories.sort(key=lambda t: (-t["current"], -t["change"], t["key"] or 0))
    words_now = keyword_counts(start, end_day, limit=keyword_limit)
    words_then = keyword_counts(before_start, before_end)
    words = [_trend(word, n, words_then.get(word, 0), spike_ratio, spike_min) for word, n in words_now.items()]
    return {"start": start, "end": end_day, "previous_start": before_start, "previous_end": before_end,
            "categories": categories, "keywords": words}


def _trend(key, current, previous, ratio, minimum):
    change = current - previous
    return {"key": key, "current": current, "previous": previous, "change": change,
            "change_rate": (change / previous) if previous else None,
            "spike": current >= minimum and (previous == 0 or current >= ratio * previous)}


# -- what is open now (the case table, through its status index: open cases only) --------

from ..cases.models import WORKING_STATUSES  # noqa: E402  (overdue: a department still working on it)


def open_counts(now, by="grid"):
    """{key_id or None: {"open", "overdue"}} of open cases now. Overdue: a
    department still working on it past its resolve deadline. Reads the open
    cases only (status index), never the closed bulk of the table."""
    from ..cases.models import OPEN_STATUSES, Case

    key = {"grid": Case.grid_id, "department": Case.department_id, "category": Case.category_id}[by]
    overdue = func.sum(case((Case.status.in_(WORKING_STATUSES) & (Case.resolve_due_at < now), 1), else_=0))
    stmt = (select(key.label("key_id"), func.count().label("open"), overdue.label("overdue"))
            .where(Case.status.in_(sorted(OPEN_STATUSES))).group_by(key))
    return {row.key_id: {"open": int(row.open), "overdue": int(row.overdue or 0)} for row in db.session.execute(stmt)}


CLUSTER_DEGREES = 0.004  # about 400 m north-south: a cell of the map's clusters


def open_clusters(now, measure="open", cell=CLUSTER_DEGREES):
    """Open (or overdue) cases grouped in map cells of `cell` degrees: [(lat, lng, n)]
    at each cell's mean point, from ix_cases_status_due alone."""
    from ..cases.models import OPEN_STATUSES, Case

    if measure == "overdue":
        where = (Case.status.in_(WORKING_STATUSES), Case.resolve_due_at < now)
    else:
        where = (Case.status.in_(sorted(OPEN_STATUSES)),)
    # floor() on both databases: truncate after an offset that makes every value positive.
    row_cell = cast(Case.lat / cell + 100000, Integer).label("row_cell")
    column_cell = cast(Case.lng / cell + 100000, Integer).label("column_cell")
    stmt = (select(func.avg(Case.lat), func.avg(Case.lng), func.count())
            .where(*where, Case.lat.is_not(None)).group_by(row_cell, column_cell))
    return [(float(lat), float(lng), int(n)) for lat, lng, n in db.session.execute(stmt)]


def overdue_cases(now, **filters):
    """Cases past their resolve deadline that a department is still working on,
    the longest overdue first."""
    return listed_cases(now, "overdue", **filters)


def listed_cases(now, state="overdue", *, department_id=None, grid_ids=None, category_id=None, limit=200):
    """Open (or overdue) cases, soonest deadline first. The ids come from
    ix_cases_status_due alone; only the `limit` cases shown are read, with their
    department, grid and category."""
    from sqlalchemy.orm import selectinload

    from ..cases.models import OPEN_STATUSES, Case

    if state == "overdue":
        stmt = select(Case.id).where(Case.status.in_(WORKING_STATUSES), Case.resolve_due_at < now)
    else:
        stmt = select(Case.id).where(Case.status.in_(sorted(OPEN_STATUSES)))
    stmt = _where_case(stmt, department_id, grid_ids, category_id)
    stmt = stmt.order_by(Case.resolve_due_at.is_(None), Case.resolve_due_at, Case.id)
    if limit:
        stmt = stmt.limit(limit)
    ids = list(db.session.scalars(stmt))
    if not ids:
        return []
    found = {c.id: c for c in db.session.scalars(
        select(Case).where(Case.id.in_(ids))
        .options(selectinload(Case.department), selectinload(Case.grid), selectinload(Case.category)))}
    return [found[i] for i in ids if i in found]


def overdue_counts(now, by, *, department_id=None, grid_ids=None, category_id=None):
    """{key_id or None: overdue cases} (see overdue_cases), from the index alone."""
    from ..cases.models import Case

    key = {"grid": Case.grid_id, "department": Case.department_id, "category": Case.category_id}[by]
    stmt = (select(key.label("key_id"), func.count().label("n"))
            .where(Case.status.in_(WORKING_STATUSES), Case.resolve_due_at < now).group_by(key))
    stmt = _where_case(stmt, department_id, grid_ids, category_id)
    return {row.key_id: int(row.n) for row in db.session.execute(stmt)}


def _where_case(stmt, department_id, grid_ids, category_id):
    """The department, grids and category filters on a query of cases."""
    from ..cases.models import Case

    if department_id is not None:
        stmt = stmt.where(Case.department_id == department_id)
    if grid_ids is not None:
        stmt = stmt.where(Case.grid_id.in_(grid_ids))
    if category_id is not None:
        stmt = stmt.where(Case.category_id == category_id)
    return stmt
