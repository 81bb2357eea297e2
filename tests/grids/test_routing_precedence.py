"""谁主管谁负责, the whole precedence: each step decides when nothing more
specific does, a retired department's rule is skipped, and the Route says which
rule decided."""
from civic.extensions import db
from civic.grids.models import RoutingRule
from civic.grids.routing import STEPS, route
from tests.conftest import new_meta, point_in


def _rule(county, department, grid=None, street=None, category=None, group=None):
    rule = RoutingRule(grid=county.grids[grid] if grid else None, street=street,
                       category=county.categories[category] if category else None,
                       department=county.departments[department], liaison_group=group)
    db.session.add(rule)
    db.session.commit()
    return rule


def test_each_step_in_turn_from_the_least_to_the_most_specific(county):
    category = county.categories["E0102"]  # default SAN
    grid, parent = county.grids["L2-1-1"], county.grids["L1-1"]

    def ask():
        result = route(category, grid.id, parent.id)
        return result.department.code if result.department else None, result.step

    rule = _rule(county, "PSB")  # everywhere, every category: below the category's default
    assert ask() == ("SAN", "category_default")
    category.department = None
    db.session.commit()
    assert ask() == ("PSB", "everywhere_all")
    assert route(category, grid.id, parent.id).rule_id == rule.id
    expected = [("everywhere_category", {"category": "E0102"}, "ECO"),
                ("street_all", {"street": "测试街道"}, "CIV"),
                ("street_category", {"street": "测试街道", "category": "E0102"}, "CUL"),
                ("parent_all", {"grid": "L1-1"}, "AIR"),
                ("parent_category", {"grid": "L1-1", "category": "E0102"}, "NRP"),
                ("grid_all", {"grid": "L2-1-1"}, "WTR"),
                ("grid_category", {"grid": "L2-1-1", "category": "E0102"}, "SPT")]
    for step, where, department in expected:
        _rule(county, department, **where)
        assert ask() == (department, step)
    assert [step for step, _words in STEPS][:7] == [step for step, _where, _dept in reversed(expected)]


def test_the_default_beats_an_every_category_rule_everywhere_but_not_a_rule_for_it(county):
    category = county.categories["E0505"]  # TRF
    _rule(county, "PSB")
    assert route(category, county.grids["L2-1-1"].id).department.code == "TRF"
    _rule(county, "ENF", category="E0505")
    assert route(category, None).department.code == "ENF"  # outside every grid: everywhere rules still apply


def test_a_street_rule_applies_only_to_grids_of_that_street(county):
    category = county.categories["E0102"]
    _rule(county, "ENF", street="别的街道", category="E0102")
    assert route(category, county.grids["L2-1-1"].id).department.code == "SAN"
    _rule(county, "MUN", street="测试街道", category="E0102")
    assert route(category, county.grids["L2-1-1"].id).department.code == "MUN"


def test_a_retired_departments_rule_is_skipped(county):
    category = county.categories["E0102"]
    grid = county.grids["L2-1-1"]
    _rule(county, "ENF", grid="L2-1-1", category="E0102", group="老群")
    county.departments["ENF"].active = False
    db.session.commit()
    result = route(category, grid.id, grid.parent_id)
    assert result.department.code == "SAN" and result.step == "category_default" and result.rule_id is None
    county.departments["SAN"].active = False
    db.session.commit()
    assert route(category, grid.id, grid.parent_id).department is None


def test_a_new_report_is_routed_by_the_street_rule(county, api_as):
    _rule(county, "MUN", street="测试街道", category="E0102")
    lat, lng = point_in("L2-2-1")
    body = api_as(county.worker).post_report(new_meta(category="E0102", lat=lat, lng=lng)).json
    assert body["department"]["code"] == "MUN"
