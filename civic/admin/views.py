"""The administrators' pages under /admin/: people (list, search, import with a
preview, deactivate and reactivate; one person's page: role, grids and department,
a new password, logging out everywhere, printed phone codes) and the audit log
(CSV and XLSX). Supervisors may read them; changes are for administrators
(civic/routes.py). Every change is also a `flask` command (civic/cli.py) and an
entry in the audit log."""
import csv
import io
import json
from datetime import timezone

from flask import (Blueprint, Response, abort, current_app, flash, make_response, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..accounts.codes import send_text
from ..accounts.models import STAFF_ROLES, DeviceToken, LoginSession, ProvisioningCode, Role, User
from ..errors import ApiError
from ..extensions import db
from ..grids.models import Department, Grid
from ..posters.services import qr_svg
from ..timeutil import local_zone, utcnow
from ..transaction import after_commit, command, rollback
from ..urls import public_base_url, same_site_path
from . import accounts, audit, people, uploads
from .settings_check import sms_sender
from .tables import MAX_BYTES, TableError, read_rows, safe_cell

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


# -- people --------------------------------------------------------------------------

@bp.get("/users")
def users():
    args = request.args
    query = select(User).where(User.deleted_at.is_(None))
    if args.get("q"):
        like = f"%{args['q'].strip()[:64]}%"
        query = query.where(or_(User.username.ilike(like), User.display_name.ilike(like), User.phone.ilike(like)))
    if args.get("role") in Role.values():
        query = query.where(User.role == args["role"])
    if args.get("grid"):
        query = query.where(User.grids.any(Grid.code == args["grid"]))
    if args.get("department"):
        query = query.where(User.department.has(Department.code == args["department"]))
    if args.get("active") in ("yes", "no"):
        query = query.where(User.active.is_(args["active"] == "yes"))
    page = max(1, min(10_000, int(args["page"]) if args.get("page", "").isdigit() else 1))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(User.role, User.username)
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("admin/users.html", users=rows, total=total, page=page, pages=-(-total // PAGE_SIZE),
                           args=args, roles=Role.values(),
                           departments=db.session.scalars(select(Department).order_by(Department.code)).all())


def _user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    return user


@bp.post("/users/<int:user_id>/deactivate")
@command
def deactivate(user_id):
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("admin.users"), 303)
    released = people.deactivate(user, actor=current_user, ip=request.remote_addr)
    flash(_("%(name)s is deactivated: logged out everywhere; %(n)d open tasks are back in the queue.",
            name=user.display_name, n=len(released)), "info")
    return redirect(same_site_path(request.form.get("back")) or url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/reactivate")
@command
def reactivate(user_id):
    user = _user_or_404(user_id)
    people.reactivate(user, actor=current_user, ip=request.remote_addr)
    flash(_("%(name)s can log in again.", name=user.display_name), "info")
    return redirect(same_site_path(request.form.get("back")) or url_for("admin.users"), 303)


# -- importing people ------------------------------------------------------------------

@bp.get("/users/import")
def import_form():
    return render_template("admin/import.html", plan=None, columns=people.COLUMNS)


@bp.post("/users/import")
def import_preview():
    """Upload: every row checked and shown; nothing is written until "Apply"."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("admin/import.html", plan=None, columns=people.COLUMNS,
                               error=_("Choose the XLSX or CSV file to import.")), 400
    data = upload.stream.read(MAX_BYTES + 1)
    try:
        plan = people.check_import(read_rows(data, upload.filename))
    except TableError as error:
        return render_template("admin/import.html", plan=None, columns=people.COLUMNS, error=str(error)), 422
    token = uploads.keep(data, upload.filename)
    return render_template("admin/import.html", plan=plan, token=token, filename=upload.filename,
                           columns=people.COLUMNS)


@bp.post("/users/import/<token>")
@command
def import_apply(token):
    """Apply the previewed file (checked again: the county may have changed since)."""
    kept = uploads.load(token)
    if kept is None:  # applied already, or swept after a day
        flash(_("That upload has expired; choose the file again."), "error")
        return redirect(url_for("admin.import_form"), 303)
    data, filename = kept[0], kept[1]["filename"]
    plan = people.check_import(read_rows(data, filename))
    skip = request.form.get("skip_invalid") == "1"
    try:
        applied = people.apply_import(plan, actor=current_user, ip=request.remote_addr, skip_invalid=skip)
    except people.ImportRefused as refused:
        return render_template("admin/import.html", plan=plan, token=token, filename=filename,
                               columns=people.COLUMNS, error=str(refused)), 409
    except IntegrityError:
        # Someone made one of these accounts meanwhile (the same file applied twice at
        # once, a double click): nothing of this run is kept; check the file again.
        rollback()
        plan = people.check_import(read_rows(data, filename))
        return render_template("admin/import.html", plan=plan, token=token, filename=filename,
                               columns=people.COLUMNS,
                               error=_("The county changed while this file was applied (another import at the same "
                                       "time?); nothing of it was kept. Here it is checked again.")), 409
    uploads.discard(token)
    if applied.passwords:
        uploads.path_for(token, "xlsx").write_bytes(people.passwords_workbook(applied.passwords))
    return render_template("admin/import_done.html", plan=plan, passwords=applied.passwords, token=token)


@bp.get("/users/import/<token>/passwords.xlsx")
def import_passwords(token):
    """The one-time passwords of an import, downloadable once."""
    path = uploads.path_for(token, "xlsx")
    try:
        data = path.read_bytes()
        path.unlink()  # of two downloads at once, one unlinks, the other finds nothing
    except FileNotFoundError:
        abort(404)
    response = send_file(io.BytesIO(data), download_name="one-time-passwords.xlsx", as_attachment=True,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the audit log -------------------------------------------------------------------

def _audit_rows():
    args = request.args
    return audit.entries(action=args.get("action") or None, actor=args.get("actor") or None,
                         target_type=args.get("target") or None, limit=1000 if args.get("format") else 200)


@bp.get("/audit")
def audit_log():
    return render_template("admin/audit.html", entries=_audit_rows(), args=request.args)


@bp.get("/audit.csv")
def audit_export():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "actor", "ip", "action", "target", "before", "after"])
    for entry in _audit_rows():
        writer.writerow([safe_cell(cell) for cell in (
            entry.at.isoformat(), entry.actor_name, entry.ip or "", entry.action,
            f"{entry.target_type or ''} {entry.target_label or ''}".strip(), _json(entry.before), _json(entry.after))])
    # UTF-8 with a byte-order mark: Excel in China opens it with the right characters.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"})


def _json(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else ""


# -- one person: details, role/grids/department, password, logins, phone codes ---------------

def _person_page(user, *, change=None, status=200, **extra):
    live_sessions = db.session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)).order_by(LoginSession.created_at.desc())).all()
    devices = db.session.scalars(select(DeviceToken).where(
        DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None)).order_by(DeviceToken.created_at.desc())).all()
    codes = db.session.scalars(select(ProvisioningCode).where(
        ProvisioningCode.user_id == user.id, ProvisioningCode.used_at.is_(None),
        ProvisioningCode.expires_at > utcnow())).all()
    return render_template("admin/user.html", user=user, tasks=accounts.open_tasks(user), sessions=live_sessions,
                           devices=devices, codes=codes, change=change, roles=[r.value for r in STAFF_ROLES],
                           departments=db.session.scalars(select(Department).order_by(Department.code)).all(),
                           may_text=_may_text(user), **extra), status


def _may_text(user):
    """Texting a new password needs a real SMS gateway (as the settings page judges it) and a number."""
    return bool(user.phone) and sms_sender(current_app.config).ok


@bp.get("/users/<int:user_id>")
def user(user_id):
    return _person_page(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/change")
@command
def change_user(user_id):
    """Role, grids, department: first the preview (what happens to the tasks in hand),
    then, with confirm=1, the change (planned again: the tasks of this moment)."""
    person = _user_or_404(user_id)
    form = request.form
    change = accounts.plan_change(person, role=form.get("role"), grid_codes=form.get("grids") or "",
                                  department_code=form.get("department"), actor=current_user)
    if change.errors:
        return _person_page(person, change=change, status=422)
    if form.get("confirm") != "1" or not change.changes:
        return _person_page(person, change=change)
    released = accounts.apply_change(change, actor=current_user, ip=request.remote_addr)
    flash(_("%(name)s is changed; %(n)d open tasks are back in the queue.", name=person.display_name,
            n=len(released)), "info")
    return redirect(url_for("admin.user", user_id=person.id), 303)


@bp.post("/users/<int:user_id>/reset-password")
@command
def reset_password(user_id):
    """A new one-time password, shown on this answer only (and texted, if asked and possible)."""
    person = _user_or_404(user_id)
    if person.role == Role.RESIDENT.value:
        flash(_("Residents reset their own password with a code texted to their phone."), "error")
        return redirect(url_for("admin.user", user_id=person.id), 303)
    password = accounts.reset_password(person, actor=current_user, ip=request.remote_addr)
    texted = request.form.get("text") == "1" and _may_text(person)
    if texted:
        with force_locale("zh"):  # the worker's language, as the posters' (not the administrator's page's)
            text = _("Your new one-time password for Civic grid: %(password)s", password=password)
        phone = person.phone
        after_commit(lambda: _text_quietly(phone, text))
    page, status = _person_page(person, new_password=password, texted=texted)
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _text_quietly(phone, text):
    """After the commit: the password is set and shown either way; a failed text is only logged."""
    try:
        send_text(phone, text)
    except ApiError:
        current_app.logger.warning("the new password could not be texted")


@bp.post("/users/<int:user_id>/logout")
@command
def logout_user(user_id):
    person = _user_or_404(user_id)
    live = accounts.logout_everywhere(person, actor=current_user, ip=request.remote_addr)
    flash(_("%(name)s is logged out everywhere (%(sessions)d browser sessions, %(devices)d devices).",
            name=person.display_name, sessions=live["sessions"], devices=live["devices"]), "info")
    return redirect(url_for("admin.user", user_id=person.id), 303)


MAX_CODES = 500  # one sheet: a county's street has a few hundred workers at most


@bp.post("/users/<int:user_id>/phone-code")
@command
def phone_code(user_id):
    return _print_codes([_user_or_404(user_id)], back=url_for("admin.user", user_id=user_id))


@bp.post("/users/phone-codes")
@command
def phone_codes():
    """A sheet of phone codes: the people ticked on the list, or every active staff member of a grid."""
    ids = [int(value) for value in request.form.getlist("user_id") if value.isdigit()][:MAX_CODES]
    grid_code = (request.form.get("grid") or "").strip()
    query = select(User).where(User.deleted_at.is_(None), User.active.is_(True), User.role != Role.RESIDENT.value)
    if grid_code:  # the grid's button: everyone of the grid, whatever is ticked
        query = query.where(User.grids.any(Grid.code == grid_code))
    elif ids:
        query = query.where(User.id.in_(ids))
    else:
        flash(_("Tick the people to print phone codes for, or choose a grid."), "error")
        return redirect(url_for("admin.users"), 303)
    people_chosen = db.session.scalars(query.order_by(User.username).limit(MAX_CODES)).all()
    if not people_chosen:
        flash(_("Nobody to print phone codes for: only active staff can have one."), "error")
        return redirect(url_for("admin.users", grid=grid_code or None), 303)
    return _print_codes(people_chosen, back=url_for("admin.users", grid=grid_code or None))


def _print_codes(chosen, *, back):
    issued, skipped = accounts.issue_phone_codes(chosen, base_url=public_base_url(), actor=current_user,
                                                 ip=request.remote_addr)
    if not issued:
        flash(_("No phone code was made: only active staff can have one."), "error")
        return redirect(back, 303)
    zone = local_zone()
    sheets = [{"user": person, "svg": qr_svg(url),
               "expires_at_local": expires_at.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M")}
              for person, url, expires_at in issued]
    response = make_response(render_template("admin/phone_codes.html", sheets=sheets, skipped=skipped, back=back))
    # The codes log a phone in: never kept by a cache, and the page sends no Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/audit.xlsx")
def audit_xlsx():
    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit log")

    def text(value):
        cell = WriteOnlyCell(sheet, value=safe_cell(value))
        cell.data_type = "s"  # text: never a formula, never a number
        return cell

    sheet.append([text(name) for name in ("at", "actor", "ip", "action", "target", "before", "after")])
    for entry in _audit_rows():
        sheet.append([text(cell) for cell in (
            entry.at.isoformat(), entry.actor_name, entry.ip or "", entry.action,
            f"{entry.target_type or ''} {entry.target_label or ''}".strip(), _json(entry.before), _json(entry.after))])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.xlsx"', "Cache-Control": "no-store"})
