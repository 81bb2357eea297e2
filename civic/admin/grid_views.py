"""The grids under /admin/grids: the list, an import with a preview on a map (new,
changed and retired grids, overlaps, gaps, grids outside their parent, repaired
outlines) before anything is applied, and a grid's own page (name, street, chief,
workers). Supervisors may read; changes are the administrators' (civic/routes.py).
The import is also `flask grids import` (civic/cli.py); both use grids/plan.py."""
import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from ..cases.models import Case, Status
from ..extensions import db
from ..grids import crs as systems
from ..grids import plan as grid_plan
from ..grids.geojson import PRECISION
from ..grids.models import Grid
from ..grids.sources import MAX_BYTES, SourceError, read
from ..transaction import command, rollback
from . import grids as grids_admin
from . import uploads

bp = Blueprint("admin_grids", __name__, url_prefix="/admin/grids")

PAGE_SIZE = 100
SIMPLIFY_DEG = 0.00002  # about 2 m: the preview map's outlines, not the stored ones


@bp.get("")
def index():
    args = request.args
    query = select(Grid)
    if args.get("q"):
        like = f"%{args['q'].strip()[:64]}%"
        query = query.where(or_(Grid.code.ilike(like), Grid.name.ilike(like), Grid.street.ilike(like)))
    if args.get("level") in ("1", "2"):
        query = query.where(Grid.level == int(args["level"]))
    if args.get("kind") in grid_plan.KINDS:
        query = query.where(Grid.kind == args["kind"])
    query = query.where(Grid.active.is_(args.get("active") != "no"))
    page = max(1, min(10_000, int(args["page"]) if args.get("page", "").isdigit() else 1))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Grid.code).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("admin/grids.html", grids=rows, total=total, page=page, pages=-(-total // PAGE_SIZE),
                           args=args, kinds=grid_plan.KINDS)


# -- import ----------------------------------------------------------------------------

def _options(form):
    crs = form.get("crs") or None
    level = form.get("level")
    buffer_m = form.get("buffer", "").strip()
    try:
        buffer_value = float(buffer_m) if buffer_m else None
    except ValueError:
        buffer_value = -1.0  # the plan names it as a bad width on every line that needs one
    return {"crs": crs if crs in systems.CHOICES else None, "default_level": int(level) if level in ("1", "2") else None,
            "buffer_m": buffer_value, "complete": form.get("complete") == "1"}


def _form(error=None, status=200, options=None):
    return render_template("admin/grid_import.html", plan=None, error=error, crs_names=systems.NAMES,
                           options=options or {}, max_mb=MAX_BYTES // (1024 * 1024)), status


@bp.get("/import")
def import_form():
    return _form()


@bp.post("/import")
def import_preview():
    """Upload: every feature checked and shown on a map; nothing is written until "Apply"."""
    upload = request.files.get("file")
    options = _options(request.form)
    if upload is None or not upload.filename:
        return _form(_("Choose the GeoJSON, zipped Shapefile or KML file to import."), 400, options)
    data = upload.stream.read(MAX_BYTES + 1)
    try:
        plan = grid_plan.check(read(data, upload.filename), **options)
    except SourceError as error:
        return _form(str(error), 422, options)
    token = uploads.keep(data, upload.filename, **options) if plan.can_apply else None
    return _preview(plan, upload.filename, token, options)


def _preview(plan, filename, token, options, error=None, status=200):
    return render_template("admin/grid_import.html", plan=plan, filename=filename, token=token, options=options,
                           crs_names=systems.NAMES, error=error, map_data=_map_data(plan),
                           tile_url=current_app.config.get("MAP_TILE_URL") or "",
                           tile_attribution=current_app.config.get("MAP_TILE_ATTRIBUTION") or "",
                           max_mb=MAX_BYTES // (1024 * 1024)), status


def _geometry(shape):
    simplified = shape.simplify(SIMPLIFY_DEG, preserve_topology=True)
    return json.loads(json.dumps(mapping(simplified)), parse_float=lambda v: round(float(v), PRECISION))


def _map_data(plan):
    """What the preview map draws: the file's grids by what happens to them, the
    grids it retires, and each finding's area (at most MAP_FEATURES grids)."""
    features = []
    retired = {c.code for c in plan.changes if c.action == "retire"}
    shown = [c for c in plan.changes if c.geometry is not None][:grid_plan.MAP_FEATURES]
    for change in shown:
        features.append({"type": "Feature", "geometry": _geometry(change.geometry),
                         "properties": {"code": change.code, "name": change.values.get("name"),
                                        "action": change.action}})
    if retired:
        for grid in db.session.scalars(select(Grid).where(Grid.code.in_(sorted(retired)[:grid_plan.MAP_FEATURES]))):
            features.append({"type": "Feature", "geometry": _geometry(to_shape(grid.polygon)),
                             "properties": {"code": grid.code, "name": grid.name, "action": "retire"}})
    for finding in plan.findings:
        if finding.geometry is not None and not finding.geometry.is_empty:
            features.append({"type": "Feature", "geometry": _geometry(finding.geometry),
                             "properties": {"code": " / ".join(finding.codes), "name": str(finding.message),
                                            "action": finding.kind}})
    return {"type": "FeatureCollection", "features": features,
            "truncated": len([c for c in plan.changes if c.geometry is not None]) > len(shown)}


@bp.post("/import/<token>")
@command
def import_apply(token):
    """Apply the previewed file, checked again (the county may have changed since)."""
    kept = uploads.load(token)
    if kept is None:  # applied already, or swept after a day
        flash(_("That upload has expired; choose the file again."), "error")
        return redirect(url_for("admin_grids.import_form"), 303)
    data, meta = kept
    filename = meta.pop("filename")
    try:
        plan = grid_plan.check(read(data, filename), **meta)
    except SourceError as error:  # cannot happen for a file that was previewed, unless the code changed between
        return _form(str(error), 422, meta)
    if not plan.can_apply:
        return _preview(plan, filename, None, meta,
                        error=_("The county changed since the preview: here is the file checked again."), status=409)
    try:
        counts = grid_plan.apply(plan, actor=current_user, ip=request.remote_addr, source_name=filename)
        db.session.flush()
    except IntegrityError:
        # The same file applied twice at once (a double click, two tabs): one wins, the
        # other keeps nothing and shows the file checked again.
        rollback()
        plan = grid_plan.check(read(data, filename), **meta)
        return _preview(plan, filename, None, meta, status=409,
                        error=_("The county changed while this file was applied (another import at the same "
                                "time?); nothing of it was kept. Here it is checked again."))
    uploads.discard(token)
    flash(_("Grids imported: %(create)d new, %(update)d changed, %(unchanged)d unchanged, %(retire)d retired.",
            **counts), "info")
    return redirect(url_for("admin_grids.index"), 303)


# -- one grid --------------------------------------------------------------------------

def _grid_or_404(code):
    return db.session.scalar(select(Grid).where(Grid.code == code)) or abort(404)


@bp.get("/<code>")
def edit(code):
    grid = _grid_or_404(code)
    return _edit_page(grid)


def _edit_page(grid, errors=None, values=None, status=200):
    shape = to_shape(grid.polygon)
    cases_open = _open_cases(grid)
    return render_template("admin/grid.html", grid=grid, errors=errors or {}, values=values or grids_admin.snapshot(grid),
                           outline={"type": "Feature", "geometry": _geometry(shape), "properties": {"code": grid.code}},
                           area_m2=grid_plan.area_m2(shape), cases_open=cases_open,
                           tile_url=current_app.config.get("MAP_TILE_URL") or "",
                           tile_attribution=current_app.config.get("MAP_TILE_ATTRIBUTION") or ""), status


def _open_cases(grid):
    closed = (Status.CLOSED.value, Status.REJECTED.value)
    return db.session.scalar(select(func.count()).select_from(Case).where(Case.grid_id == grid.id,
                                                                         Case.status.not_in(closed)))


@bp.post("/<code>")
@command
def update(code):
    grid = _grid_or_404(code)
    form = request.form
    edit = grids_admin.GridEdit(name=form.get("name", "").strip(), street=form.get("street", "").strip() or None,
                                chief=form.get("chief", "").strip() or None,
                                workers=grids_admin.split_usernames(form.get("workers")))
    errors, changed = grids_admin.update(grid, edit, actor=current_user, ip=request.remote_addr)
    if errors:
        return _edit_page(grid, errors, vars(edit), 422)
    if changed:
        flash(_("%(code)s is saved.", code=grid.code), "info")
    return redirect(url_for("admin_grids.edit", code=grid.code), 303)
