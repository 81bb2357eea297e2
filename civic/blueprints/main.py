"""Home and the case page."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from ..accounts.models import OVERSIGHT_ROLES, Role
from ..cases.access import get_case_or_404, worker_grid_ids
from ..cases.models import Case
from ..extensions import db
from ..grids.mapview import case_map

bp = Blueprint("main", __name__)

HOME_LIMIT = 50


def visible_cases_query(user):
    """The cases `user` works on or reported, newest first."""
    query = select(Case).order_by(Case.received_at.desc())
    role = user.role_enum
    if role in OVERSIGHT_ROLES:
        return query
    mine = (Case.reporter_id == user.id) | (Case.assignee_id == user.id)
    if role == Role.DEPT_STAFF:
        return query.where((Case.department_id == user.department_id) | mine)
    if role == Role.GRID_WORKER:
        grids = worker_grid_ids(user)
        return query.where((Case.grid_id.in_(grids)) | mine)
    return query.where(mine)


@bp.get("/")
@login_required
def home():
    cases = db.session.scalars(visible_cases_query(current_user).limit(HOME_LIMIT)).all()
    return render_template("main/home.html", cases=cases)


@bp.get("/cases/<ref>")
@login_required
def case_detail(ref):
    case = get_case_or_404(ref=ref, user=current_user)
    return render_template("cases/detail.html", case=case, map_svg=case_map(case))


@bp.app_template_global()
def action_label(action):
    from flask_babel import gettext as _

    labels = {
        "report": _("Reported"), "accept": _("Accepted"), "reject": _("Rejected"), "dispatch": _("Dispatched"),
        "acknowledge": _("Acknowledged (收到)"), "start": _("Work started"), "handle": _("Handled"),
        "verify": _("Verified and closed"),
    }
    return labels.get(action, action)


@bp.app_template_global()
def location_label(source):
    from flask_babel import gettext as _

    labels = {"device": _("phone GPS"), "exif": _("photo GPS"), "manual": _("address"), "none": _("unknown")}
    return labels.get(source, source)


@bp.app_template_global()
def role_label(role):
    from flask_babel import gettext as _

    labels = {"resident": _("Resident"), "grid_worker": _("Grid worker"), "dept_staff": _("Department staff"),
              "dispatcher": _("Dispatcher"), "supervisor": _("Supervisor"), "admin": _("Administrator")}
    return labels.get(role, role)
