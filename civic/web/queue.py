"""The command centre's new-report queue: what waits to be accepted or
dispatched, with the routing the system chose, likely duplicates and a map, and
one step for many reports at once."""
import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..cases.duplicates import suggest
from ..cases.models import Case, Status
from ..errors import ApiError
from ..extensions import db
from ..grids.mapview import grid_box, inside, overview_map
from ..intake.actions import parse_action, submit_action
from ..transaction import unit_of_work
from ..labels import error_text, step_label

QUEUE_LIMIT = 100

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


BULK_ACTIONS = ("accept", "dispatch", "reject")


@bp.get("/queue")
def queue():
    """The command centre's new-report queue: what waits to be accepted or
    dispatched, with the routing the system chose, likely duplicates and a map."""
    cases = db.session.scalars(
        select(Case).where(Case.status.in_([Status.REPORTED.value, Status.ACCEPTED.value]))
        .order_by(Case.received_at.desc()).limit(QUEUE_LIMIT)).all()
    rows = [{"case": case, "duplicates": suggest(case, limit=3)} for case in cases]
    box = grid_box()  # the town: a report far outside it is listed, not drawn
    points = [(c.lat, c.lng, c.status, c.ref) for c in cases if c.lat is not None and box and inside(box, c.lat, c.lng)]
    return render_template("dashboard/queue.html", rows=rows, batch=str(uuid.uuid4()),
                           overview=overview_map(points, box) if points else None,
                           off_map=sum(1 for c in cases if c.lat is not None) - len(points))


@bp.get("/parked")
def parked():
    """挂账, listed apart: requests waiting for a supervisor, and the cases parked
    until their review date (the department's own, for its staff)."""
    from ..cases.access import visible_clause
    from ..cases.models import ParkRequest, ParkStatus

    def listed(where, order):
        return db.session.execute(
            select(Case, ParkRequest).join(ParkRequest, ParkRequest.case_id == Case.id)
            .where(visible_clause(current_user), *where).order_by(*order).limit(QUEUE_LIMIT)).all()

    asked = listed((ParkRequest.status == ParkStatus.PENDING.value,), (ParkRequest.created_at,))
    parked = listed((Case.status == Status.PARKED.value, ParkRequest.status == ParkStatus.APPROVED.value),
                    (Case.parked_until, Case.id))
    return render_template("dashboard/parked.html", asked=asked, parked=parked)


@bp.post("/queue")
def queue_bulk():
    """One step for many cases (accept, dispatch each to the department the rules
    chose, reject with one reason). Each case is its own transaction: one refusal
    does not undo the others. Ids are made from the page's batch id, so sending
    the same page again applies nothing twice."""
    action = request.form.get("action")
    batch = request.form.get("batch") or ""
    try:
        uuid.UUID(batch)
    except ValueError:
        abort(400)
    ids = [int(v) for v in request.form.getlist("case") if v.isascii() and v.isdigit() and len(v) < 10][:QUEUE_LIMIT]
    if action not in BULK_ACTIONS or not ids:
        flash(_("Tick the reports and choose a step."), "error")
        return redirect(url_for("dashboard.queue"), 303)
    note = (request.form.get("note") or "").strip() or None
    done, refused = 0, []
    for case_id in ids:
        case = db.session.get(Case, case_id)
        if case is None:
            continue
        meta = {"client_id": str(uuid.uuid5(uuid.UUID(batch), f"{case_id}:{action}")), "action": action}
        if note:
            meta["note"] = note
        if action == "dispatch" and case.department is not None:
            meta["department"] = case.department.code
        try:
            with unit_of_work():  # each case its own: a refusal undoes only its own step
                result = submit_action(case, parse_action(meta, note_max=current_app.config["DESCRIPTION_MAX"]),
                                       [], current_user)
            done += result.created
        except ApiError as error:
            refused.append(f"{case.ref}: {error_text(error)}")
    if done:
        flash(_("%(step)s: %(n)d reports.", step=step_label(action), n=done), "info")
    for line in refused[:10]:
        flash(line, "error")
    if len(refused) > 10:
        flash(_("…and %(n)d more refused.", n=len(refused) - 10), "error")
    return redirect(url_for("dashboard.queue"), 303)
