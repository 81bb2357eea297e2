"""The supervisors' sync dashboard (on the dashboard blueprint, so oversight
roles only): GET /dashboard/sync (HTML) and /dashboard/sync.json (the same rows
and summary, for other systems and for the page's live updates)."""
from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..accounts.models import OVERSIGHT_ROLES
from ..devices.dashboard import LEVELS, Filters, Thresholds, sync_dashboard
from ..extensions import db
from ..grids.models import Department, Grid
from .dashboard import bp
from .field import shell_version
from .main import role_label

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


@bp.app_template_global()
def can_see_sync():
    """Whether the nav shows the sync dashboard: oversight roles."""
    return current_user.is_authenticated and current_user.role_enum in OVERSIGHT_ROLES


@bp.app_template_global()
def age_text(seconds):
    """A compact age, the same words as the page script's: 'just now', '5 min ago', '3 h ago', '2 d ago'."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("%(n)s min ago", n=seconds // 60)
    if seconds < 86400:
        return _("%(n)s h ago", n=seconds // 3600)
    return _("%(n)s d ago", n=seconds // 86400)
