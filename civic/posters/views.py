"""QR posters (二维码海报): admins and supervisors make, print, replace and
retire them at /posters/; residents scan one at /q/<code> and land on the field
app's report screen with the place filled in; the app reads the place from
GET /api/v1/posters/<code> (public: a poster on a wall is public anyway).

An inactive (replaced) code still opens the report page: old printouts stay on
walls for months, and a report from one is still a report.
"""
from flask import (Blueprint, abort, current_app, flash, jsonify, make_response, redirect, render_template, request,
                   url_for)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..errors import ApiError, http_error
from ..extensions import db
from ..grids.models import Grid
from . import services as posters
from .models import KINDS, Poster
from ..urls import base_url_problem
from ..transaction import command

bp = Blueprint("posters", __name__)


@bp.app_template_global()
def poster_address_warning():
    """A warning for the posters' pages when the codes would not open on a phone."""
    problem = base_url_problem(request.host)
    if problem is None:
        return None
    kind, base = problem
    if kind == "loopback":
        return _("The QR codes point to %(url)s, an address only this computer can open: phones cannot. "
                 "Set PUBLIC_BASE_URL to the address residents reach this site at before printing.", url=base)
    return _("The QR codes point to %(url)s, but this page is served from %(host)s. Check PUBLIC_BASE_URL "
             "before printing.", url=base, host=request.host)


@bp.app_template_global()
def poster_kind_label(kind):
    return str(posters.KIND_LABELS.get(kind, kind))


def _poster_or_404(code):
    poster = posters.find(code)
    if poster is None:
        abort(404)
    return poster


def _grids():
    return db.session.scalars(select(Grid).where(Grid.active.is_(True)).order_by(Grid.code)).all()  # a level-1 grid, then its own level-2 grids


# -- the managers' pages ---------------------------------------------------------

@bp.get("/posters/")
def index():
    grid_code = request.args.get("grid") or None
    show_all = request.args.get("all") == "1"
    grid = db.session.scalar(select(Grid).where(Grid.code == grid_code)) if grid_code else None
    if grid_code and grid is None:
        abort(404)
    query = select(Poster).outerjoin(Poster.grid).order_by(Grid.code.is_(None), Grid.code, Poster.kind != "grid",
                                                           Poster.name, Poster.id)
    if grid is not None:  # a level-1 grid: its level-2 grids' posters too
        query = query.where(Poster.grid_id.in_([grid.id] + [child.id for child in grid.children]))
    if not show_all:
        query = query.where(Poster.active.is_(True))
    rows = db.session.scalars(query).all()
    return render_template("posters/index.html", posters=rows, grids=_grids(), grid=grid, show_all=show_all,
                           scan_url=posters.scan_url)


def _render_form(values, errors=None, status=200):
    kinds = [(kind, posters.KIND_LABELS[kind]) for kind in KINDS]
    return render_template("posters/form.html", values=values, errors=errors or {}, grids=_grids(), kinds=kinds,
                           name_max=posters.NAME_MAX, address_max=posters.ADDRESS_MAX), status


@bp.get("/posters/new")
def new():
    values = dict.fromkeys(posters.FIELDS, "")
    values.update(kind=request.args.get("kind") or "grid", grid=request.args.get("grid") or "")
    return _render_form(values)


@bp.post("/posters/new")
@command
def create():
    values = {field: request.form.get(field, "") for field in posters.FIELDS}
    errors, checked = posters.check_form(values)
    if errors:
        return _render_form(values, errors, 422)
    poster = posters.create_poster(checked, current_user)
    if poster.grid is None:
        flash(_("Poster %(code)s made for %(name)s. This place lies outside every grid: its reports wait for the "
                "dispatcher.", code=poster.code, name=poster.name), "warning")
    else:
        flash(_("Poster %(code)s made for %(name)s in %(grid)s.", code=poster.code, name=poster.name,
                grid=poster.grid.name), "info")
    return _to_its_grid(poster)


def _to_its_grid(poster):
    """Back to the list of posters, at the poster's grid."""
    return redirect(url_for("posters.index", grid=poster.grid.code if poster.grid else None), 303)


@bp.post("/posters/<code>/deactivate")
@command
def deactivate(code):
    poster = _poster_or_404(code)
    posters.deactivate(poster)
    flash(_("Poster %(code)s is retired. Scanning it still opens the report page.", code=poster.code), "info")
    return _to_its_grid(poster)


@bp.post("/posters/<code>/replace")
@command
def replace(code):
    old = _poster_or_404(code)
    new_poster = posters.replace_poster(old, current_user)
    flash(_("New code %(new)s for %(name)s; %(old)s is retired. Print the new poster and put it up.",
            new=new_poster.code, name=new_poster.name, old=old.code), "info")
    return redirect(url_for("posters.print_one", code=new_poster.code), 303)


def _print(items, back):
    """A4 pages in Chinese (the residents' language) unless ?lang=en asks otherwise."""
    lang = request.args.get("lang")
    locale = lang if lang in current_app.config["LANGUAGES"] else "zh"
    sheets = [{"poster": p, "svg": posters.qr_svg(posters.scan_url(p)), "short_url": posters.short_url(p)}
              for p in items]
    with force_locale(locale):
        html = render_template("posters/print.html", sheets=sheets, back=back, locale=locale)
    response = make_response(html)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/posters/<code>/print")
def print_one(code):
    poster = _poster_or_404(code)
    return _print([poster], url_for("posters.index", grid=poster.grid.code if poster.grid else None))


@bp.get("/posters/print")
def print_grid():
    """Every active poster of a grid (and of its level-2 grids when it is a level-1 grid), one per page."""
    grid = db.session.scalar(select(Grid).where(Grid.code == (request.args.get("grid") or "")))
    if grid is None:
        abort(404)
    grid_ids = [grid.id] + [child.id for child in grid.children]
    items = db.session.scalars(
        select(Poster).outerjoin(Poster.grid)
        .where(Poster.grid_id.in_(grid_ids), Poster.active.is_(True))
        .order_by(Grid.code, Poster.kind != "grid", Poster.name, Poster.id)).all()
    if not items:
        flash(_("%(grid)s has no active posters to print.", grid=grid.name), "info")
        return redirect(url_for("posters.index", grid=grid.code), 303)
    return _print(items, url_for("posters.index", grid=grid.code))


# -- scanning ----------------------------------------------------------------------

@bp.errorhandler(404)
def _not_found(error):
    """A scanned code nobody can read (also one refused before the view, such as a
    NUL in it) gets the poster's own page; other 404s here are the site's."""
    if request.endpoint == "posters.scan":
        return render_template("posters/unknown.html"), 404
    return http_error(error)


@bp.get("/q/<code>")
def scan(code):
    """The URL in the QR code: straight to the report screen with the poster.
    Active or not: a replaced poster's printouts still work."""
    poster = posters.find(code)
    if poster is None:
        return render_template("posters/unknown.html"), 404
    response = redirect(f"{url_for('field.shell')}#/capture?poster={poster.code}", 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/posters/<code>")
def api_poster(code):
    poster = posters.find(code)
    if poster is None:
        raise ApiError(404, "not_found", "No poster has this code.", "code")
    response = jsonify(posters.to_dict(poster))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
