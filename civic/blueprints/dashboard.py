"""Supervisors' pages. For now: who can be reached by push. (The sync and
performance dashboards of the supervisors' issue will live here too.)"""
from datetime import datetime

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from ..accounts.models import OVERSIGHT_ROLES, Role
from ..push.services import push_status

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
