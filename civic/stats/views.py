"""The supervisors' figures, under /dashboard (oversight roles: civic/routes.py): performance per department, grid or category and period, the weekly
ranking, the daily report (通报) with its exports, hot topics, the map of open
and overdue cases and the overdue list. Every figure comes from the roll-ups
(civic/stats/queries.py) or from the open cases only; none is typed in."""
from datetime import date, timedelta

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..grids.mapview import grid_box, shaded_map
from ..grids.models import Category, Department, Grid
from . import charts, queries
from .report import COLUMNS, HEADINGS, names, shown, to_csv, to_json, to_xlsx, unified_table
from .rollups import today
from ..timeutil import utcnow

bp = Blueprint("stats", __name__, url_prefix="/dashboard")

PERIOD_DAYS = (1, 7, 30, 90, 365)
MAX_DAYS = 3660


def _date_arg(name):
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, _("Dates are written YYYY-MM-DD."))


def _period(default_days=30):
    """(start, end, days) from ?start=&end= or ?days= (1, 7, 30, 90, 365), ending today by default."""
    end = _date_arg("end") or today()
    start = _date_arg("start")
    if start is None:
        try:
            days = int(request.args.get("days", default_days))
        except ValueError:
            abort(400, _("Unknown period."))
        if days not in PERIOD_DAYS:
            abort(400, _("Unknown period."))
        start = end - timedelta(days=days - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        abort(400, _("The period must start before it ends and last at most ten years."))
    return start, end


def _filters():
    """Department, grid (a level-1 grid stands for its level-2 grids) and
    category from the query string; an unknown code is a 404."""
    args, chosen = request.args, {}
    if args.get("department"):
        department = db.session.scalar(select(Department).where(Department.code == args["department"])) or abort(404)
        chosen["department_id"] = department.id
    if args.get("grid"):
        grid = db.session.scalar(select(Grid).where(Grid.code == args["grid"])) or abort(404)
        chosen["grid_ids"] = [grid.id] + [child.id for child in grid.children]
    if args.get("category"):
        category = db.session.scalar(select(Category).where(Category.code == args["category"])) or abort(404)
        chosen["category_id"] = category.id
    return chosen


def _by():
    by = request.args.get("by", "department")
    if by not in HEADINGS:
        abort(400, _("Unknown grouping."))
    return by


def _choices():
    return {
        "departments": db.session.scalars(select(Department).where(Department.active.is_(True))
                                          .order_by(Department.code)).all(),
        "grids": db.session.scalars(select(Grid).order_by(Grid.level, Grid.code)).all(),
        "categories": db.session.scalars(select(Category).order_by(Category.code)).all(),
    }


@bp.app_template_global()
def stat(value, kind):
    return shown(value, kind)


@bp.app_template_global()
def rate_counts(row, rate):
    """'14/15': what a rate divides, shown beside it."""
    numerator, denominator = queries.RATE_NUMERATORS.get(rate), queries.RATE_DENOMINATORS.get(rate)
    if numerator is None or numerator not in row:
        return ""
    return f"{row[numerator]}/{row[denominator]}"


# -- performance ----------------------------------------------------------------------

@bp.get("/performance")
def performance():
    start, end = _period()
    by, filters = _by(), _filters()
    table = unified_table(start, end, by, now=utcnow(), **filters)
    series = queries.daily(start, end, **filters)
    days = [day for day, _f in series]
    trend = charts.line_chart(days, [(_("Dispatched"), [f["volume"] for _d, f in series]),
                                     (_("Reported"), [f["reported"] for _d, f in series])],
                              title=_("Cases per day"))
    on_time = charts.line_chart(days, [(_("Acknowledged on time"), [f["ack_on_time_rate"] for _d, f in series]),
                                       (_("Handled on time"), [f["handled_on_time_rate"] for _d, f in series])],
                                percent=True, title=_("On-time rates per day"))
    return render_template("dashboard/performance.html", table=table, columns=COLUMNS, heading=HEADINGS[by],
                           by=by, start=start, end=end, args=request.args, trend=trend, on_time=on_time,
                           export_args=_export_args(), **_choices())


def _export_args():
    return {k: v for k, v in request.args.items() if k in ("by", "days", "start", "end", "department", "grid",
                                                             "category", "day")}


@bp.get("/performance.<fmt>")
def performance_export(fmt):
    start, end = _period()
    table = unified_table(start, end, _by(), now=utcnow(), **_filters())
    return _export(table, fmt, f"performance-{start.isoformat()}-{end.isoformat()}",
                   _("Performance %(start)s – %(end)s", start=start.isoformat(), end=end.isoformat()))


def _export(table, fmt, filename, title):
    if fmt == "json":
        response = jsonify(to_json(table))
    elif fmt == "csv":
        response = Response(to_csv(table), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    elif fmt == "xlsx":
        response = Response(to_xlsx(table, title),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    else:
        abort(404)
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the weekly ranking ------------------------------------------------------------------

def _week():
    """The Monday of ?week=YYYY-MM-DD (any day of that week), by default last week (the last complete one)."""
    day = _date_arg("week")
    if day is None:
        day = today() - timedelta(days=7)
    return day - timedelta(days=day.weekday())


@bp.get("/ranking")
def ranking():
    monday = _week()
    sunday = monday + timedelta(days=6)
    minimum = current_app.config["RANKING_MIN_CASES"]
    labels = names("department")
    boards = []
    for rate, title, counted in (("handled_on_time_rate", _("Handled on time"), _("handled")),
                                 ("satisfaction_rate", _("Satisfaction"), _("ratings")),
                                 ("ack_on_time_rate", _("Acknowledged on time"), _("acknowledged"))):
        ranked, unranked = queries.ranking(monday, sunday, rate, minimum)
        denominator = queries.RATE_DENOMINATORS[rate]
        numerator = queries.RATE_NUMERATORS[rate]
        for row in ranked + unranked:
            row["name"] = labels.get(row["department_id"], ("", "?"))[1]
        chart = charts.bar_chart([(r["name"], r[rate], f"{r[numerator]}/{r[denominator]}") for r in ranked],
                                 maximum=1.0, title=title)
        boards.append({"rate": rate, "title": title, "counted": counted, "ranked": ranked, "unranked": unranked,
                       "chart": chart, "numerator": numerator, "denominator": denominator})
    # The command centre is measured on its own stages (受理, 派遣), beside the departments on theirs.
    centre = queries.totals(monday, sunday)
    return render_template("dashboard/ranking.html", boards=boards, monday=monday, sunday=sunday, minimum=minimum,
                           centre=centre,
                           previous=monday - timedelta(days=7), following=monday + timedelta(days=7),
                           this_week=today() - timedelta(days=today().weekday()))


# -- the daily report (通报) ---------------------------------------------------------------

def _report_day():
    return _date_arg("day") or today() - timedelta(days=1)


def _daily_report(day, now):
    """The day's and the month's unified tables (overdue now counted once for both) and the day's hot topics."""
    overdue = queries.overdue_counts(now, "department")
    table = unified_table(day, day, "department", now=now, overdue=overdue)
    month = unified_table(day.replace(day=1), day, "department", now=now, overdue=overdue)
    return table, month, queries.hot_topics(day, 1, **_spike_settings())


@bp.get("/report")
def report():
    day = _report_day()
    table, month, hot = _daily_report(day, utcnow())
    categories = names("category")
    overdue = queries.overdue_cases(utcnow(), limit=30)
    return render_template("dashboard/report.html", day=day, table=table, month=month, columns=COLUMNS,
                           hot=hot, categories=categories, overdue=overdue, now=utcnow(),
                           previous=day - timedelta(days=1), following=day + timedelta(days=1))


@bp.get("/report.<fmt>")
def report_export(fmt):
    day = _report_day()
    if fmt == "json":
        table, month, hot = _daily_report(day, utcnow())
        categories = names("category")
        response = jsonify({"day": day.isoformat(), "table": to_json(table), "month_to_date": to_json(month),
                            "hot_categories": [{"code": categories.get(c["key"], ("", ""))[0],
                                                "name": categories.get(c["key"], ("", ""))[1],
                                                **{k: c[k] for k in ("current", "previous", "change", "spike")}}
                                               for c in hot["categories"]],
                            "hot_keywords": [{"word": w["key"], **{k: w[k] for k in ("current", "previous",
                                                                                     "change", "spike")}}
                                             for w in hot["keywords"]]})
        response.headers["Cache-Control"] = "no-store"
        return response
    table = unified_table(day, day, "department", now=utcnow())
    return _export(table, fmt, f"daily-report-{day.isoformat()}", _("Daily report %(day)s", day=day.isoformat()))


# -- hot topics --------------------------------------------------------------------------

HOT_PERIODS = {"day": 1, "week": 7, "month": 30}


def _spike_settings():
    return {"spike_ratio": current_app.config["HOT_SPIKE_RATIO"], "spike_min": current_app.config["HOT_SPIKE_MIN"]}


@bp.get("/hot")
def hot():
    period = request.args.get("period", "week")
    if period not in HOT_PERIODS:
        abort(400, _("Unknown period."))
    end = _date_arg("end") or today()
    topics = queries.hot_topics(end, HOT_PERIODS[period], **_spike_settings())
    categories = names("category")
    for row in topics["categories"]:
        row["code"], row["name"] = categories.get(row["key"], ("", "?"))
    chart = charts.bar_chart([(r["name"], r["current"], "") for r in topics["categories"][:12]], percent=False,
                             title=_("Reports per category"))
    return render_template("dashboard/hot.html", topics=topics, period=period, periods=HOT_PERIODS, chart=chart,
                           end=end)


# -- the map and the case lists ------------------------------------------------------------

@bp.get("/map")
def grid_map():
    measure = request.args.get("measure", "open")
    if measure not in ("open", "overdue"):
        abort(400, _("Unknown measure."))
    now = utcnow()
    counts = queries.open_counts(now, "grid")
    box = grid_box()
    drawn = (shaded_map(box, {key: value[measure] for key, value in counts.items() if key},
                        queries.open_clusters(now, measure)) if box else None)
    for grid in (drawn or {}).get("grids", []):
        grid["href"] = url_for("stats.case_list", grid=grid["code"], state=measure)
    total = {name: sum(v[name] for v in counts.values()) for name in ("open", "overdue")}
    return render_template("dashboard/map.html", drawn=drawn, measure=measure, total=total,
                           outside=counts.get(None, {"open": 0, "overdue": 0}))


@bp.get("/cases")
def case_list():
    """Open or overdue cases of a grid, department or category: where the map,
    the report and the performance table send a click."""
    state = request.args.get("state", "overdue")
    if state not in ("open", "overdue"):
        abort(400, _("Unknown measure."))
    now = utcnow()
    cases = queries.listed_cases(now, state, **_filters())
    return render_template("dashboard/cases.html", cases=cases, state=state, args=request.args, now=now,
                           **_choices())
