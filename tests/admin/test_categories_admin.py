"""The category catalogue's pages and commands: edit a category (enable or
disable, default department, after-photo, urgency, time limits, icon), the whole
catalogue as XLSX out and in (all or nothing, re-import changes nothing, bad
rows named by row and column), and every change in the audit log."""
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from civic.admin.models import AuditEntry
from civic.extensions import db
from civic.grids.models import Category
from civic.grids.routing import route
from tests.admin.test_pages import login
from tests.admin.test_routing_admin import upload, xlsx
from tests.conftest import new_meta, point_in

FORM = {"name_zh": "暴露垃圾", "name_en": "Exposed rubbish", "department": "ENF", "active": "1",
        "after_photo_required": "", "ack_minutes": "20", "resolve_limit": "3", "resolve_unit": "working_hours",
        "icon": "litter", "sort_order": "5"}


def audits():
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_edit_a_category_and_new_cases_follow_it(client, county, api_as):
    login(client, "admin")
    assert "E0102" in client.get("/admin/categories").get_data(as_text=True)
    assert "Exposed rubbish" in client.get("/admin/categories/E0102").get_data(as_text=True)
    saved = client.post("/admin/categories/E0102", data=FORM)
    assert saved.status_code == 303
    category = db.session.scalar(select(Category).where(Category.code == "E0102"))
    db.session.refresh(category)
    assert (category.department.code, category.after_photo_required, category.ack_minutes, category.resolve_unit,
            category.urgent) == ("ENF", False, 20, "working_hours", False)
    assert route(category, county.grids["L2-1-1"].id).department.code == "ENF"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "category.update"))
    assert entry.before["department"] == "SAN" and entry.after["department"] == "ENF"
    assert "after_photo_required" in entry.after and "name_zh" not in entry.after
    lat, lng = point_in("L2-1-1")
    body = api_as(county.worker).post_report(new_meta(category="E0102", lat=lat, lng=lng)).json
    assert body["department"]["code"] == "ENF"
    # disabled: no longer offered to a report
    client.post("/admin/categories/E0102", data={**FORM, "active": ""})
    codes = [c["code"] for c in client.get("/api/v1/categories").json["categories"]]
    assert "E0102" not in codes


def test_bad_values_are_refused_naming_the_field(client, county):
    login(client, "admin")
    county.departments["GAS"].active = False
    db.session.commit()
    for change, words in [({"department": "NOPE"}, "department: no department"),
                          ({"department": "GAS"}, "GAS is retired"),
                          ({"ack_minutes": "-3"}, "ack_minutes: a whole number"),
                          ({"resolve_unit": "weeks"}, "resolve_unit: one of"),
                          ({"name_zh": ""}, "name_zh: a name is required"),
                          ({"icon": "<b>"}, "icon: lower-case")]:
        response = client.post("/admin/categories/E0102", data={**FORM, **change})
        assert response.status_code == 422 and words in response.get_data(as_text=True), change
    assert client.post("/admin/categories/X0000", data=FORM).status_code == 404


def test_export_import_round_trip_changes_nothing(client, county):
    login(client, "admin")
    exported = client.get("/admin/categories.xlsx")
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    assert rows[0][0] == "code" and len(rows) == 1 + len(county.categories)
    before = audits()
    again = upload(client, "/admin/categories/import", exported.data)
    assert again.status_code == 303 and audits() == before


def test_a_bad_row_applies_nothing_and_a_good_file_creates_and_updates(client, county):
    login(client, "admin")
    header = ["code", "name_zh", "name_en", "department", "active", "urgent", "after_photo_required",
              "ack_minutes", "resolve_limit", "resolve_unit", "icon", "sort_order"]
    good_row = ["E0102", "暴露垃圾", "Exposed rubbish", "ENF", "yes", "no", "no", 30, 4, "working_hours", "litter", 0]
    bad = xlsx([header, good_row, ["E0103", "x", "x", "NOPE", "yes", "no", "yes", 30, 1, "working_days", "", 0],
                ["E0102", "重复", "dup", "SAN", "yes", "no", "yes", 30, 1, "working_days", "", 0],
                ["E0104", "x", "x", "SAN", "maybe", "no", "yes", 30, 1, "working_days", "", 0]])
    refused = upload(client, "/admin/categories/import", bad)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "nothing was applied" in text
    assert "no department with code &#39;NOPE&#39;" in text and "E0102 is also in row 4" in text
    assert "yes or no, not &#39;maybe&#39;" in text
    assert db.session.scalar(select(Category.department_id).where(Category.code == "E0102")) == \
        county.departments["SAN"].id
    new = ["E0699", "新类别", "New category", "", "yes", "yes", "yes", 10, 2, "calendar_hours", "other", 99]
    done = upload(client, "/admin/categories/import", xlsx([header, good_row, new]))
    assert done.status_code == 303
    created = db.session.scalar(select(Category).where(Category.code == "E0699"))
    assert created.kind == "event" and created.class_code == "06" and created.urgent and created.department is None
    assert {"category.create", "category.update"} <= set(db.session.scalars(select(AuditEntry.action)))


def test_supervisors_read_but_change_nothing(client, county):
    login(client, "supervisor")
    page = client.get("/admin/categories/E0102").get_data(as_text=True)
    assert "disabled" in page and "Save" not in page
    assert client.post("/admin/categories/E0102", data=FORM).status_code == 403
    assert client.get("/admin/categories.xlsx").status_code == 200


def test_the_commands(runner, county, tmp_path):
    path = tmp_path / "catalogue.xlsx"
    result = runner.invoke(args=["categories", "export", str(path)])
    assert result.exit_code == 0 and f"{len(county.categories)} categories" in result.output
    again = runner.invoke(args=["categories", "import", str(path)])
    assert again.exit_code == 0 and f"0 updated, {len(county.categories)} unchanged, 0 invalid" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name_zh,name_en,department\nE0102,暴露垃圾,Exposed rubbish,ENF\nE0103,x,x,NOPE\n")
    refused = runner.invoke(args=["categories", "import", str(bad)])
    assert refused.exit_code == 1 and "row 3: invalid: department: no department with code 'NOPE'" in refused.output
    dry = runner.invoke(args=["categories", "import", "--dry-run", str(tmp_path / "bad.csv")])
    assert dry.exit_code == 1
    good = tmp_path / "good.csv"
    good.write_text("code,name_zh,name_en,department,active\nE0102,暴露垃圾,Exposed rubbish,ENF,no\n")
    done = runner.invoke(args=["categories", "import", str(good)])
    assert done.exit_code == 0 and "1 updated" in done.output
    category = db.session.scalar(select(Category).where(Category.code == "E0102"))
    db.session.refresh(category)
    assert category.department.code == "ENF" and not category.active
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04junk")
    assert runner.invoke(args=["categories", "import", str(broken)]).exit_code == 1


def test_set_one_category_from_the_command_line(runner, county):
    result = runner.invoke(args=["categories", "set", "E0102", "--inactive", "--department", "ENF",
                                 "--no-after-photo", "--ack-minutes", "15"])
    assert result.exit_code == 0 and "E0102: update" in result.output
    category = db.session.scalar(select(Category).where(Category.code == "E0102"))
    db.session.refresh(category)
    assert (category.active, category.department.code, category.after_photo_required, category.ack_minutes) == (
        False, "ENF", False, 15)
    assert runner.invoke(args=["categories", "set", "E0102", "--department", "NOPE"]).exit_code == 1
    assert runner.invoke(args=["categories", "set", "E0102", "--ack-minutes", "x"]).exit_code == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "category.update"))
    assert entry.actor_name == "command line" and entry.after["active"] is False
