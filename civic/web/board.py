"""The public progress board (公开办理进度): every screened case with its
status, timeline, public replies and before/after thumbnails, for anyone,
with no personal data — no names, no phone numbers, no exact point, no address."""
from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import func, select

from ..cases.access import public_clause
from ..cases.models import Case, CaseEvent
from ..cases.privacy import public_note, scrub
from ..extensions import db
from ..grids.mapview import case_map, grid_box, overview_map
from ..grids.models import Category, Grid
from ..grids.catalogue import active_categories

bp = Blueprint("board", __name__, url_prefix="/board")

PER_PAGE = 30


def _filters():
    grid = category = None
    if request.args.get("grid"):
        grid = db.session.scalar(select(Grid).where(Grid.code == request.args["grid"]))
        if grid is None:
            abort(404)
    if request.args.get("category"):
        category = db.session.scalar(select(Category).where(Category.code == request.args["category"]))
        if category is None:
            abort(404)
    return grid, category


def _query(grid, category):
    query = select(Case).where(public_clause())
    if grid is not None:
        ids = [grid.id] + ([child.id for child in db.session.scalars(select(Grid).where(Grid.parent_id == grid.id))]
                           if grid.level == 1 else [])
        query = query.where(Case.grid_id.in_(ids))
    if category is not None:
        query = query.where(Case.category_id == category.id)
    return query



@bp.get("/")
def index():
    grid, category = _filters()
    page = request.args.get("page", "1")
    # ASCII digits only ("²".isdigit() is true, int("²") is not), and no page past the last:
    # a huge number would overflow the database's OFFSET.
    if not (page.isascii() and page.isdigit()) or len(page) > 9 or int(page) < 1:
        abort(404)
    page = int(page)
    query = _query(grid, category)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    if page > max(1, -(-total // PER_PAGE)):
        abort(404)
    cases = db.session.scalars(query.order_by(Case.received_at.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    box = grid_box(grid)
    points = [(round(c.lat, 3), round(c.lng, 3), c.status, c.ref) for c in cases if c.lat is not None]
    return render_template(
        "board/index.html", cases=cases, total=total, page=page, pages=max(1, -(-total // PER_PAGE)),
        grid=grid, category=category, overview=overview_map(points, box) if box else None,
        grids=db.session.scalars(select(Grid).order_by(Grid.level, Grid.code)).all(),
        categories=active_categories(),
        page_url=lambda n: url_for("board.index", page=n, grid=grid.code if grid else None,
                                   category=category.code if category else None),
    )


@bp.get("/<ref>")
def case(ref):
    found = db.session.scalar(select(Case).where(Case.ref == ref, public_clause()))
    if found is None:
        abort(404)
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == found.id).order_by(CaseEvent.id)).all()
    timeline = [{"at": e.created_at, "action": e.action,
                 "note": public_note(e)} for e in events]
    return render_template("board/case.html", case=found, timeline=timeline, description=scrub(found.description),
                           map_svg=case_map(found, approximate=True))
