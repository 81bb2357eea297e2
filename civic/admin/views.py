"""The administrators' pages under /admin/: people (list, search, import with a
preview, deactivate and reactivate) and the audit log. Supervisors may read them;
changes are for administrators (civic/routes.py). Every change is also a `flask`
command (civic/cli.py) and an entry in the audit log."""
import csv
import io
import json
import secrets
import time
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Role, User
from ..extensions import db
from ..grids.models import Department, Grid
from ..transaction import command, rollback
from . import audit, people
from .tables import MAX_BYTES, TableError, read_rows, safe_cell

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
TOKEN_BYTES = 16


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
    return redirect(request.form.get("back") or url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>/reactivate")
@command
def reactivate(user_id):
    user = _user_or_404(user_id)
    people.reactivate(user, actor=current_user, ip=request.remote_addr)
    flash(_("%(name)s can log in again.", name=user.display_name), "info")
    return redirect(request.form.get("back") or url_for("admin.users"), 303)


# -- importing people ------------------------------------------------------------------

def _uploads_dir():
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _sweep_old_uploads(max_age=24 * 3600):
    """Uploads never applied, and passwords never downloaded, go after a day."""
    for path in _uploads_dir().iterdir():
        if time.time() - path.stat().st_mtime > max_age:
            path.unlink(missing_ok=True)


def _upload_path(token, suffix):
    if not (isinstance(token, str) and len(token) == 2 * TOKEN_BYTES and all(c in "0123456789abcdef" for c in token)):
        abort(404)
    return _uploads_dir() / f"{token}.{suffix}"


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
    _sweep_old_uploads()
    token = secrets.token_hex(TOKEN_BYTES)
    _upload_path(token, "upload").write_bytes(data)
    _upload_path(token, "name").write_text(upload.filename[:200], encoding="utf-8")
    return render_template("admin/import.html", plan=plan, token=token, filename=upload.filename,
                           columns=people.COLUMNS)


@bp.post("/users/import/<token>")
@command
def import_apply(token):
    """Apply the previewed file (checked again: the county may have changed since)."""
    path = _upload_path(token, "upload")
    try:
        filename = _upload_path(token, "name").read_text(encoding="utf-8")
        data = path.read_bytes()
    except FileNotFoundError:  # applied already, or swept after a day
        flash(_("That upload has expired; choose the file again."), "error")
        return redirect(url_for("admin.import_form"), 303)
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
    path.unlink(missing_ok=True)
    if applied.passwords:
        _upload_path(token, "xlsx").write_bytes(people.passwords_workbook(applied.passwords))
    return render_template("admin/import_done.html", plan=plan, passwords=applied.passwords, token=token)


@bp.get("/users/import/<token>/passwords.xlsx")
def import_passwords(token):
    """The one-time passwords of an import, downloadable once."""
    path = _upload_path(token, "xlsx")
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
