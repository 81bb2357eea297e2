"""The supervisors' sync dashboard (oversight roles: civic/routes.py): GET /dashboard/sync (HTML) and /dashboard/sync.json (the same rows
and summary, for other systems and for the page's live updates)."""
from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from .dashboard import LEVELS, Filters, Thresholds, sync_dashboard
from ..extensions import db
from ..grids.models import Department, Grid
from ..labels import role_label
from .shell import shell_version

bp = Blueprint("devices", __name__, url_prefix="/dashboard")

REFRESH_SECONDS = 15


def _filters():
    """The GET filters; an unknown grid, department or level is a 404 (never a 500)."""
    args = request.args
    grid = department = None
    if args.get("grid"):
        grid = db.session.scalar(select(Grid).where(Grid.code == args["grid"])) or abort(404)
    if args.get("department"):
        department = db.session.scalar(select(Department).where(Department.code == args["department"])) or abort(404)
    level = args.get("level") or None
    if level is not None and level not in LEVELS:
        abort(404)
    return Filters(grid=grid, department_id=department.id if department else None, level=level)


def _dashboard():
    return sync_dashboard(shell_version(current_app), Thresholds.from_config(current_app.config), _filters())


@bp.get("/sync.json")
def sync_json():
    response = jsonify(_dashboard())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sync")
def sync():
    data = _dashboard()
    grids = db.session.scalars(select(Grid).order_by(Grid.level, Grid.code)).all()
    departments = db.session.scalars(select(Department).where(Department.active.is_(True))
                                     .order_by(Department.code)).all()
    return render_template("dashboard/sync.html", data=data, args=request.args, grids=grids,
                           departments=departments, refresh_seconds=REFRESH_SECONDS, labels=sync_labels())


def sync_labels():
    """Words the page's script needs when it re-renders rows (the same as the template's)."""
    return {
        "levels": {"ok": _("OK"), "behind": _("Behind"), "stale": _("Stale"), "never": _("Never installed")},
        "reasons": {"pending_old": _("reports waiting"), "sync_old": _("no sync"),
                    "no_heartbeat": _("no heartbeat"), "never_installed": _("app not installed")},
        "ago": {"now": _("just now"), "m": _("%(n)s min ago"), "h": _("%(n)s h ago"), "d": _("%(n)s d ago")},
        "waiting": _("oldest %(age)s"), "rejected": _("%(n)s refused"), "outdated": _("outdated"),
        "failures": _("%(n)s failed syncs in 24 h"), "last_failure": _("last %(age)s"),
        "persisted": _("kept"), "not_persisted": _("may be cleared"), "push_on": _("Push on"),
        "push_off": _("No push"), "updated": _("Updated %(time)s"), "paused": _("Live updates paused"),
        "failed": _("Could not refresh; retrying"), "empty": _("Nobody here."),
        "roles": {role: role_label(role) for role in ("grid_worker", "dept_staff", "dispatcher", "supervisor", "admin")},
    }
