"""Grid files checked before they are applied: `flask grids import` and grids/plan.py
on a made-up county (tests/conftest.py: L1-1 is 0.02° square at 116.20, 36.55 with
four level-2 grids L2-1-1 … L2-1-4 of 0.01°; L1-2 beside it)."""
import io
import json
import zipfile

import pytest
import shapefile
from flask_babel import force_locale
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, box
from sqlalchemy import func, select

from civic.admin.models import AuditEntry
from civic.cases.models import Case
from civic.extensions import db
from civic.grids import crs
from civic.grids import plan as grid_plan
from civic.grids.lookup import get_index
from civic.grids.models import Grid
from civic.grids.sources import SourceError, read
from tests.conftest import ORIGIN, SQUARE

LNG, LAT = ORIGIN
# one degree of longitude and of latitude here, in metres (the plan's own approximation)
M_LNG, M_LAT = 111_320 * 0.80313, 110_574
WGS84_PRJ = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
             'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')


def ring(west, south, east, north):
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def feature(code, coordinates, kind="Polygon", **props):
    return {"type": "Feature", "properties": {"code": code, **props},
            "geometry": {"type": kind, "coordinates": coordinates}}


def geojson(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def run(runner, tmp_path, data, *args, name="grids.geojson"):
    path = tmp_path / name
    path.write_bytes(data)
    return runner.invoke(args=["grids", "import", str(path), *args])


def audit_count():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


# -- a new county's file -------------------------------------------------------------

def made_up_county():
    """A level-1 grid of 0.02° with three children: A and B overlap by 0.001° × 0.01°,
    C reaches 0.002° × 0.01° outside it, and the parent's north-east quarter is in none."""
    west, south = LNG + 0.1, LAT
    return geojson(
        feature("T1", ring(west, south, west + 0.02, south + 0.02), name="试验一级", level=1, street="试验街道"),
        feature("T1-A", ring(west, south, west + 0.011, south + 0.01), parent="T1", name="甲"),
        feature("T1-B", ring(west + 0.01, south, west + 0.02, south + 0.01), parent="T1", name="乙"),
        feature("T1-C", ring(west - 0.002, south + 0.01, west + 0.01, south + 0.02), parent="T1", name="丙"),
    )


def test_the_preview_finds_overlaps_gaps_and_grids_outside_their_parent(app, county):
    plan = grid_plan.check(read(made_up_county(), "county.geojson"))
    assert plan.summary() == "4 new, 0 changed, 0 unchanged, 0 retired, 0 invalid"
    found = {(f.kind, f.codes): f.area_m2 for f in plan.findings}
    assert found.keys() == {("overlap", ("T1-A", "T1-B")), ("outside_parent", ("T1-C", "T1")), ("gap", ("T1",))}
    assert found[("overlap", ("T1-A", "T1-B"))] == pytest.approx(0.001 * 0.01 * M_LNG * M_LAT, rel=0.01)
    assert found[("outside_parent", ("T1-C", "T1"))] == pytest.approx(0.002 * 0.01 * M_LNG * M_LAT, rel=0.01)
    assert found[("gap", ("T1",))] == pytest.approx(0.01 * 0.01 * M_LNG * M_LAT, rel=0.01)
    assert plan.can_apply  # findings are for the person to judge; errors stop the import


def test_the_command_applies_and_reports_as_the_users_import_does(app, runner, county, tmp_path):
    result = run(runner, tmp_path, made_up_county())
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "feature 2: create T1-A" in lines
    assert any(line.startswith("overlap: T1-A and T1-B overlap by") for line in lines)
    assert lines[-1] == "4 new, 0 changed, 0 unchanged, 0 retired, 0 invalid"
    grid = db.session.scalar(select(Grid).where(Grid.code == "T1-A"))
    assert (grid.name, grid.level, grid.parent.code, grid.kind, grid.active) == ("甲", 2, "T1", "grid", True)
    assert grid.street == "试验街道"  # a level-2 grid without a street is in its parent's (street rules route by it)
    assert get_index(app).locate(LAT + 0.005, LNG + 0.105).code in ("T1-A", "T1-B")
    # the same file again changes nothing and writes nothing
    entries = audit_count()
    again = run(runner, tmp_path, made_up_county())
    assert again.exit_code == 0 and again.output.strip().splitlines()[-1] == \
        "0 new, 0 changed, 4 unchanged, 0 retired, 0 invalid"
    assert audit_count() == entries


def test_dry_run_writes_nothing(app, runner, county, tmp_path):
    entries = audit_count()
    result = run(runner, tmp_path, made_up_county(), "--dry-run")
    assert result.exit_code == 0 and result.output.strip().endswith("(dry run: nothing written)")
    assert db.session.scalar(select(Grid).where(Grid.code == "T1")) is None and audit_count() == entries


# -- redrawing one grid ----------------------------------------------------------------

def test_a_file_with_one_outline_redraws_that_grid_and_keeps_the_rest(app, runner, county, tmp_path):
    # L2-1-1 grown 0.002° east: it now overlaps L2-1-2; its name, parent and street stay.
    redrawn = geojson(feature("L2-1-1", ring(LNG, LAT, LNG + SQUARE + 0.002, LAT + SQUARE)))
    result = run(runner, tmp_path, redrawn)
    assert result.exit_code == 0, result.output
    assert "feature 1: update L2-1-1: outline" in result.output
    assert "overlap: L2-1-1 and L2-1-2 overlap by" in result.output
    grid = db.session.scalar(select(Grid).where(Grid.code == "L2-1-1"))
    db.session.refresh(grid)
    assert (grid.name, grid.parent.code, grid.street) == ("网格1-1", "L1-1", "测试街道")
    assert to_shape(grid.polygon).bounds == pytest.approx((LNG, LAT, LNG + SQUARE + 0.002, LAT + SQUARE))
    assert db.session.scalar(select(func.count()).select_from(Grid).where(Grid.active)) == 10
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grid.update")).one()
    assert entry.target_label == "L2-1-1" and entry.before["area_m2"] < entry.after["area_m2"]
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grids.import")).one().after["update"] == 1


def test_a_complete_file_retires_the_grids_it_leaves_out_and_their_cases_keep_them(
        app, runner, county, make_case, tmp_path):
    case = make_case("dispatched", grid="L2-2-4")
    keep = [feature(code, [[list(p) for p in to_shape(g.polygon).geoms[0].exterior.coords]])
            for code, g in county.grids.items() if not code.startswith("L2-2-") or code == "L2-2-1"]
    result = run(runner, tmp_path, geojson(*keep), "--complete")
    assert result.exit_code == 0, result.output
    assert "not in the file: retire L2-2-4" in result.output
    assert result.output.strip().splitlines()[-1] == "0 new, 0 changed, 7 unchanged, 3 retired, 0 invalid"
    retired = db.session.scalar(select(Grid).where(Grid.code == "L2-2-4"))
    assert not retired.active and retired.retired_at is not None
    assert db.session.get(Case, case.id).grid_id == retired.id
    west, south = to_shape(retired.polygon).bounds[:2]
    assert get_index(app).locate(south + 0.005, west + 0.005) is None  # takes no new cases
    assert "gap: " in result.output  # L1-2 is now three-quarters covered
    # a later file that has it again brings it back
    again = run(runner, tmp_path, geojson(feature("L2-2-4", [[list(p) for p in to_shape(retired.polygon)
                                                              .geoms[0].exterior.coords]])))
    assert "update L2-2-4: active False → True" in again.output
    db.session.refresh(retired)
    assert retired.active and retired.retired_at is None


# -- refusals --------------------------------------------------------------------------

def test_invalid_features_are_named_and_nothing_is_applied(app, runner, county, tmp_path):
    entries = audit_count()
    west = LNG + 0.1
    bad = geojson(
        feature("OK-1", ring(west, LAT, west + 0.01, LAT + 0.01), level=1),
        feature("DUP", ring(west, LAT, west + 0.01, LAT + 0.01), level=1),
        feature("DUP", ring(west, LAT, west + 0.01, LAT + 0.01), level=1),
        feature("ORPHAN", ring(west, LAT, west + 0.01, LAT + 0.01), parent="NOWHERE"),
        feature("METRES", ring(500000, 4000000, 501000, 4001000), level=1),
        feature("SWAPPED", ring(LAT, LNG, LAT + 0.01, LNG + 0.01), level=1),
        feature(None, ring(west, LAT, west + 0.01, LAT + 0.01)),
        feature("LINE", [[west, LAT], [west + 0.01, LAT]], kind="LineString", level=1),
        feature("POINT", [west, LAT], kind="Point", level=1),
        feature("TWO", ring(west, LAT, west + 0.01, LAT + 0.01), level=2),
    )
    result = run(runner, tmp_path, bad)
    assert result.exit_code == 1
    out = result.output
    assert "feature 2 (DUP): invalid: code DUP is also feature 3" in out
    assert "feature 3 (DUP): invalid: code DUP is also feature 2" in out
    assert "feature 4 (ORPHAN): invalid: parent NOWHERE is neither in the file nor an active grid" in out
    assert "feature 5 (METRES): invalid: coordinates" in out and "outside China: probably another coordinate" in out
    assert "feature 6 (SWAPPED): invalid: coordinates" in out
    assert "feature 7: invalid: no code" in out
    assert "feature 8 (LINE): invalid: a line (a road segment) needs a buffer width in metres" in out
    assert "feature 9 (POINT): invalid: a Point, not an area" in out
    assert "feature 10 (TWO): invalid: a level-2 grid needs its level-1 parent" in out
    assert out.strip().splitlines()[-1] == \
        "1 new, 0 changed, 0 unchanged, 0 retired, 9 invalid (nothing applied: fix the invalid features)"
    assert db.session.scalar(select(Grid).where(Grid.code == "OK-1")) is None and audit_count() == entries


def test_a_self_intersecting_outline_is_repaired_and_said_so(app, runner, county, tmp_path):
    west = LNG + 0.1
    bowtie = [[[west, LAT], [west + 0.01, LAT + 0.01], [west + 0.01, LAT], [west, LAT + 0.01], [west, LAT]]]
    result = run(runner, tmp_path, geojson(feature("BOW", bowtie, level=1)))
    assert result.exit_code == 0, result.output
    assert "invalid outline repaired (Self-intersection" in result.output
    grid = db.session.scalar(select(Grid).where(Grid.code == "BOW"))
    shape = to_shape(grid.polygon)
    assert shape.is_valid and shape.area == pytest.approx(0.01 * 0.01 / 2)


@pytest.mark.parametrize("data, name, message", [
    (b"{not json", "g.geojson", "The GeoJSON cannot be read"),
    (b"[]", "g.geojson", "Expected a GeoJSON FeatureCollection"),
    (b"PK\x03\x04 broken", "g.zip", "The zip file cannot be opened"),
    (b"<kml><Document><Placemark>", "g.kml", "The KML cannot be read"),
    (b'<!DOCTYPE x [<!ENTITY a "aaaa">]><kml>&a;</kml>', "g.kml", "The KML cannot be read"),
    (b"a,b\n1,2", "g.csv", "Send a GeoJSON"),
])
def test_unreadable_files_get_a_clear_message(runner, county, tmp_path, data, name, message):
    result = run(runner, tmp_path, data, name=name)
    assert result.exit_code != 0 and message in result.output


def test_an_oversize_file_is_refused_before_it_is_parsed():
    with pytest.raises(SourceError, match="larger than 40 MB"):
        read(b" " * (40 * 1024 * 1024 + 1), "big.geojson")


# -- other formats and coordinate systems --------------------------------------------------

def zipped_shapefile(records, prj=None, encoding="utf-8", cpg=None, lines=False):
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYLINE if lines else shapefile.POLYGON,
                          encoding=encoding) as writer:
        writer.field("编码", "C", 32)
        writer.field("名称", "C", 50)
        writer.field("级别", "N", 2)
        writer.field("宽度", "N", 6)
        for code, name, level, coordinates, width in records:
            (writer.line if lines else writer.poly)(coordinates)
            writer.record(code, name, level, width)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for suffix, part in (("shp", shp), ("shx", shx), ("dbf", dbf)):
            archive.writestr(f"网格/grids.{suffix}", part.getvalue())
        if prj:
            archive.writestr("网格/grids.prj", prj)
        if cpg:
            archive.writestr("网格/grids.cpg", cpg)
    return out.getvalue()


def test_a_shapefile_in_gbk_with_its_prj(app, runner, county, tmp_path):
    west = LNG + 0.1
    data = zipped_shapefile([("S1", "石桥社区", 1, [[(west, LAT), (west + 0.01, LAT), (west + 0.01, LAT + 0.01),
                                                   (west, LAT + 0.01), (west, LAT)]], 0)],
                            prj=WGS84_PRJ, encoding="gbk")
    result = run(runner, tmp_path, data, name="grids.zip")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Grid.name).where(Grid.code == "S1")) == "石桥社区"


def test_a_shapefile_without_prj_asks_for_its_system_and_gcj02_is_converted(app, runner, county, tmp_path):
    wgs_lng, wgs_lat = LNG + 0.1, LAT
    gcj = [tuple(float(v) for v in crs.wgs84_to_gcj02(lng, lat))
           for lng, lat in [(wgs_lng, wgs_lat), (wgs_lng + 0.01, wgs_lat), (wgs_lng + 0.01, wgs_lat + 0.01),
                            (wgs_lng, wgs_lat + 0.01), (wgs_lng, wgs_lat)]]
    data = zipped_shapefile([("G1", "高德画的", 1, [gcj], 0)], cpg="UTF-8")
    refused = run(runner, tmp_path, data, name="amap.zip")
    assert refused.exit_code != 0 and "has no .prj" in refused.output and "--crs" in refused.output
    result = run(runner, tmp_path, data, "--crs", "gcj02", name="amap.zip")
    assert result.exit_code == 0, result.output
    west, south = to_shape(db.session.scalar(select(Grid.polygon).where(Grid.code == "G1"))).bounds[:2]
    assert crs.distance_m(west, south, wgs_lng, wgs_lat) < 1.0
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grids.import")).one().after["crs"] == "gcj02"


def test_a_projected_shapefile_is_refused_with_what_to_export(runner, county, tmp_path):
    prj = 'PROJCS["CGCS2000_3_Degree_GK_CM_117E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000"]]'
    data = zipped_shapefile([("P1", "投影", 1, [[(500000, 4000000), (501000, 4000000), (501000, 4001000),
                                                (500000, 4000000)]], 0)], prj=prj)
    result = run(runner, tmp_path, data, name="projected.zip")
    assert result.exit_code != 0 and "projected" in result.output and "EPSG:4490" in result.output


def test_road_segments_become_polygons_of_their_width(app, runner, county, tmp_path):
    west = LNG + 0.1
    data = zipped_shapefile([("R-1", "振兴路", 1, [[(west, LAT), (west + 0.01, LAT)]], 20)], prj=WGS84_PRJ, lines=True)
    result = run(runner, tmp_path, data, name="roads.zip")
    assert result.exit_code == 0, result.output
    assert "line widened to 20 m" in result.output
    grid = db.session.scalar(select(Grid).where(Grid.code == "R-1"))
    assert grid.kind == "road"
    assert grid_plan.area_m2(to_shape(grid.polygon)) == pytest.approx(0.01 * M_LNG * 20, rel=0.01)


def test_bd09_kml_with_extended_data(app, runner, county, tmp_path):
    wgs_lng, wgs_lat = LNG + 0.1, LAT
    corners = [(wgs_lng, wgs_lat), (wgs_lng + 0.01, wgs_lat), (wgs_lng + 0.01, wgs_lat + 0.01), (wgs_lng, wgs_lat)]
    bd = [tuple(float(v) for v in crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(lng, lat))) for lng, lat in corners]
    text = " ".join(f"{lng},{lat},0" for lng, lat in bd)
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>百度画的</name>
<ExtendedData><Data name="code"><value>K1</value></Data><Data name="level"><value>1</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{text}</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark></Document></kml>""".encode()
    result = run(runner, tmp_path, kml, "--crs", "bd09", name="baidu.kml")
    assert result.exit_code == 0, result.output
    assert "note: the file says" in result.output  # KML is WGS-84 by its standard; the choice wins
    grid = db.session.scalar(select(Grid).where(Grid.code == "K1"))
    west, south = to_shape(grid.polygon).bounds[:2]
    assert grid.name == "百度画的" and crs.distance_m(west, south, wgs_lng, wgs_lat) < 1.0


def test_the_plan_refuses_to_apply_with_errors(app, county):
    plan = grid_plan.check(read(geojson(feature(None, ring(LNG, LAT, LNG + 0.01, LAT + 0.01))), "x.geojson"))
    with pytest.raises(grid_plan.PlanRefused):
        grid_plan.apply(plan)


def test_areas_on_the_ground():
    one_km = box(LNG, LAT, LNG + 1000 / M_LNG, LAT + 1000 / M_LAT)
    assert grid_plan.area_m2(one_km) == pytest.approx(1e6, rel=0.001)
    assert grid_plan.area_m2(Point(LNG, LAT)) == 0


def test_a_kmz_and_a_geojson_naming_cgcs2000(app, county):
    west = LNG + 0.1
    kml = (f'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>Z1</name><Polygon><outerBoundaryIs><LinearRing>'
           f'<coordinates>{west},{LAT} {west + 0.01},{LAT} {west + 0.01},{LAT + 0.01} {west},{LAT}</coordinates>'
           f'</LinearRing></outerBoundaryIs></Polygon></Placemark></kml>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("doc.kml", kml)
    source = read(out.getvalue(), "grids.kmz")
    assert source.format == "kml" and source.features[0].properties["code"] == "Z1"
    named = json.loads(geojson(feature("C1", ring(west, LAT, west + 0.01, LAT + 0.01), level=1)))
    named["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}}
    plan = grid_plan.check(read(json.dumps(named).encode(), "cgcs.geojson"))
    assert plan.crs == crs.CGCS2000 and plan.count("create") == 1
    named["crs"]["properties"]["name"] = "EPSG:3857"
    plan = grid_plan.check(read(json.dumps(named).encode(), "mercator.geojson"))
    with force_locale("en"):
        assert plan.problems and "not one this import converts" in str(plan.problems[0])
    with force_locale("zh"):  # what the page shows in Chinese
        assert "不在本导入可转换之列" in str(plan.problems[0])


def test_zip_bombs_and_encrypted_zips_are_refused(monkeypatch):
    from civic.grids import sources

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.shp", b"\0" * (2 * 1024 * 1024))
    monkeypatch.setattr(sources, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    with pytest.raises(SourceError, match="expands to more than"):
        read(out.getvalue(), "bomb.zip")
    # an encrypted member: zipfile cannot read it without the password
    data = bytearray(zipped_shapefile([("E1", "加密", 1, [[(LNG, LAT), (LNG + 0.01, LAT), (LNG, LAT + 0.01),
                                                        (LNG, LAT)]], 0)], prj=WGS84_PRJ))
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) != -1:  # set the "encrypted" flag in the central directory
        data[offset + 8] |= 1
        offset += 4
    offset = 0
    while (offset := data.find(b"PK\x03\x04", offset)) != -1:  # and in each local header
        data[offset + 6] |= 1
        offset += 4
    with pytest.raises(SourceError, match="cannot be read"):
        read(bytes(data), "locked.zip")
