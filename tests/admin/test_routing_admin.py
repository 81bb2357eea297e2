"""The routing table's page, API and commands: set and delete a rule, the tester,
GET /api/v1/routing/preview, XLSX out and in (all or nothing, re-import changes
nothing, bad files and rows named), and every change in the audit log."""
import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from civic.admin.models import AuditEntry
from civic.extensions import db
from civic.grids.models import RoutingRule
from tests.admin.test_pages import login
from tests.conftest import point_in


def xlsx(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, url, data, name="rules.xlsx", **form):
    return client.post(url, data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data")


def rule_count():
    return db.session.scalar(select(func.count()).select_from(RoutingRule))


HEADER = ["scope", "grid", "street", "category", "department", "liaison_group"]


def test_set_a_rule_then_the_tester_and_the_api_say_who_gets_it(client, county, api_as):
    login(client, "admin")
    before = client.get("/admin/routing?category=E0102&grid=L2-1-1").get_data(as_text=True)
    assert "SAN" in before and "default department" in before
    saved = client.post("/admin/routing", data={"scope": "grid", "grid": "L1-1", "category": "E0102",
                                                "department": "ENF", "liaison_group": "执法一中队"})
    assert saved.status_code == 303
    page = client.get("/admin/routing?category=E0102&grid=L2-1-1").get_data(as_text=True)
    assert "ENF" in page and "grid L1-1 × E0102 → ENF" in page and "3." in page
    lat, lng = point_in("L2-1-1")
    body = api_as(county.dispatcher).get(f"/api/v1/routing/preview?lat={lat}&lng={lng}&category=E0102").json
    assert body["grid"]["code"] == "L2-1-1" and body["department"]["code"] == "ENF"
    assert body["rule"]["step"] == "parent_category" and body["rule"]["precedence"] == 3
    assert body["rule"]["liaison_group"] == "执法一中队"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "routing_rule.create"))
    assert entry.after["department"] == "ENF" and entry.actor_name == "admin"
    # the same scope and category again: the rule changes, there is still one
    client.post("/admin/routing", data={"scope": "grid", "grid": "L1-1", "category": "E0102", "department": "MUN"})
    assert rule_count() == 1
    update = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "routing_rule.update"))
    assert update.before == {"department": "ENF", "liaison_group": "执法一中队"} and update.after["department"] == "MUN"
    rule = db.session.scalar(select(RoutingRule))
    assert client.post("/admin/routing/delete", data={"rule_id": rule.id}).status_code == 303
    assert rule_count() == 0 and db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "routing_rule.delete")).before["grid"] == "L1-1"


def test_the_api_outside_every_grid_and_its_refusals(client, county, api_as):
    dispatcher = api_as(county.dispatcher)
    outside = dispatcher.get("/api/v1/routing/preview?lat=10&lng=10&category=E0599").json
    assert outside == {"grid": None, "department": None, "rule": {
        "id": None, "step": None, "precedence": None, "liaison_group": None,
        "description": "no rule: the dispatcher routes it by hand"}}
    assert dispatcher.get("/api/v1/routing/preview?lat=x&lng=1&category=E0102").status_code == 400
    assert dispatcher.get("/api/v1/routing/preview?lat=1&lng=1&category=NOPE").status_code == 422
    assert dispatcher.get("/api/v1/routing/preview?category=E0102").status_code == 400
    assert dispatcher.get("/api/v1/routing/preview?grid=L2-1-1&category=E0102").json["department"]["code"] == "SAN"
    assert api_as(county.worker).get("/api/v1/routing/preview?lat=1&lng=1&category=E0102").status_code == 403


def test_bad_rules_are_refused_naming_the_column(client, county):
    login(client, "admin")
    county.departments["GAS"].active = False
    db.session.commit()
    for form, words in [({"scope": "grid", "grid": "L9", "department": "ENF"}, "grid: no grid with code"),
                        ({"scope": "grid", "grid": "L1-1", "department": "NOPE"}, "department: no department"),
                        ({"scope": "grid", "grid": "L1-1", "department": "GAS"}, "GAS is retired"),
                        ({"scope": "street", "street": "无此街道", "department": "ENF"}, "street"),
                        ({"scope": "all", "category": "X9999", "department": "ENF"}, "category: no category")]:
        response = client.post("/admin/routing", data=form)
        assert response.status_code == 422 and words in response.get_data(as_text=True), form
    assert rule_count() == 0


def test_export_then_import_changes_nothing_and_a_bad_row_applies_nothing(client, county):
    login(client, "admin")
    client.post("/admin/routing", data={"scope": "grid", "grid": "L2-1-1", "category": "*", "department": "MUN",
                                        "liaison_group": "=cmd|' /C calc'!A0"})
    client.post("/admin/routing", data={"scope": "street", "street": "测试街道", "category": "E0102",
                                        "department": "ENF"})
    client.post("/admin/routing", data={"scope": "all", "category": "*", "department": "PSB"})
    exported = client.get("/admin/routing.xlsx")
    assert exported.status_code == 200 and exported.headers["Cache-Control"] == "no-store"
    sheet = load_workbook(io.BytesIO(exported.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == 4
    assert sheet["F2"].data_type == "s"  # a liaison group starting with "=" stays text
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    again = upload(client, "/admin/routing/import", exported.data)
    assert again.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits  # nothing changed
    bad = xlsx([HEADER, ["grid", "L2-1-2", "", "E0102", "TRF", ""], ["grid", "L2-1-3", "", "E0102", "NOPE", ""],
                ["grid", "L2-1-2", "", "E0102", "SAN", ""], ["street", "", "", "", "ENF", ""]])
    refused = upload(client, "/admin/routing/import", bad)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "nothing was applied" in text
    assert "no department with code &#39;NOPE&#39;" in text and "the same scope and category as row 4" in text
    assert "a street rule needs a street" in text
    assert rule_count() == 3


def test_import_with_replace_deletes_what_the_file_lacks_and_formulas_are_read_as_values(client, county):
    login(client, "admin")
    client.post("/admin/routing", data={"scope": "all", "category": "*", "department": "PSB"})
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["grid", "L2-1-1", "", "E0102", '=CONCATENATE("E","NF")', ""])
    out = io.BytesIO()
    book.save(out)
    # openpyxl writes no cached value for a formula: read as a value, the cell is empty (never evaluated)
    refused = upload(client, "/admin/routing/import", out.getvalue(), replace="1")
    assert refused.status_code == 422 and "a department is required" in refused.get_data(as_text=True)
    good = xlsx([HEADER, ["grid", "L2-1-1", "", "E0102", "ENF", ""]])
    checked = upload(client, "/admin/routing/import", good, replace="1", check_only="1")
    assert checked.status_code == 200 and "1 deleted" in checked.get_data(as_text=True) and rule_count() == 1
    assert upload(client, "/admin/routing/import", good, replace="1").status_code == 303
    assert [rule.key.split("|")[0] for rule in db.session.scalars(select(RoutingRule))] == [
        f"grid:{county.grids['L2-1-1'].id}"]


def test_broken_protected_and_oversize_files_are_refused(client, county):
    login(client, "admin")
    broken = upload(client, "/admin/routing/import", b"PK\x03\x04junk")
    assert broken.status_code == 422 and "not a readable XLSX" in broken.get_data(as_text=True)
    protected = upload(client, "/admin/routing/import", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    assert protected.status_code == 422 and "password" in protected.get_data(as_text=True)
    big = upload(client, "/admin/routing/import", b"a" * (10 * 2**20 + 10), name="big.csv")
    assert big.status_code == 422 and "at most 10 MB" in big.get_data(as_text=True)
    assert client.post("/admin/routing/import", data={}, content_type="multipart/form-data").status_code == 400


def test_supervisors_read_and_test_but_change_nothing(client, county):
    login(client, "supervisor")
    page = client.get("/admin/routing?category=E0505&grid=L2-1-1").get_data(as_text=True)
    assert "TRF" in page and "Save the rule" not in page
    assert client.get("/admin/routing.xlsx").status_code == 200
    assert client.post("/admin/routing", data={"scope": "all", "department": "ENF"}).status_code == 403
    assert client.post("/admin/routing/delete", data={"rule_id": "1"}).status_code == 403


def test_the_commands(runner, county, tmp_path):
    result = runner.invoke(args=["routing", "set", "--grid", "L1-1", "--category", "E0102", "--department", "ENF"])
    assert result.exit_code == 0 and "create: grid L1-1 × E0102 → ENF" in result.output
    refused = runner.invoke(args=["routing", "set", "--everywhere", "--department", "NOPE"])
    assert refused.exit_code == 1 and "no department with code" in refused.output
    listing = runner.invoke(args=["routing", "list"])
    assert "grid L1-1 × E0102 → ENF" in listing.output
    tested = runner.invoke(args=["routing", "test", "--category", "E0102", "--grid", "L2-1-1"])
    assert "department: ENF" in tested.output and "the level-1 grid, this category" in tested.output
    lat, lng = point_in("L2-2-1")
    tested = runner.invoke(args=["routing", "test", "--category", "E0102", "--lat", str(lat), "--lng", str(lng)])
    assert "grid: L2-2-1" in tested.output and "department: SAN" in tested.output
    path = tmp_path / "rules.xlsx"
    assert runner.invoke(args=["routing", "export", str(path)]).exit_code == 0
    again = runner.invoke(args=["routing", "import", str(path)])
    assert again.exit_code == 0 and "0 created, 0 updated, 1 unchanged, 0 invalid" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("scope,grid,street,category,department\ngrid,L2-1-1,,E0102,SAN\ngrid,L9,,E0102,SAN\n")
    result = runner.invoke(args=["routing", "import", str(bad)])
    assert result.exit_code == 1 and "row 3: invalid: grid: no grid with code 'L9'" in result.output
    assert rule_count() == 1
    rule = db.session.scalar(select(RoutingRule))
    deleted = runner.invoke(args=["routing", "delete", str(rule.id)])
    assert deleted.exit_code == 0 and rule_count() == 0
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"routing_rule.create", "routing_rule.delete"} <= actions


def test_a_file_without_the_liaison_column_keeps_the_groups_and_a_category_link_opens_the_tester(client, county):
    login(client, "admin")
    client.post("/admin/routing", data={"scope": "grid", "grid": "L2-1-1", "category": "E0102", "department": "MUN",
                                        "liaison_group": "振兴路路长群"})
    done = upload(client, "/admin/routing/import", b"scope,grid,category,department\ngrid,L2-1-1,E0102,ENF\n",
                  name="rules.csv")
    assert done.status_code == 303
    rule = db.session.scalar(select(RoutingRule))
    db.session.refresh(rule)
    assert rule.department.code == "ENF" and rule.liaison_group == "振兴路路长群"
    page = client.get("/admin/routing?category=E0102")
    assert page.status_code == 200 and "Give a point" not in page.get_data(as_text=True)
    asked = client.get("/admin/routing?category=E0102&grid=&lat=&lng=").get_data(as_text=True)
    assert "Give a point (latitude and longitude) or a grid." in asked
    lat, lng = point_in("L2-1-1")
    by_point = client.get(f"/admin/routing?category=E0102&grid=&lat={lat}&lng={lng}").get_data(as_text=True)
    assert "L2-1-1" in by_point and "ENF" in by_point and "振兴路路长群" not in by_point.split("tester-answer")[0]
    assert client.get("/admin/routing?category=E0102&lat=999&lng=1").status_code == 200  # said on the page
