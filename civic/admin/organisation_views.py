"""The organisation pages under /admin/: departments (create, edit, merge, retire,
a test message to the chat group), the county's calendar (days added on the page or
imported, the next 60 days as the deadlines count them) and the settings at a
glance. Supervisors may read the department and calendar pages; changes and the
settings are the administrators' (civic/routes.py). Every change is also a `flask`
command (civic/admin/org_cli.py) and an audit entry (in the services)."""
from datetime import UTC, date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..accounts.models import Role, User
from ..cases.deadlines import last_known_year
from ..extensions import db
from ..grids.models import Department
from ..timeutil import local_zone, utcnow
from ..transaction import command
from . import calendar, departments, settings_check
from .tables import MAX_BYTES, TableError, read_rows

bp = Blueprint("admin_org", __name__, url_prefix="/admin")

DAYS_AHEAD = 60


def _today():
    return utcnow().replace(tzinfo=UTC).astimezone(local_zone(current_app.config)).date()


def _is_admin():
    return current_user.role_enum == Role.ADMIN


# -- departments ---------------------------------------------------------------------

@bp.get("/departments")
def department_list():
    rows = db.session.scalars(select(Department).order_by(Department.active.desc(), Department.code)).all()
    staff = dict(db.session.execute(select(User.department_id, func.count()).where(User.active.is_(True))
                                    .group_by(User.department_id)).all())
    names = {dept.id: dept for dept in rows}
    return render_template("admin/departments.html", departments=rows, staff=staff, names=names,
                           county_hours=current_app.config["WORKING_HOURS"])


def _department_or_404(department_id):
    department = db.session.get(Department, department_id)
    if department is None:
        abort(404)
    return department


def _form_values(department):
    values = {name: getattr(department, name) or "" for name in departments.FIELDS} if department else {}
    values["webhook_secret"] = ""  # never sent back to the browser
    if not _is_admin() and values.get("webhook_url"):
        values["webhook_url"] = departments.masked_url(values["webhook_url"])
    return values


def _department_page(department, *, status=200, error=None, form=None, answer=None):
    targets = db.session.scalars(select(Department).where(Department.active.is_(True))
                                 .order_by(Department.code)).all()
    context = {"department": department, "error": error, "answer": answer,
               "form": form if form is not None else _form_values(department),
               "kinds": departments.webhooks.KINDS, "county_hours": current_app.config["WORKING_HOURS"]}
    if department is not None:
        context.update(
            staff=db.session.scalars(select(User).where(User.department_id == department.id)
                                     .order_by(User.active.desc(), User.display_name)).all(),
            ties=departments.ties(department), targets=[t for t in targets if t.id != department.id],
            merged_into=db.session.get(Department, department.merged_into_id) if department.merged_into_id else None)
    return render_template("admin/department.html", **context), status


def _submitted():
    form = request.form
    values = {name: form.get(name, "") for name in departments.FIELDS}
    values["clear_secret"] = form.get("clear_secret") == "1"
    return values


@bp.get("/departments/new")
def department_new():
    return _department_page(None)


@bp.post("/departments")
@command
def department_create():
    values = _submitted()
    try:
        department = departments.create(values, actor=current_user, ip=request.remote_addr)
    except departments.DepartmentError as error:
        return _department_page(None, status=422, error=error, form={**values, "webhook_secret": ""})
    flash(_("%(name)s is created.", name=department.name), "info")
    return redirect(url_for("admin_org.department_page", department_id=department.id), 303)


@bp.get("/departments/<int:department_id>")
def department_page(department_id):
    return _department_page(_department_or_404(department_id))


@bp.post("/departments/<int:department_id>")
@command
def department_update(department_id):
    department = _department_or_404(department_id)
    values = _submitted()
    try:
        changed = departments.update(department, values, actor=current_user, ip=request.remote_addr)
    except departments.DepartmentError as error:
        return _department_page(department, status=422, error=error, form={**values, "webhook_secret": ""})
    flash(_("Saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("admin_org.department_page", department_id=department.id), 303)


@bp.post("/departments/<int:department_id>/merge")
@command
def department_merge(department_id):
    department = _department_or_404(department_id)
    target = db.session.scalar(select(Department).where(Department.code == request.form.get("into", "")))
    try:
        moved = departments.merge(department, target, actor=current_user, ip=request.remote_addr)
    except departments.DepartmentError as error:
        return _department_page(department, status=422, error=error)
    flash(_("%(name)s is merged into %(target)s: %(n)d open cases moved there.", name=department.name,
            target=target.name, n=len(moved)), "info")
    return redirect(url_for("admin_org.department_page", department_id=target.id), 303)


@bp.post("/departments/<int:department_id>/retire")
@command
def department_retire(department_id):
    department = _department_or_404(department_id)
    try:
        departments.retire(department, actor=current_user, ip=request.remote_addr)
    except departments.DepartmentError as error:
        return _department_page(department, status=409, error=error)
    flash(_("%(name)s is retired.", name=department.name), "info")
    return redirect(url_for("admin_org.department_page", department_id=department.id), 303)


@bp.post("/departments/<int:department_id>/restore")
@command
def department_restore(department_id):
    department = _department_or_404(department_id)
    try:
        departments.restore(department, actor=current_user, ip=request.remote_addr)
    except departments.DepartmentError as error:
        return _department_page(department, status=409, error=error)
    flash(_("%(name)s is active again.", name=department.name), "info")
    return redirect(url_for("admin_org.department_page", department_id=department.id), 303)


@bp.post("/departments/<int:department_id>/test-message")
@command
def department_test_message(department_id):
    """Send the test message to the group on file and show what the platform answered."""
    department = _department_or_404(department_id)
    try:
        answer = departments.test_message(department, base_url=current_app.config.get("PUBLIC_BASE_URL"),
                                          actor=current_user, ip=request.remote_addr,
                                          timeout=min(departments.TEST_TIMEOUT_SECONDS,
                                                      current_app.config["WEBHOOK_TIMEOUT_SECONDS"]))
    except departments.DepartmentError as error:
        return _department_page(department, status=422, error=error)
    return _department_page(department, answer=answer)


# -- the calendar ------------------------------------------------------------------------

def _calendar_page(*, status=200, error=None, errors=(), imported=None, form=None):
    today = _today()
    return render_template("admin/calendar.html", days=calendar.next_days(today, DAYS_AHEAD), today=today,
                           overrides=calendar.overrides(since=today - timedelta(days=31)),
                           unknown=calendar.unknown_years(today, DAYS_AHEAD), last_year=last_known_year(),
                           county_hours=current_app.config["WORKING_HOURS"], error=error, errors=errors,
                           imported=imported, form=form or {},
                           own_hours=db.session.scalar(select(func.count()).select_from(Department).where(
                               Department.active.is_(True), Department.working_hours.is_not(None)))), status


@bp.get("/calendar")
def calendar_page():
    return _calendar_page()


def _day_field(text):
    try:
        return calendar.parse_day(text or "")
    except calendar.CalendarError as error:
        raise calendar.CalendarError(_("Date: %(why)s.", why=str(error))) from None


@bp.post("/calendar")
@command
def calendar_set():
    form = request.form
    try:
        day = _day_field(form.get("day"))
        workday = calendar.parse_kind(form.get("kind", ""))
    except calendar.CalendarError as error:
        return _calendar_page(status=422, error=str(error), form=form)
    changed = calendar.set_day(day, workday, form.get("note"), actor=current_user, ip=request.remote_addr)
    flash(_("%(day)s is now a %(kind)s.", day=day.isoformat(), kind=_("working day") if workday else _("day off"))
          if changed else _("Nothing changed."), "info")
    return redirect(url_for("admin_org.calendar_page"), 303)


@bp.post("/calendar/remove")
@command
def calendar_remove():
    try:
        day = _day_field(request.form.get("day"))
    except calendar.CalendarError as error:
        return _calendar_page(status=422, error=str(error))
    if calendar.remove_day(day, actor=current_user, ip=request.remote_addr):
        flash(_("%(day)s counts as the national calendar says again.", day=day.isoformat()), "info")
    return redirect(url_for("admin_org.calendar_page"), 303)


@bp.post("/calendar/import")
@command
def calendar_import():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _calendar_page(status=400, error=_("Choose the XLSX or CSV file to import."))
    data = upload.stream.read(MAX_BYTES + 1)
    try:
        plan = calendar.check_import(read_rows(data, upload.filename))
    except TableError as error:
        return _calendar_page(status=422, error=str(error))
    if plan.problems or plan.invalid:
        return _calendar_page(status=422, error=_("Nothing was imported: fix these rows and send the file again."),
                              errors=plan.messages())
    changed, same = calendar.apply_import(plan, actor=current_user, ip=request.remote_addr)
    flash(_("%(changed)d days added or changed, %(same)d unchanged.", changed=changed, same=same), "info")
    return redirect(url_for("admin_org.calendar_page"), 303)


# -- settings ------------------------------------------------------------------------------

@bp.get("/settings")
def settings():
    items = settings_check.check_all(current_app.config, current_app.instance_path, today=_today())
    return render_template("admin/settings.html", items=items, warnings=[item for item in items if not item.ok])


def weekday_name(day: date):
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][day.weekday()]


bp.add_app_template_global(weekday_name, "weekday_name")
