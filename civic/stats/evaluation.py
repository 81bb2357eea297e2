"""Evaluation (考核评价): a score and a grade per department, dispatcher, grid and
grid worker for a month or any period, each measured on its own stages only
(GB/T 30428.4; docs/evaluation.md says what each figure is and how it weighs).

Every figure is a count of cases, computed here from the case stages
(cases/stages.py), the case events and the ratings of the period, never typed
in; a rate is one count over another. The cases behind each count are kept, so
a page can list them (`cases_behind`). A case a supervisor excluded from scoring
(an unreasonable complaint, a case that was no one's to solve) counts nowhere,
and each row says which of its cases were excluded.

A period is local days start..end (inclusive), as the other dashboards read it;
a stage counts in the period it ended in, a report in the period it arrived in.

The weights of the figures in each score and the grade thresholds are the
deployment's: the defaults below, with any of them replaced from the JSON file
named by CIVIC_EVALUATION, e.g. {"department": {"handle_on_time": 50}, "grades": {"excellent": 92}}.
"""
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from ..accounts.models import Role, User
from ..cases.models import Case, CaseEvent, CaseStage, Rating
from ..extensions import db
from ..grids.models import Department, Grid, grid_members
from ..timeutil import local_zone
from .models import EvaluationExclusion

BY = ("department", "dispatcher", "grid", "worker")
GRADES = (("excellent", "优秀"), ("good", "良好"), ("pass", "合格"), ("fail", "不合格"))

# Each score: figure (a rate from 0 to 1, higher is better) → weight. A figure
# without cases (no ratings, nothing handled) is left out and the weights of the
# others carry the score. Where these come from: docs/evaluation.md.
DEFAULT_WEIGHTS = {
    "department": {"acknowledge_on_time": 20, "handle_on_time": 40, "first_time_fixed": 10, "kept": 10,
                   "satisfaction": 20},
    "dispatcher": {"accept_on_time": 30, "dispatch_on_time": 30, "right_first_time": 40},
    "grid": {"found_first": 50, "handle_on_time": 30, "satisfaction": 20},
    "worker": {"valid_reports": 30, "verify_on_time": 40, "found_first": 30},
}
DEFAULT_GRADES = {"excellent": 90, "good": 80, "pass": 60}  # the lowest score of each grade


@dataclass
class Row:
    key: int | None
    name: str
    counts: dict = field(default_factory=lambda: defaultdict(set))  # figure → case ids
    in_time: dict = field(default_factory=dict)                     # (figure, case id) → every round in time

    def add(self, figure, case_id):
        self.counts[figure].add(case_id)

    def timed(self, figure, case_id, on_time, urgency=None):
        """A stage of a case ended: counted once per case, in time only if every
        round of it in the period was (a late round is not undone by a later one)."""
        for name in (figure, f"{figure}@{urgency}") if urgency else (figure,):
            self.add(name, case_id)
            self.in_time[(name, case_id)] = self.in_time.get((name, case_id), True) and bool(on_time)

    def finish(self, excluded=()):
        """The on-time counts, and every case left out of the scores taken out;
        returns the ids of those that would have counted here."""
        left_out = set()
        for name in self.counts:
            left_out |= self.counts[name] & excluded
            self.counts[name] -= excluded
        for (name, case_id), all_in_time in self.in_time.items():
            if case_id in excluded:
                continue
            base, _, level = name.partition("@")
            on_time = f"{base}_on_time@{level}" if level else f"{base}_on_time"
            self.counts[on_time]  # present, if empty
            if all_in_time:
                self.counts[on_time].add(case_id)
        return left_out


class Rows(dict):
    """{key: Row}, a row made on first use with its name from `names`."""

    def __init__(self, names):
        super().__init__()
        self.names = names

    def __missing__(self, key):
        row = self[key] = Row(key, self.names.get(key, ""))
        return row


# -- the table of weights ----------------------------------------------------------------

def build_table(overrides=None):
    """The weights and grades with `overrides` applied; ValueError naming a wrong cell."""
    weights = {by: dict(cells) for by, cells in DEFAULT_WEIGHTS.items()}
    grades = dict(DEFAULT_GRADES)
    for by, cells in (overrides or {}).items():
        if by == "grades":
            for name, value in cells.items():
                if name not in grades or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                    raise ValueError(f"grades.{name}: a grade is excellent, good or pass with a score 0–100")
                grades[name] = value
            continue
        if by not in weights:
            raise ValueError(f"unknown evaluation '{by}'; one of {', '.join(BY)} or grades")
        for figure, weight in cells.items():
            if figure not in weights[by] or not isinstance(weight, (int, float)) or weight < 0:
                raise ValueError(f"{by}.{figure}: a weight ≥ 0 of one of {', '.join(weights[by])}")
            weights[by][figure] = weight
    if not grades["excellent"] >= grades["good"] >= grades["pass"]:
        raise ValueError("grades: excellent ≥ good ≥ pass")
    return {"weights": weights, "grades": grades}


def load_table(path):
    if not path:
        return build_table()
    try:
        with open(path, encoding="utf-8") as handle:
            return build_table(json.load(handle))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"CIVIC_EVALUATION {path}: {error}") from None


def install(app):
    """Read the table once, at start: a mistake in the file stops the app with its reason."""
    app.extensions["evaluation_table"] = load_table(app.config.get("EVALUATION_FILE"))


def table(app=None):
    app = app or current_app
    return app.extensions.get("evaluation_table") or load_table(app.config.get("EVALUATION_FILE"))


def grade_of(score, grades):
    if score is None:
        return None
    for name, _zh in GRADES[:-1]:
        if score >= grades[name]:
            return name
    return "fail"


# -- the period -----------------------------------------------------------------------------

def bounds(start, end):
    """Naive UTC [from, to) of local days start..end."""
    zone = local_zone()
    low = datetime.combine(start, time.min, zone).astimezone(timezone.utc).replace(tzinfo=None)
    high = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(timezone.utc).replace(tzinfo=None)
    return low, high


def excluded_cases():
    return {row.case_id: row for row in db.session.scalars(select(EvaluationExclusion))}


# -- the figures ------------------------------------------------------------------------------

def evaluate(start, end, by, app=None):
    """{"rows": [{key, name, score, grade, figures, excluded}], ...} for `by` over the period, best first."""
    if by not in BY:
        raise ValueError(by)
    low, high = bounds(start, end)
    excluded = excluded_cases()
    rows = _COUNTERS[by](low, high)
    left_out = {key: row.finish(set(excluded)) for key, row in rows.items()}
    settings = table(app)
    weights = settings["weights"][by]
    out = []
    for row in rows.values():
        figures = {name: len(ids) for name, ids in row.counts.items()}
        rates = _RATES[by](figures)
        figures.update({f"{name}_rate": value for name, value in rates.items()})
        _by_urgency(figures, row)
        score = _score(rates, weights)
        out.append({"key": row.key, "name": row.name, "score": score, "grade": grade_of(score, settings["grades"]),
                    "figures": dict(sorted(figures.items())),
                    "excluded": sorted(excluded[c].case.ref for c in left_out[row.key])})
    out.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["name"] or ""))
    return {"by": by, "rows": out, "weights": weights, "grades": settings["grades"]}


def cases_behind(start, end, by, key, figure):
    """The ids of the cases counted in `figure` of row `key`."""
    low, high = bounds(start, end)
    rows = _COUNTERS[by](low, high)
    if key not in rows:
        return []
    row = rows[key]
    row.finish(set(excluded_cases()))
    return sorted(row.counts.get(figure.removesuffix("_rate"), ()))


def _score(rates, weights):
    parts = [(weights[name], value) for name, value in rates.items() if value is not None and weights.get(name)]
    total = sum(weight for weight, _ in parts)
    if not total:
        return None
    return round(100 * sum(weight * value for weight, value in parts) / total, 1)


def _rate(numerator, denominator):
    return None if not denominator else numerator / denominator


def _by_urgency(figures, row):
    """On-time counts per urgency level, so a department with hard cases is compared fairly."""
    levels = {}
    for name, ids in row.counts.items():
        if "@" in name:
            figure, level = name.split("@")
            levels.setdefault(level, {})[figure] = len(ids)
            figures.pop(name, None)
    if levels:
        figures["by_urgency"] = dict(sorted(levels.items()))


def _stages(stage, low, high):
    """Ended rounds of `stage` in the period, with their case's department and grid."""
    return db.session.execute(
        select(CaseStage, Case.department_id, Case.grid_id).join(Case, Case.id == CaseStage.case_id)
        .where(CaseStage.stage == stage, CaseStage.done_at >= low, CaseStage.done_at < high)).all()


def _events(actions, low, high):
    return db.session.execute(
        select(CaseEvent, Case.department_id, Case.grid_id, Case.channel).join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.action.in_(actions), CaseEvent.created_at >= low, CaseEvent.created_at < high)).all()


def _department_of_owner(stage, case_department, staff_department):
    if stage.owner_kind == "department":
        return stage.owner_id
    if stage.owner_kind == "user" and staff_department.get(stage.owner_id):
        return staff_department[stage.owner_id]
    return case_department  # a grid worker handling a department's case on site: the department's


def _departments(low, high):
    names = dict(db.session.execute(select(Department.id, Department.name)).all())
    staff = dict(db.session.execute(select(User.id, User.department_id).where(User.department_id.is_not(None))).all())
    rows = Rows(names)
    row = rows.__getitem__

    for stage, case_department, _grid in _stages("acknowledge", low, high):
        key = _department_of_owner(stage, case_department, staff)
        if key is None:
            continue
        if stage.outcome == "returned":
            row(key).add("returned", stage.case_id)
        if stage.outcome in ("done", "returned", "rerouted"):
            row(key).add("received", stage.case_id)
        if stage.outcome == "done":
            row(key).timed("acknowledged", stage.case_id, stage.on_time, stage.urgency)
    for stage, case_department, _grid in _stages("handle", low, high):
        key = _department_of_owner(stage, case_department, staff)
        if key is None or stage.outcome != "done":
            continue
        row(key).timed("handled", stage.case_id, stage.on_time, stage.urgency)
    # 协办: an assisting department is measured on its own part, as the lead on its
    # stages. A part the lead went on without (waived) counts against it only when it
    # was overdue by then; a withdrawn or parked part counts for nobody.
    for part, figure in (("assist_ack", "acknowledged"), ("assist_handle", "handled")):
        for stage, _department, _grid in _stages(part, low, high):
            if stage.outcome == "done" or (stage.outcome == "waived" and not stage.on_time):
                if part == "assist_ack":
                    row(stage.owner_id).add("received", stage.case_id)
                row(stage.owner_id).timed(figure, stage.case_id, stage.on_time, stage.urgency)
    for event, case_department, _grid, _channel in _events(("verify_fail", "reopen", "recheck_reopen"), low, high,):
        if case_department is not None:
            row(case_department).add("reworked", event.case_id)
    for rating in db.session.execute(
            select(Rating.case_id, Rating.department_id, Rating.score)
            .where(Rating.created_at >= low, Rating.created_at < high, Rating.department_id.is_not(None))):
        row(rating.department_id).add("rated", rating.case_id)
        if rating.score in ("satisfied", "basic"):
            row(rating.department_id).add("satisfied", rating.case_id)
    return rows


def _department_rates(f):
    handled = f.get("handled", 0)
    return {"acknowledge_on_time": _rate(f.get("acknowledged_on_time", 0), f.get("acknowledged", 0)),
            "handle_on_time": _rate(f.get("handled_on_time", 0), handled),
            "first_time_fixed": None if not handled else max(0.0, 1 - f.get("reworked", 0) / handled),
            "kept": None if not f.get("received") else 1 - f.get("returned", 0) / f["received"],
            "satisfaction": _rate(f.get("satisfied", 0), f.get("rated", 0))}


def _dispatchers(low, high):
    """The person who ended the dispatchers' stages (the acceptance, the dispatch) is
    the actor of the event at its end; right first time: a case they dispatched
    that was never returned or re-routed after."""
    people = dict(db.session.execute(select(User.id, User.display_name).where(
        User.role.in_([Role.DISPATCHER.value, Role.SUPERVISOR.value, Role.ADMIN.value]))).all())
    actors = {}
    for event, _d, _g, _c in _events(("accept", "dispatch", "reject", "merge", "arbitrate"), low, high):
        actors[(event.case_id, event.created_at)] = event.actor_id
    rows = Rows(people)
    row = rows.__getitem__

    for stage_name in ("accept", "dispatch"):
        for stage, _department, _grid in _stages(stage_name, low, high):
            actor = actors.get((stage.case_id, stage.done_at))
            if actor not in people:
                continue
            row(actor).timed(f"{stage_name}ed", stage.case_id, stage.on_time)
    dispatched = defaultdict(set)
    for event, _d, _g, _c in _events(("dispatch", "arbitrate"), low, high):
        if event.actor_id in people:
            dispatched[event.case_id].add(event.actor_id)
    bounced = {case_id for case_id, in db.session.execute(
        select(CaseEvent.case_id).where(CaseEvent.action.in_(("return", "reroute")),
                                        CaseEvent.case_id.in_(list(dispatched) or [0])))}
    for case_id, actors_of_case in dispatched.items():
        for actor in actors_of_case:
            row(actor).add("dispatched_cases", case_id)
            if case_id not in bounced:
                row(actor).add("right_first_time", case_id)
    return rows


def _dispatcher_rates(f):
    return {"accept_on_time": _rate(f.get("accepted_on_time", 0), f.get("accepted", 0)),
            "dispatch_on_time": _rate(f.get("dispatched_on_time", 0), f.get("dispatched", 0)),
            "right_first_time": _rate(f.get("right_first_time", 0), f.get("dispatched_cases", 0))}


def _reports(low, high):
    """Reports of the period with who filed them: (case id, grid, reporter, reporter's role, channel, status)."""
    return db.session.execute(
        select(Case.id, Case.grid_id, Case.reporter_id, User.role, Case.channel, Case.status)
        .outerjoin(User, User.id == Case.reporter_id)
        .where(Case.received_at >= low, Case.received_at < high, Case.merged_into_id.is_(None))).all()


def _found_by_workers(report):
    return report.role == Role.GRID_WORKER.value


def _grids(low, high):
    names = dict(db.session.execute(select(Grid.id, Grid.name).where(Grid.level == 2)).all())
    rows = Rows(names)
    row = rows.__getitem__

    for report in _reports(low, high):
        if report.grid_id not in names:
            continue
        row(report.grid_id).add("problems", report.id)
        row(report.grid_id).add("found_by_workers" if _found_by_workers(report) else "complaints", report.id)
    for stage, _department, grid in _stages("handle", low, high):
        if grid in names and stage.outcome == "done":
            row(grid).timed("handled", stage.case_id, stage.on_time)
    for rating in db.session.execute(
            select(Rating.case_id, Case.grid_id, Rating.score).join(Case, Case.id == Rating.case_id)
            .where(Rating.created_at >= low, Rating.created_at < high)):
        if rating.grid_id in names:
            row(rating.grid_id).add("rated", rating.case_id)
            if rating.score in ("satisfied", "basic"):
                row(rating.grid_id).add("satisfied", rating.case_id)
    return rows


def _grid_rates(f):
    return {"found_first": _rate(f.get("found_by_workers", 0), f.get("problems", 0)),
            "handle_on_time": _rate(f.get("handled_on_time", 0), f.get("handled", 0)),
            "satisfaction": _rate(f.get("satisfied", 0), f.get("rated", 0))}


def _workers(low, high):
    """A grid worker: the reports they filed (valid: not rejected as invalid or a
    duplicate), their checks on site in time, and the problems of their grids
    that residents or the hotline reported first (missed)."""
    workers = dict(db.session.execute(select(User.id, User.display_name)
                                      .where(User.role == Role.GRID_WORKER.value)).all())
    grids_of = defaultdict(set)
    for user_id, grid_id in db.session.execute(select(grid_members.c.user_id, grid_members.c.grid_id)).all():
        if user_id in workers:
            grids_of[grid_id].add(user_id)
    rows = Rows(workers)
    row = rows.__getitem__

    for report in _reports(low, high):
        if report.reporter_id in workers:
            row(report.reporter_id).add("reports", report.id)
            if report.status != "rejected":
                row(report.reporter_id).add("valid", report.id)
        elif report.grid_id is not None:
            for worker in grids_of.get(report.grid_id, ()):
                row(worker).add("missed", report.id)
    for stage, _department, _grid in _stages("verify", low, high):
        if stage.owner_kind == "user" and stage.owner_id in workers and stage.outcome in ("done", "failed"):
            row(stage.owner_id).timed("verified", stage.case_id, stage.on_time)
    return rows


def _worker_rates(f):
    found, missed = f.get("reports", 0), f.get("missed", 0)
    return {"valid_reports": _rate(f.get("valid", 0), found),
            "verify_on_time": _rate(f.get("verified_on_time", 0), f.get("verified", 0)),
            "found_first": _rate(found, found + missed)}


_COUNTERS = {"department": _departments, "dispatcher": _dispatchers, "grid": _grids, "worker": _workers}
_RATES = {"department": _department_rates, "dispatcher": _dispatcher_rates, "grid": _grid_rates,
          "worker": _worker_rates}


# -- excluding a case from scoring -------------------------------------------------------------

def exclude(case, reason, actor, now):
    """Leave `case` out of every score, with the reason; logged. Returns the row (the existing one if any)."""
    from ..admin import audit

    existing = db.session.scalar(select(EvaluationExclusion).where(EvaluationExclusion.case_id == case.id))
    if existing is not None:
        return existing
    row = EvaluationExclusion(case_id=case.id, reason=reason, excluded_by=actor.id, excluded_at=now)
    db.session.add(row)
    db.session.flush()
    audit.record("evaluation.exclude", actor=actor, target=case, label=case.ref, after={"reason": reason})
    return row


def include_again(row, actor):
    from ..admin import audit

    audit.record("evaluation.include", actor=actor, target=row.case, label=row.case.ref,
                 before={"reason": row.reason})
    db.session.delete(row)
