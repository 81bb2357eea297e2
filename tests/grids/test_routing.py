"""谁主管谁负责: category defaults and per-grid overrides."""
from civic.extensions import db
from civic.grids.models import RoutingRule
from civic.grids.routing import route
from tests.conftest import new_meta, point_in


def test_default_department_of_the_category(county):
    result = route(county.categories["E0505"], county.grids["L2-1-1"].id)
    assert result.department.code == "TRF"


def test_grid_override_wins_then_parent_override(county):
    grid, parent = county.grids["L2-1-1"], county.grids["L1-1"]
    category = county.categories["E0102"]
    db.session.add(RoutingRule(grid=parent, category=category, department=county.departments["ENF"]))
    db.session.commit()
    assert route(category, grid.id, parent.id).department.code == "ENF"
    db.session.add(RoutingRule(grid=grid, category=None, department=county.departments["MUN"], liaison_group="振兴路路长群"))
    db.session.commit()
    result = route(category, grid.id, parent.id)
    assert result.department.code == "MUN" and result.liaison_group == "振兴路路长群"


def test_category_nobody_owns_goes_to_the_dispatcher(county, api_as):
    lat, lng = point_in("L2-1-1")
    body = api_as(county.worker).post_report(new_meta(category="E0599", lat=lat, lng=lng)).json
    assert body["department"] is None and body["grid"]["code"] == "L2-1-1"
