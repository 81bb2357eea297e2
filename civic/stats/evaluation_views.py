"""The evaluation (考核评价) under /dashboard/evaluation: the ranking with scores and
grades per department, dispatcher, grid or grid worker for a month (?period=YYYY-MM)
or any days (?start=&end=), its JSON and XLSX, the cases behind every figure, and
a supervisor's exclusion of a case from scoring (with the reason, logged)."""
import calendar
import io
from datetime import date

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..cases.models import Case
from ..extensions import db
from ..timeutil import utcnow
from ..transaction import command
from . import evaluation
from .models import EvaluationExclusion
from .rollups import today

bp = Blueprint("evaluation", __name__, url_prefix="/dashboard")

BY_LABELS = {"department": _l("Departments"), "dispatcher": _l("Dispatchers"), "grid": _l("Grids"),
             "worker": _l("Grid workers")}
GRADE_LABELS = {"excellent": _l("Excellent (优秀)"), "good": _l("Good (良好)"), "pass": _l("Pass (合格)"),
                "fail": _l("Fail (不合格)")}
# The figures a page shows per row, by evaluation: (figure, heading, the count it is out of).
FIGURES = {
    "department": [("acknowledged_on_time", _l("Acknowledged on time"), "acknowledged"),
                   ("handled_on_time", _l("Handled on time"), "handled"),
                   ("reworked", _l("Reworked or reopened"), "handled"),
                   ("returned", _l("Returned"), "received"),
                   ("satisfied", _l("Satisfied"), "rated")],
    "dispatcher": [("accepted_on_time", _l("Accepted on time"), "accepted"),
                   ("dispatched_on_time", _l("Dispatched on time"), "dispatched"),
                   ("right_first_time", _l("Right first time (准确派遣)"), "dispatched_cases")],
    "grid": [("found_by_workers", _l("Found by grid workers"), "problems"),
             ("complaints", _l("Reported by the public"), "problems"),
             ("handled_on_time", _l("Handled on time"), "handled"),
             ("satisfied", _l("Satisfied"), "rated")],
    "worker": [("valid", _l("Valid reports"), "reports"),
               ("verified_on_time", _l("Verified on time"), "verified"),
               ("missed", _l("Missed (reported first by others)"), None)],
}


def _period():
    """(start, end, label) from ?period=YYYY-MM, or ?start=&end=, else this month so far."""
    args = request.args
    try:
        if args.get("start") or args.get("end"):
            start, end = date.fromisoformat(args.get("start", "")), date.fromisoformat(args.get("end", ""))
            if start > end or (end - start).days > 3660:
                abort(400, _("The period must start before it ends and last at most ten years."))
            return start, end, f"{start.isoformat()}–{end.isoformat()}"
        text = args.get("period") or today().strftime("%Y-%m")
        year, month = (int(part) for part in text.split("-"))
        start = date(year, month, 1)
    except ValueError:
        abort(400, _("A period is a month, YYYY-MM, or start and end days, YYYY-MM-DD."))
    end = date(year, month, calendar.monthrange(year, month)[1])
    return start, min(end, max(start, today())), f"{year:04d}-{month:02d}"


def _by():
    by = request.args.get("by", "department")
    if by not in evaluation.BY:
        abort(400, _("by is one of department, dispatcher, grid, worker."))
    return by


@bp.get("/evaluation")
def evaluation_page():
    start, end, label = _period()
    by = _by()
    result = evaluation.evaluate(start, end, by)
    exclusions = db.session.scalars(select(EvaluationExclusion).order_by(EvaluationExclusion.excluded_at.desc())
                                    .limit(50)).all()
    return render_template("dashboard/evaluation.html", result=result, by=by, period=label, start=start, end=end,
                           figures=FIGURES[by], by_labels=BY_LABELS, grade_labels=GRADE_LABELS,
                           exclusions=exclusions, period_args=_period_args())


def _period_args():
    return {k: v for k, v in request.args.items() if k in ("period", "start", "end")}


@bp.get("/evaluation.json")
def evaluation_json():
    start, end, label = _period()
    by = _by()
    result = evaluation.evaluate(start, end, by)
    response = jsonify(period=label, start=start.isoformat(), end=end.isoformat(), by=by, rows=result["rows"],
                       weights=result["weights"], grades=result["grades"], generated_at=utcnow().isoformat() + "Z")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/evaluation.xlsx")
def evaluation_xlsx():
    from openpyxl import Workbook
    from openpyxl.styles import Font

    start, end, label = _period()
    by = _by()
    result = evaluation.evaluate(start, end, by)
    book = Workbook()
    sheet = book.active
    sheet.title = "考核评价"
    sheet.append([str(_("Evaluation")) + f" · {BY_LABELS[by]} · {label}"])
    sheet["A1"].font = Font(bold=True, size=14)
    names = sorted({name for row in result["rows"] for name in row["figures"] if name != "by_urgency"})
    sheet.append([str(_("Rank")), str(_("Name")), str(_("Score")), str(_("Grade")), *names, str(_("Excluded cases"))])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for rank, row in enumerate(result["rows"], 1):
        sheet.append([rank, row["name"], row["score"], str(GRADE_LABELS.get(row["grade"], "")) if row["grade"] else "",
                      *[row["figures"].get(name) for name in names], ", ".join(row["excluded"])])
        for name, cell in zip(names, sheet[sheet.max_row][4:]):
            if name.endswith("_rate") and cell.value is not None:
                cell.number_format = "0.0%"
    sheet.freeze_panes = "C3"
    out = io.BytesIO()
    book.save(out)
    response = Response(out.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="evaluation-{by}-{label}.xlsx"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/evaluation/cases")
def evaluation_cases():
    """The cases behind one figure of one row: every number on the page opens its cases."""
    start, end, label = _period()
    by = _by()
    figure = request.args.get("figure", "")
    key = request.args.get("key", "")
    if not figure.replace("_", "").isalpha() or not key.isdigit():
        abort(400, _("Name the row (key) and the figure."))
    ids = evaluation.cases_behind(start, end, by, int(key), figure)
    cases = db.session.scalars(select(Case).where(Case.id.in_(ids[:500])).order_by(Case.received_at.desc())).all()
    excluded = {row.case_id for row in db.session.scalars(select(EvaluationExclusion)
                                                            .where(EvaluationExclusion.case_id.in_(ids or [0])))}
    return render_template("dashboard/evaluation_cases.html", cases=cases, count=len(ids), figure=figure, by=by,
                           key=int(key), period=label, period_args=_period_args(), excluded=excluded)


@bp.post("/evaluation/exclude")
@command
def evaluation_exclude():
    """Leave a case out of the scores (a supervisor's, with a reason)."""
    ref = (request.form.get("ref") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    back = request.form.get("back") or url_for("evaluation.evaluation_page")
    case = db.session.scalar(select(Case).where(Case.ref == ref)) if ref else None
    if case is None or not reason or len(reason) > 500:
        flash(_("Give the case number and the reason (at most 500 characters) to leave it out of the scores."),
              "error")
        return redirect(_same_site(back), 303)
    evaluation.exclude(case, reason, current_user, utcnow())
    flash(_("%(ref)s is left out of the scores.", ref=case.ref), "info")
    return redirect(_same_site(back), 303)


@bp.post("/evaluation/include")
@command
def evaluation_include():
    row = db.session.scalar(select(EvaluationExclusion).join(Case).where(Case.ref == request.form.get("ref", "")))
    if row is None:
        abort(404)
    ref = row.case.ref
    evaluation.include_again(row, current_user)
    flash(_("%(ref)s counts in the scores again.", ref=ref), "info")
    return redirect(url_for("evaluation.evaluation_page"), 303)


def _same_site(target):
    from ..urls import same_site_path

    return same_site_path(target) or url_for("evaluation.evaluation_page")
