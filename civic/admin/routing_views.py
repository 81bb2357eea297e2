"""The administrators' pages for the category catalogue and the routing table
(谁主管谁负责), under /admin/: the lists, a category's form, setting and deleting a
rule, "who would get this?", and both tables as XLSX out and in. Supervisors may
read (GET, the tester too); changes are for administrators (civic/routes.py).
Every change is also a `flask` command (civic/admin/commands.py) and an entry in
the audit log."""
import io
import math

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..grids.models import RESOLVE_UNITS, Category, Department, Grid, RoutingRule
from ..grids.routing import STEPS
from ..intake.reports import grid_at
from ..transaction import command
from . import categories as catalogue
from . import routing_admin
from .tables import MAX_BYTES, TableError, read_rows

bp = Blueprint("admin_routing", __name__, url_prefix="/admin")
# grids/routing.py's STEPS, in the page's language
STEP_LABELS = {
    "grid_category": _l("this grid, this category"),
    "grid_all": _l("this grid, every category"),
    "parent_category": _l("the level-1 grid, this category"),
    "parent_all": _l("the level-1 grid, every category"),
    "street_category": _l("the street, this category"),
    "street_all": _l("the street, every category"),
    "everywhere_category": _l("everywhere, this category"),
    "category_default": _l("the category's default department"),
    "everywhere_all": _l("everywhere, every category"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(data, name):
    response = send_file(io.BytesIO(data), download_name=name, as_attachment=True, mimetype=XLSX)
    response.headers["Cache-Control"] = "no-store"
    return response


def _uploaded_rows():
    """The upload's rows, or (None, error text, status)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, _("Choose the XLSX or CSV file to import."), 400
    data = upload.stream.read(MAX_BYTES + 1)
    try:
        return read_rows(data, upload.filename), None, None
    except TableError as error:
        return None, str(error), 422


def _departments():
    return db.session.scalars(select(Department).order_by(Department.code)).all()


# -- categories ----------------------------------------------------------------------------

def _categories_page(status=200, **extra):
    return render_template("admin/categories.html", categories=catalogue.catalogue(), columns=catalogue.COLUMNS,
                           **extra), status


@bp.get("/categories")
def categories():
    return _categories_page()


def _category_or_404(code):
    category = db.session.scalar(select(Category).where(Category.code == code))
    if category is None:
        abort(404)
    return category


def _category_form(category, status=200, error=None, values=None):
    return render_template("admin/category_edit.html", category=category, values=values or catalogue.facts(category),
                           departments=_departments(), units=RESOLVE_UNITS, error=error), status


@bp.get("/categories/<code>")
def category_form(code):
    return _category_form(_category_or_404(code))


@bp.post("/categories/<code>")
@command
def category_save(code):
    category = _category_or_404(code)
    form = {name: request.form.get(name, "") for name in catalogue.COLUMNS if name != "code"}
    for flag in catalogue.FLAGS:  # an unticked box is not sent
        form[flag] = "yes" if request.form.get(flag) else "no"
    try:
        wanted = catalogue.parse(form, catalogue.facts(category))
    except catalogue.CategoryError as error:
        column, message = error.args
        return _category_form(category, 422, f"{column}: {message}", {**catalogue.facts(category), **form})
    _category, action = catalogue.save(category, wanted, actor=current_user, ip=request.remote_addr)
    flash(_("%(code)s saved; it applies to new cases.", code=code) if action != "unchanged"
          else _("Nothing changed."), "info")
    return redirect(url_for("admin_routing.categories"), 303)


@bp.get("/categories.xlsx")
def categories_export():
    return _xlsx(catalogue.export_workbook(), "categories.xlsx")


@bp.post("/categories/import")
@command
def categories_import():
    rows, error, status = _uploaded_rows()
    if rows is None:
        return _categories_page(status, error=error)
    plan = catalogue.check_import(rows)
    if plan.problems or plan.invalid or request.form.get("check_only"):
        status = 422 if plan.problems or plan.invalid else 200
        return _categories_page(status, plan=plan, error=(plan.problems or [None])[0])
    catalogue.apply_import(plan, actor=current_user, ip=request.remote_addr)
    flash(_("Catalogue imported: %(summary)s.", summary=plan.summary()), "info")
    return redirect(url_for("admin_routing.categories"), 303)


# -- routing rules -------------------------------------------------------------------------

def _tester():
    """The "who would get this?" answer for the page's query, or (None, error)."""
    args = request.args
    if not args.get("category"):
        return None, None
    category = db.session.scalar(select(Category).where(Category.code == args["category"]))
    if category is None:
        return None, _("No category with code %(code)s.", code=args["category"][:16])
    if args.get("lat") or args.get("lng"):
        point = _point(args.get("lat"), args.get("lng"))
        if point is None:
            return None, _("A point is a latitude from -90 to 90 and a longitude from -180 to 180.")
        grid = grid_at(*point)
    elif args.get("grid"):
        grid = db.session.scalar(select(Grid).where(Grid.code == args["grid"]))
        if grid is None:
            return None, _("No grid with code %(code)s.", code=args["grid"][:32])
    elif {"grid", "lat", "lng"} & set(args):  # the tester's form, sent without a place
        return None, _("Give a point (latitude and longitude) or a grid.")
    else:  # a link naming the category only (from a category's page)
        return None, None
    return routing_admin.who_gets(category, grid), None


def _point(lat, lng):
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def _routing_page(status=200, **extra):
    answer, tester_error = _tester()
    grids = db.session.scalars(select(Grid).where(Grid.active.is_(True)).order_by(Grid.level, Grid.code)).all()
    return render_template(
        "admin/routing.html", rules=routing_admin.rules(), steps=[step for step, _words in STEPS],
        step_labels=STEP_LABELS, answer=answer, tester_error=tester_error,
        args=request.args, grids=grids, streets=sorted({g.street for g in grids if g.street}),
        categories=catalogue.catalogue(), departments=_departments(), columns=routing_admin.COLUMNS,
        describe=routing_admin.describe, **extra), status


@bp.get("/routing")
def routing():
    return _routing_page()


@bp.post("/routing")
@command
def routing_save():
    form = request.form
    try:
        wanted = routing_admin.resolve(*(form.get(name, "") for name in routing_admin.COLUMNS))
    except routing_admin.RuleError as error:
        column, message = error.args
        return _routing_page(422, error=f"{column}: {message}", form=form)
    rule, action = routing_admin.set_rule(wanted, actor=current_user, ip=request.remote_addr)
    flash(_("Rule saved (%(rule)s); it applies to new cases.", rule=routing_admin.describe(rule))
          if action != "unchanged" else _("Nothing changed."), "info")
    return redirect(url_for("admin_routing.routing"), 303)


@bp.post("/routing/delete")
@command
def routing_delete():
    rule_id = request.form.get("rule_id", "")
    rule = db.session.get(RoutingRule, int(rule_id)) if rule_id.isdigit() and len(rule_id) < 12 else None
    if rule is None:
        flash(_("That rule is gone already."), "error")
        return redirect(url_for("admin_routing.routing"), 303)
    words = routing_admin.describe(rule)
    routing_admin.delete_rule(rule, actor=current_user, ip=request.remote_addr)
    flash(_("Rule deleted (%(rule)s).", rule=words), "info")
    return redirect(url_for("admin_routing.routing"), 303)


@bp.get("/routing.xlsx")
def routing_export():
    return _xlsx(routing_admin.export_workbook(), "routing-rules.xlsx")


@bp.post("/routing/import")
@command
def routing_import():
    rows, error, status = _uploaded_rows()
    if rows is None:
        return _routing_page(status, error=error)
    plan = routing_admin.check_import(rows, replace=request.form.get("replace") == "1")
    if plan.problems or plan.invalid or request.form.get("check_only"):
        status = 422 if plan.problems or plan.invalid else 200
        return _routing_page(status, plan=plan, error=(plan.problems or [None])[0])
    routing_admin.apply_import(plan, actor=current_user, ip=request.remote_addr)
    flash(_("Routing rules imported: %(summary)s.", summary=plan.summary()), "info")
    return redirect(url_for("admin_routing.routing"), 303)
