"""Point → level-2 grid, in memory.

An STRtree over the level-2 grid polygons answers a lookup in microseconds
without touching the database. The tree is rebuilt when this process commits a
change to a grid, and at most every GRID_INDEX_CHECK_SECONDS a cheap query
(count and newest update) tells whether another process changed the grids.
"""
import threading
import time
from dataclasses import dataclass, field

import shapely
import shapely.ops
from geoalchemy2.shape import to_shape
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import make_transient_to_detached

from ..extensions import db
from .crs import metres_between
from .models import Grid


@dataclass(frozen=True)
class GridHit:
    id: int
    code: str
    name: str
    parent_id: int | None
    # The grid's row as the index read it, outside any session (its outline left
    # unloaded): `grid_at` merges it into a request's session without a query.
    row: Grid = field(compare=False, repr=False)


class GridIndex:
    def __init__(self, check_seconds=30):
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._tree = None
        self._hits = []
        self._geometries = []
        self._county = []  # the level-1 grids' outlines: where the county is
        self._stamp = None
        self._checked_at = 0.0

    # -- building -----------------------------------------------------------
    @staticmethod
    def _current_stamp():
        row = db.session.execute(
            select(func.count(Grid.id), func.max(Grid.updated_at)).where(Grid.level.in_((1, 2)), Grid.active.is_(True))
        ).one()
        return tuple(row)

    def rebuild(self):
        rows = db.session.execute(
            select(Grid.id, Grid.code, Grid.name, Grid.parent_id, Grid.street, Grid.kind, Grid.polygon)
            .where(Grid.level == 2, Grid.active.is_(True))  # a retired grid takes no new cases
            .order_by(Grid.code)  # on a shared border the lowest code wins, always the same one
        ).all()
        geometries = [to_shape(row.polygon) for row in rows]
        county = [to_shape(polygon) for polygon in db.session.scalars(
            select(Grid.polygon).where(Grid.level == 1, Grid.active.is_(True)))] or geometries
        with self._lock:
            self._county = county
            self._hits = [GridHit(r.id, r.code, r.name, r.parent_id, _detached_row(r)) for r in rows]
            self._geometries = geometries
            self._tree = shapely.STRtree(geometries) if geometries else None
            self._stamp = self._current_stamp()
            self._checked_at = time.monotonic()

    def invalidate(self):
        with self._lock:
            self._stamp = None

    def _ensure_current(self):
        if self._stamp is None:
            self.rebuild()
            return
        now = time.monotonic()
        if now - self._checked_at <= self.check_seconds:
            return
        self._checked_at = now
        if self._current_stamp() != self._stamp:
            self.rebuild()

    # -- lookup -------------------------------------------------------------
    def locate(self, lat, lng):
        """The level-2 grid containing the point (border included), or None."""
        self._ensure_current()
        tree = self._tree
        if tree is None:
            return None
        found = tree.query(shapely.Point(lng, lat), predicate="intersects").tolist()
        if not found:
            return None
        return self._hits[found[0] if len(found) == 1 else min(found)]

    def grid_at(self, lat, lng, session):
        """The level-2 grid containing the point as a Grid of `session`, or None.
        No query: the index's copy of the row is merged in as it stands (load=False),
        as fresh as the lookup itself; its outline loads if something reads it."""
        hit = self.locate(lat, lng)
        return None if hit is None else session.merge(hit.row, load=False)

    def nearby(self, box):
        """(GridHit, polygon) pairs for the grids meeting a shapely box."""
        self._ensure_current()
        tree, hits, geometries = self._tree, self._hits, self._geometries
        if tree is None:
            return []
        return [(hits[i], geometries[i]) for i in sorted(tree.query(box, predicate="intersects"))]

    def county_bounds(self):
        """[west, south, east, north] of the county's level-1 grids, or None with no grids."""
        self._ensure_current()
        if not self._county:
            return None
        return [round(float(v), 6) for v in shapely.total_bounds(self._county)]

    def metres_outside(self, lat, lng):
        """How far the point lies outside the county: 0 inside a level-1 grid (or, with
        none, a level-2 one), else the distance to the nearest one's edge; None with no grids."""
        self._ensure_current()
        county = self._county
        if not county:
            return None
        point = shapely.Point(lng, lat)
        degrees = shapely.distance(county, point)
        if min(degrees) == 0:
            return 0.0
        # The nearest in degrees are the nearest in metres give or take the latitude's
        # squeeze: measure the closest few on the ground.
        closest = sorted(range(len(county)), key=lambda i: degrees[i])[:3]
        metres = []
        for i in closest:
            _, near = shapely.ops.nearest_points(point, county[i])
            metres.append(metres_between(lat, lng, near.y, near.x))
        return min(metres)

    def __len__(self):
        return len(self._hits)


def _detached_row(row):
    grid = Grid(id=row.id, code=row.code, name=row.name, level=2, parent_id=row.parent_id, street=row.street,
                kind=row.kind, active=True)
    make_transient_to_detached(grid)  # a persistent row's copy in no session; what was not set stays unloaded
    return grid


def locate_in_database(lat, lng, use_index=True):
    """The same lookup done by the database (the benchmark's baseline, and a
    cross-check in tests). SpatiaLite uses its R*Tree only when asked to
    explicitly; PostGIS always uses its GiST index."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite" and not use_index:
        sql = text(
            "SELECT id FROM grids WHERE level = 2 AND active AND ST_Intersects(polygon, MakePoint(:lng, :lat, 4326)) = 1 "
            "ORDER BY code LIMIT 1"
        )
    elif dialect == "sqlite":
        sql = text(
            "SELECT id FROM grids WHERE level = 2 AND active AND ST_Intersects(polygon, MakePoint(:lng, :lat, 4326)) = 1 "
            "AND ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'grids' "
            "AND f_geometry_column = 'polygon' AND search_frame = MakePoint(:lng, :lat, 4326)) "
            "ORDER BY code LIMIT 1"
        )
    else:
        sql = text(
            "SELECT id FROM grids WHERE level = 2 AND active AND ST_Intersects(polygon, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)) "
            "ORDER BY code LIMIT 1"
        )
    return db.session.execute(sql, {"lat": lat, "lng": lng}).scalar()


def get_index(app):
    return app.extensions["grid_index"]


def install(app):
    """Create the app's index and drop it whenever a grid change is committed."""
    index = GridIndex(app.config["GRID_INDEX_CHECK_SECONDS"])
    app.extensions["grid_index"] = index

    @event.listens_for(db.session, "after_flush")
    def _note_grid_changes(session, _ctx):
        if any(isinstance(obj, Grid) for obj in (*session.new, *session.dirty, *session.deleted)):
            session.info["grids_changed"] = True

    @event.listens_for(db.session, "after_commit")
    def _drop_stale_index(session):
        if session.info.pop("grids_changed", False):
            index.invalidate()

    return index
