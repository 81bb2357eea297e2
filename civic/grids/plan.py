"""Checking a grid file against the county before anything is applied, and
applying it in one unit of work.

check(source, …) turns a read file (grids/sources.py) into a GridPlan: every
feature converted to WGS-84 and checked (a code, one feature per code, a level,
a parent that exists, an area inside China; lines become polygons with their
buffer width; invalid polygons are repaired with make_valid and said so), each
compared with the grid of that code (new, changed, unchanged; with `complete`,
grids missing from the file are retired), and the county as it would be after
the import checked for level-2 grids outside their parent, overlaps between
siblings and gaps in their parent, each with its area. A property the file does
not give keeps the grid's current value, so a file with one grid's code and
outline redraws just that grid.

apply(plan, …) writes it: grids created, changed, retired (never deleted: their
cases keep them), every change in the audit log. It refuses a plan with errors.
"""
import math
from dataclasses import dataclass, field

import shapely
from flask_babel import lazy_gettext as _l
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from shapely.validation import explain_validity, make_valid
from sqlalchemy import select

from ..admin import audit
from ..extensions import db
from ..timeutil import utcnow
from . import crs as systems
from .models import Grid

KINDS = ("grid", "road", "scenic")
LINE_KIND = "road"
MAX_BUFFER_M = 500
AREA_TOLERANCE_M2 = 1.0     # overlaps and gaps smaller than this are digitising noise on a shared border
MAP_FEATURES = 2000         # the preview's map shows at most this many grids (the table shows them all)
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LNG = 111_320.0


class PlanRefused(ValueError):
    """apply() was given a plan with errors: nothing was written."""


@dataclass
class Finding:
    kind: str                # overlap | gap | outside_parent | repaired
    codes: tuple             # the grids it concerns
    message: str
    area_m2: float | None = None
    geometry: object = None  # WGS-84, for the map


@dataclass
class GridChange:
    number: int | None       # the feature's number in the file (None: a grid the file retires)
    code: str | None
    action: str = "invalid"  # create | update | unchanged | retire | invalid
    errors: list = field(default_factory=list)
    values: dict = field(default_factory=dict)   # name, level, parent, street, kind
    geometry: object = None                      # MultiPolygon, WGS-84
    changes: dict = field(default_factory=dict)  # field → (before, after)
    notes: list = field(default_factory=list)    # repaired, buffered
    repaired: object = None                      # why the outline was repaired, if it was


@dataclass
class GridPlan:
    format: str
    crs: str | None
    crs_note: str | None
    complete: bool
    problems: list = field(default_factory=list)  # the file as a whole (no coordinate system, …)
    changes: list = field(default_factory=list)
    findings: list = field(default_factory=list)

    def count(self, action):
        return sum(1 for change in self.changes if change.action == action)

    @property
    def invalid(self):
        return [change for change in self.changes if change.action == "invalid"]

    @property
    def can_apply(self):
        return not self.problems and not self.invalid and any(
            c.action in ("create", "update", "retire") for c in self.changes)

    def summary(self):
        return (f"{self.count('create')} new, {self.count('update')} changed, {self.count('unchanged')} unchanged, "
                f"{self.count('retire')} retired, {len(self.invalid)} invalid")


# -- measuring on the ground ---------------------------------------------------------

def _local(geometry, origin):
    """The geometry in metres on a plane touching the Earth at `origin` (lng, lat):
    within a county (tens of km) lengths and areas are right to a fraction of a percent."""
    lng0, lat0 = origin
    scale_x = _M_PER_DEG_LNG * math.cos(math.radians(lat0))
    return shapely.transform(geometry, lambda c: (c - (lng0, lat0)) * (scale_x, _M_PER_DEG_LAT))


def _from_local(geometry, origin):
    lng0, lat0 = origin
    scale_x = _M_PER_DEG_LNG * math.cos(math.radians(lat0))
    return shapely.transform(geometry, lambda c: c / (scale_x, _M_PER_DEG_LAT) + (lng0, lat0))


def area_m2(geometry):
    if geometry is None or geometry.is_empty:
        return 0.0
    centre = geometry.centroid
    return _local(geometry, (centre.x, centre.y)).area


def _buffered(line, width_m):
    """A road segment: the line widened to `width_m` (half each side), flat at its ends."""
    centre = line.centroid
    origin = (centre.x, centre.y)
    return _from_local(_local(line, origin).buffer(width_m / 2, cap_style="flat", join_style="mitre"), origin)


def _polygonal(geometry):
    """The polygons of `geometry` as one MultiPolygon, or None if it has none."""
    if geometry.geom_type == "Polygon":
        return MultiPolygon([geometry])
    if geometry.geom_type == "MultiPolygon":
        return geometry
    if geometry.geom_type == "GeometryCollection":
        polygons = [p for g in geometry.geoms if g.geom_type in ("Polygon", "MultiPolygon")
                    for p in getattr(g, "geoms", [g])]
        return MultiPolygon(polygons) if polygons else None
    return None


# -- reading one feature ---------------------------------------------------------------

def _level(raw, errors):
    if raw in (None, ""):
        return None
    try:
        level = int(str(raw).strip())
    except ValueError:
        level = None
    if level not in (1, 2):
        errors.append(_l("level must be 1 or 2, not %(value)s", value=repr(raw)))
        return None
    return level


def _buffer_width(raw, default, errors):
    value = raw if raw not in (None, "") else default
    if value in (None, ""):
        return None
    try:
        width = float(str(value).strip().removesuffix("m"))
    except ValueError:
        errors.append(_l("buffer width must be metres, not %(value)s", value=repr(value)))
        return None
    if not 0 < width <= MAX_BUFFER_M:
        errors.append(_l("buffer width must be between 0 and %(most)d m, not %(width)s", most=MAX_BUFFER_M,
                         width=f"{width:g}"))
        return None
    return width


def _area_of(feature, crs, buffer_default, change):
    """The feature's area in WGS-84, or None with the reason in `change.errors`."""
    if feature.geometry is None:
        change.errors.append(feature.error or _l("no geometry"))
        return None
    geometry = systems.to_wgs84(feature.geometry, crs)
    west, south, east, north = geometry.bounds
    if not (systems.in_china(west, south) and systems.in_china(east, north)):
        change.errors.append(_l(
            "coordinates (%(box)s) are outside China: probably another coordinate system than WGS-84 longitude and "
            "latitude (metres of a projection, or the two swapped)", box=f"{west:.4f}, {south:.4f} … {east:.4f}, {north:.4f}"))
        return None
    if geometry.geom_type in ("LineString", "MultiLineString"):
        width = _buffer_width(feature.properties.get("buffer"), buffer_default, change.errors)
        if width is None:
            if not change.errors:
                change.errors.append(_l("a line (a road segment) needs a buffer width in metres"))
            return None
        change.notes.append(_l("line widened to %(width)s m", width=f"{width:g}"))
        geometry = _buffered(geometry, width)
    elif not geometry.is_valid:
        reason = explain_validity(geometry)
        geometry = make_valid(geometry)
        change.repaired = _l("invalid outline repaired (%(reason)s)", reason=reason)
        change.notes.append(change.repaired)
    polygons = _polygonal(geometry)
    if polygons is None or polygons.is_empty:
        change.errors.append(_l("a %(shape)s, not an area", shape=feature.geometry.geom_type))
        return None
    return polygons


def _read_feature(feature, crs, default_level, buffer_default, existing):
    props = feature.properties
    code = str(props.get("code") or "").strip()[:32] or None
    change = GridChange(number=feature.number, code=code)
    if code is None:
        change.errors.append(_l("no code (a 'code' or '编码' property)"))
    current = existing.get(code)
    level = _level(props.get("level"), change.errors)
    kind = str(props.get("kind") or "").strip().lower() or None
    if kind is not None and kind not in KINDS:
        change.errors.append(_l("kind must be one of %(kinds)s, not %(value)s", kinds=", ".join(KINDS), value=repr(kind)))
    change.geometry = _area_of(feature, crs, buffer_default, change)
    is_line = feature.geometry is not None and feature.geometry.geom_type in ("LineString", "MultiLineString")
    parent = str(props["parent"]).strip() if props.get("parent") not in (None, "") else None
    change.values = {
        "name": str(props.get("name") or "").strip()[:100] or (current.name if current else code),
        "level": level or (current.level if current else default_level or (2 if parent else 1)),
        "parent": parent if parent is not None else (current.parent.code if current and current.parent else None),
        "street": str(props.get("street") or "").strip()[:100] or (current.street if current else None),
        "kind": kind or (LINE_KIND if is_line else current.kind if current else "grid"),
    }
    return change


# -- the plan --------------------------------------------------------------------------

def _choose_crs(source, chosen):
    """(crs, note, problem): the user's choice wins (a GCJ-02 file often says WGS-84:
    AMap's drawings have no EPSG code of their own)."""
    said = source.crs
    if chosen:
        note = None
        if said not in (None, chosen) and not {said, chosen} <= {systems.WGS84, systems.CGCS2000}:
            note = _l("the file says %(said)s; read as %(chosen)s as chosen", said=source.crs_text or said,
                      chosen=systems.NAMES[chosen])
        return chosen, note, None
    if said in (systems.WGS84, systems.CGCS2000):
        return said, None, None
    if said == "projected":
        return None, None, _l("The Shapefile's coordinates are projected (metres, e.g. Gauss-Krüger), not longitude "
                              "and latitude. Export it in EPSG:4490 or 4326 from the GIS.")
    if said == "other":
        return None, None, _l("The file's coordinate system (%(name)s) is not one this import converts; choose "
                              "WGS-84, CGCS2000, GCJ-02 or BD-09 if it is one of them.", name=(source.crs_text or "")[:120])
    if source.format == "shapefile":
        return None, None, _l("The Shapefile has no .prj, so its coordinate system is unknown: choose it (--crs "
                              "wgs84, cgcs2000, gcj02 or bd09).")
    return systems.WGS84, None, None  # GeoJSON and KML are WGS-84 by their standards


def check(source, *, crs=None, default_level=None, buffer_m=None, complete=False):
    chosen, note, problem = _choose_crs(source, crs)
    plan = GridPlan(source.format, chosen, note, complete)
    if problem:
        plan.problems.append(problem)
        return plan
    grids = db.session.scalars(select(Grid)).all()
    existing = {grid.code: grid for grid in grids}
    plan.changes = [_read_feature(f, chosen, default_level, buffer_m, existing) for f in source.features]
    _check_duplicates(plan.changes)
    in_file = {change.code for change in plan.changes if change.code}
    _check_parents(plan.changes, existing, in_file, complete)
    _inherit_streets(plan.changes, existing)
    for change in plan.changes:
        if change.errors:
            change.action = "invalid"
        else:
            _compare(change, existing.get(change.code))
    if complete:
        plan.changes += [GridChange(None, grid.code, "retire", values={"name": grid.name, "level": grid.level})
                         for grid in grids if grid.active and grid.code not in in_file]
    if not plan.invalid:
        _check_shapes(plan, grids)
    for change in plan.changes:
        if change.repaired:
            plan.findings.append(Finding("repaired", (change.code,), change.repaired))
    return plan


def _check_duplicates(changes):
    numbers = {}
    for change in changes:
        if change.code:
            numbers.setdefault(change.code, []).append(change.number)
    for change in changes:
        others = [n for n in numbers.get(change.code, []) if n != change.number]
        if others:
            change.errors.append(_l("code %(code)s is also feature %(others)s", code=change.code,
                                    others=", ".join(map(str, others))))


def _check_parents(changes, existing, in_file, complete):
    levels = {code: grid.level for code, grid in existing.items() if grid.active and not (complete and code not in in_file)}
    levels.update({c.code: c.values["level"] for c in changes if c.code})
    for change in changes:
        parent, level = change.values.get("parent"), change.values.get("level")
        if level == 2 and not parent:
            change.errors.append(_l("a level-2 grid needs its level-1 parent ('parent')"))
        elif level == 1 and parent:
            change.errors.append(_l("a level-1 grid has no parent grid (use 'street' for its 街道/乡镇)"))
        elif parent and parent not in levels:
            change.errors.append(_l("parent %(parent)s is neither in the file nor an active grid", parent=parent))
        elif parent and levels[parent] != 1:
            change.errors.append(_l("parent %(parent)s is not a level-1 grid", parent=parent))


def _inherit_streets(changes, existing):
    """A level-2 grid without a street is in its parent's (street rules route by it)."""
    streets = {code: grid.street for code, grid in existing.items()}
    streets.update({c.code: c.values["street"] for c in changes if c.code and c.values.get("level") == 1})
    for change in changes:
        values = change.values
        if values.get("level") == 2 and not values.get("street") and values.get("parent"):
            values["street"] = streets.get(values["parent"])


def _same_outline(a, b):
    return a.equals_exact(b, 1e-7) or (a.symmetric_difference(b).area < 1e-12 and a.area > 0)


def _compare(change, grid):
    if grid is None:
        change.action = "create"
        return
    values = change.values
    before = {"name": grid.name, "level": grid.level, "parent": grid.parent.code if grid.parent else None,
              "street": grid.street, "kind": grid.kind, "active": grid.active}
    after = {**values, "active": True}
    change.changes = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    if not _same_outline(to_shape(grid.polygon), change.geometry):
        change.changes["outline"] = (f"{area_m2(to_shape(grid.polygon)):,.0f} m²", f"{area_m2(change.geometry):,.0f} m²")
    change.action = "update" if change.changes else "unchanged"


def _check_shapes(plan, grids):
    """Level-2 grids outside their parent, overlaps between siblings and gaps in a
    parent, in the county as it would be, for the grids this file touches."""
    touched = {c.code for c in plan.changes if c.action in ("create", "update", "unchanged")}
    retired = {c.code for c in plan.changes if c.action == "retire"}
    county = {grid.code: (to_shape(grid.polygon), grid.level, grid.parent.code if grid.parent else None)
              for grid in grids if grid.active and grid.code not in retired and grid.code not in touched}
    county.update({c.code: (c.geometry, c.values["level"], c.values["parent"]) for c in plan.changes
                   if c.code in touched and c.action != "invalid"})
    children = {}
    for code, (shape, level, parent) in county.items():
        if level == 2 and parent in county:
            children.setdefault(parent, []).append(code)
    for parent, codes in sorted(children.items()):
        parent_shape = county[parent][0]
        if parent in touched or any(code in touched for code in codes):
            _gap(plan, parent, parent_shape, [county[code][0] for code in codes])
        for code in codes:
            if code in touched or parent in touched:
                outside = county[code][0].difference(parent_shape)
                area = area_m2(outside)
                if area > AREA_TOLERANCE_M2:
                    plan.findings.append(Finding("outside_parent", (code, parent),
                                                 _l("%(code)s reaches %(area)s m² outside its parent %(parent)s",
                                                    code=code, area=f"{area:,.0f}", parent=parent),
                                                 area, outside))
        _overlaps(plan, [(code, county[code][0]) for code in codes], touched)
    level_ones = [(code, shape) for code, (shape, level, _parent) in county.items() if level == 1]
    _overlaps(plan, level_ones, touched)


def _gap(plan, parent, parent_shape, child_shapes):
    gap = parent_shape.difference(shapely.union_all(child_shapes))
    area = area_m2(gap)
    if area > AREA_TOLERANCE_M2:
        plan.findings.append(Finding("gap", (parent,), _l("%(area)s m² of %(parent)s is in none of its level-2 grids",
                                                          area=f"{area:,.0f}", parent=parent),
                                     area, gap))


def _overlaps(plan, siblings, touched):
    if len(siblings) < 2:
        return
    tree = shapely.STRtree([shape for _code, shape in siblings])
    left, right = tree.query([shape for _code, shape in siblings], predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist()):
        if i >= j:
            continue
        (code_a, a), (code_b, b) = sorted((siblings[i], siblings[j]), key=lambda pair: pair[0])
        if code_a not in touched and code_b not in touched:
            continue
        overlap = a.intersection(b)
        area = area_m2(_polygonal(overlap) if overlap.geom_type != "Polygon" else overlap) \
            if not overlap.is_empty else 0.0
        if area > AREA_TOLERANCE_M2:
            plan.findings.append(Finding("overlap", (code_a, code_b), _l("%(a)s and %(b)s overlap by %(area)s m²", a=code_a,
                                                                           b=code_b, area=f"{area:,.0f}"),
                                         area, overlap))


# -- applying --------------------------------------------------------------------------

def _snapshot(grid):
    shape = to_shape(grid.polygon) if grid.polygon is not None else None
    return {"name": grid.name, "level": grid.level, "parent": grid.parent.code if grid.parent else None,
            "street": grid.street, "kind": grid.kind, "active": grid.active,
            "area_m2": round(area_m2(shape)) if shape is not None else None}


def apply(plan, *, actor=None, ip=None, source_name=None, now=None):
    """Write the plan (flushes, does not commit). Returns {action: count}."""
    if plan.problems or plan.invalid:
        raise PlanRefused("the file has errors: nothing was applied")
    now = now or utcnow()
    grids = {grid.code: grid for grid in db.session.scalars(select(Grid))}
    before = {}
    for change in plan.changes:
        if change.action == "create":
            grid = Grid(code=change.code, active=True)
            db.session.add(grid)
            grids[change.code] = grid
        elif change.action in ("update", "retire"):
            before[change.code] = _snapshot(grids[change.code])
    for change in plan.changes:
        grid = grids[change.code]
        if change.action in ("create", "update"):
            values = change.values
            grid.name, grid.level, grid.street, grid.kind = values["name"], values["level"], values["street"], \
                values["kind"]
            grid.parent = grids[values["parent"]] if values["parent"] else None
            grid.active, grid.retired_at = True, None
            if change.action == "create" or "outline" in change.changes:
                grid.polygon = from_shape(change.geometry, srid=4326)
        elif change.action == "retire":
            grid.active, grid.retired_at = False, now
    db.session.flush()
    for change in plan.changes:
        if change.action in ("create", "update", "retire"):
            grid = grids[change.code]
            after = _snapshot(grid)
            if change.action == "create":
                audit.record("grid.create", actor=actor, ip=ip, target=grid, after=after, now=now)
            else:
                old, new = audit.changed(before[change.code], after)
                audit.record(f"grid.{change.action}", actor=actor, ip=ip, target=grid, before=old, after=new, now=now)
    counts = {action: plan.count(action) for action in ("create", "update", "unchanged", "retire")}
    audit.record("grids.import", actor=actor, ip=ip, label=(source_name or plan.format)[:200],
                 after={**counts, "crs": plan.crs, "format": plan.format, "complete": plan.complete}, now=now)
    return counts
