"""Point → grid with the in-memory STRtree, checked against the database."""
import json
import random

from geoalchemy2.shape import from_shape

from civic.extensions import db
from civic.grids.lookup import get_index, locate_in_database
from civic.grids.models import Grid
from tests.conftest import ORIGIN, SQUARE, point_in, square


def test_points_find_their_grid_and_parent(app, county):
    index = get_index(app)
    for code in ("L2-1-1", "L2-1-4", "L2-2-3"):
        hit = index.locate(*point_in(code))
        assert hit.code == code
        assert hit.parent_id == county.grids[code].parent_id


def test_point_outside_every_grid_is_none(app, county):
    assert get_index(app).locate(10.0, 10.0) is None
    assert get_index(app).locate(ORIGIN[1] - 0.001, ORIGIN[0]) is None


def test_border_point_goes_to_the_lowest_code_every_time(app, county):
    lat, lng = point_in("L2-1-1", fx=1.0)  # the shared edge of L2-1-1 and L2-1-2
    assert get_index(app).locate(lat, lng).code == "L2-1-1"


def test_tree_agrees_with_the_database(app, county):
    rng = random.Random(1)
    index = get_index(app)
    for _ in range(200):
        lat = ORIGIN[1] + rng.uniform(-0.002, 2 * SQUARE + 0.002)
        lng = ORIGIN[0] + rng.uniform(-0.002, 4 * SQUARE + 0.002)
        hit = index.locate(lat, lng)
        assert (hit.id if hit else None) == locate_in_database(lat, lng)


def test_index_follows_grid_changes(app, county):
    index = get_index(app)
    far = (ORIGIN[1] + 0.5, ORIGIN[0] + 0.5)
    assert index.locate(*far) is None
    db.session.add(Grid(code="L2-NEW", name="新网格", level=2, parent=county.grids["L1-1"],
                        polygon=from_shape(square(far[1] - 0.001, far[0] - 0.001, 0.002), srid=4326)))
    db.session.commit()
    assert index.locate(*far).code == "L2-NEW"


def test_geojson_import_creates_and_updates(app, runner, county, tmp_path):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "IMP-1", "name": "导入一级", "level": 1},
         "geometry": {"type": "Polygon", "coordinates": [[[117, 37], [117.02, 37], [117.02, 37.02], [117, 37.02], [117, 37]]]}},
        {"type": "Feature", "properties": {"code": "IMP-1-1", "name": "导入二级", "level": 2, "parent": "IMP-1"},
         "geometry": {"type": "Polygon", "coordinates": [[[117, 37], [117.01, 37], [117.01, 37.01], [117, 37.01], [117, 37]]]}},
    ]}
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection))
    result = runner.invoke(args=["grids", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "2 new, 0 changed, 0 unchanged, 0 retired, 0 invalid"
    hit = get_index(app).locate(37.005, 117.005)
    assert hit.code == "IMP-1-1"
    again = runner.invoke(args=["grids", "import", str(path)])
    assert again.output.strip().splitlines()[-1] == "0 new, 0 changed, 2 unchanged, 0 retired, 0 invalid"


def test_geojson_import_refuses_bad_files(runner, county, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "B", "level": 2},
         "geometry": {"type": "Polygon", "coordinates": [[[500, 37], [501, 37], [501, 38], [500, 37]]]}}]}))
    result = runner.invoke(args=["grids", "import", str(path)])
    assert result.exit_code != 0 and "WGS-84" in result.output
    path.write_text("[]")
    assert runner.invoke(args=["grids", "import", str(path)]).exit_code != 0
