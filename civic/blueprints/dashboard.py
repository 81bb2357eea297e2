"""Supervisors' pages. For now: who can be reached by push. (The sync and
performance dashboards of the supervisors' issue will live here too.)"""
from datetime import datetime

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from sqlalchemy import select

from ..accounts.models import OVERSIGHT_ROLES, Role
from ..cases.duplicates import suggest
from ..cases.models import Case, Status
from ..extensions import db
from ..push.services import push_status

QUEUE_LIMIT = 100

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def oversight_only():
    if current_user.role_enum not in OVERSIGHT_ROLES:
        abort(403)


def _parse(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None) if value else None


@bp.get("/push")
def push():
    role = request.args.get("role") or None
    if role is not None and role not in Role.values():
        abort(404)
    users = push_status(role)
    for user in users:
        user["last_success"] = _parse(user["last_success_at"])
        user["last_failure"] = _parse(user["last_failure_at"])
    reachable = sum(1 for u in users if u["push_active"])
    return render_template("dashboard/push.html", users=users, role=role, reachable=reachable,
                           roles=[Role.GRID_WORKER.value, Role.DEPT_STAFF.value])


@bp.get("/queue")
def queue():
    """The command centre's new-report queue: what waits to be accepted or
    dispatched, with the routing the system chose and likely duplicates."""
    cases = db.session.scalars(
        select(Case).where(Case.status.in_([Status.REPORTED.value, Status.ACCEPTED.value]))
        .order_by(Case.received_at.desc()).limit(QUEUE_LIMIT)).all()
    rows = [{"case": case, "duplicates": suggest(case, limit=3)} for case in cases]
    return render_template("dashboard/queue.html", rows=rows)
