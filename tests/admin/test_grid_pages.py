"""The grids' pages as an administrator uses them: a file checked on a page with a
map before it is applied, a grid's name, chief and workers, a chief seeing the
grid's cases; supervisors read, others are refused (the access matrix asks every
role; here what each page does)."""
import io
import json
import re

from sqlalchemy import func, select

from civic.accounts.models import User
from civic.admin.models import AuditEntry
from civic.extensions import db
from civic.grids.models import Grid
from tests.admin.test_pages import login
from tests.conftest import ORIGIN, PASSWORD_HASH, SQUARE

LNG, LAT = ORIGIN


def ring(west, south, east, north):
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def upload(client, collection, **form):
    data = json.dumps(collection).encode()
    return client.post("/admin/grids/import", data={"file": (io.BytesIO(data), "grids.geojson"), **form},
                       content_type="multipart/form-data")


def collection(*features):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": coords}}
        for props, coords in features]}


def test_preview_on_a_map_then_apply(client, county):
    login(client, "admin")
    redrawn = collection(({"code": "L2-1-1"}, ring(LNG, LAT, LNG + SQUARE + 0.002, LAT + SQUARE)),
                         ({"code": "NEW-1", "level": 1, "name": "新社区"}, ring(LNG + 0.1, LAT, LNG + 0.11, LAT + 0.01)))
    preview = upload(client, redrawn)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "1 new, 1 changed, 0 unchanged, 0 retired, 0 invalid." in page
    assert "L2-1-1 and L2-1-2 overlap by" in page and 'id="grid-map"' in page
    map_data = json.loads(re.search(r'<script type="application/json" id="grid-preview">(.*?)</script>', page, re.S)
                          .group(1))
    actions = {f["properties"]["action"] for f in map_data["features"]}
    assert {"create", "update", "overlap"} <= actions
    assert db.session.scalar(select(Grid).where(Grid.code == "NEW-1")) is None  # a preview writes nothing
    token = re.search(r"/admin/grids/import/([0-9a-f]{32})", page).group(1)
    applied = client.post(f"/admin/grids/import/{token}")
    assert applied.status_code == 303
    assert db.session.scalar(select(Grid.name).where(Grid.code == "NEW-1")) == "新社区"
    assert "1 new, 1 changed" in client.get(applied.headers["Location"]).get_data(as_text=True)
    again = client.post(f"/admin/grids/import/{token}")  # applied once: the token is spent
    assert again.status_code == 303 and again.headers["Location"].endswith("/admin/grids/import")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grids.import")).one()
    assert entry.actor_name == "admin" and entry.after["create"] == 1


def test_a_file_with_errors_shows_them_and_offers_no_apply(client, county):
    login(client, "admin")
    bad = collection(({"code": "X"}, ring(LNG + 0.1, LAT, LNG + 0.11, LAT + 0.01)),
                     ({"code": "X", "level": 1}, ring(500000, 4000000, 500100, 4000100)))
    page = upload(client, bad).get_data(as_text=True)
    assert "Features to fix" in page and "code X is also feature 2" in page and "outside China" in page
    assert "/admin/grids/import/" not in page.split("Check another file")[0].split("Features to fix")[1]


def test_unreadable_and_missing_files_get_a_message(client, county):
    login(client, "admin")
    missing = client.post("/admin/grids/import", data={}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "Choose the GeoJSON" in missing.get_data(as_text=True)
    broken = client.post("/admin/grids/import", data={"file": (io.BytesIO(b"{oops"), "g.geojson")},
                         content_type="multipart/form-data")
    assert broken.status_code == 422 and "The GeoJSON cannot be read" in broken.get_data(as_text=True)


def test_the_chosen_coordinate_system_is_kept_for_the_apply(client, county):
    login(client, "admin")
    page = upload(client, collection(({"code": "G-1", "level": 1}, ring(LNG + 0.1, LAT, LNG + 0.11, LAT + 0.01))),
                  crs="gcj02").get_data(as_text=True)
    assert "GCJ-02" in page
    token = re.search(r"/admin/grids/import/([0-9a-f]{32})", page).group(1)
    assert client.post(f"/admin/grids/import/{token}").status_code == 303
    west = db.session.scalar(select(Grid).where(Grid.code == "G-1")).polygon
    from geoalchemy2.shape import to_shape
    assert abs(to_shape(west).bounds[0] - (LNG + 0.1)) > 0.001  # converted: GCJ-02 is hundreds of metres off


def test_a_grids_name_chief_and_workers(app, client, county, make_case):
    chief = User(username="road_chief", role="dept_staff", display_name="街长", password_hash=PASSWORD_HASH)
    db.session.add(chief)
    db.session.commit()
    login(client, "admin")
    page = client.get("/admin/grids/L2-1-2")
    assert page.status_code == 200 and "网格1-2" in page.get_data(as_text=True)
    refused = client.post("/admin/grids/L2-1-2", data={"name": "", "chief": "nobody", "workers": "worker; staff_san"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "A name of 1 to 100 characters." in text
    assert "No active staff account has that username." in text and "Not grid workers: staff_san." in text
    saved = client.post("/admin/grids/L2-1-2", data={"name": "振兴路路段", "street": "城关街道", "chief": "road_chief",
                                                      "workers": "worker；WORKER2"})
    assert saved.status_code == 303
    grid = db.session.scalar(select(Grid).where(Grid.code == "L2-1-2"))
    db.session.refresh(grid)
    assert (grid.name, grid.street, grid.chief.username) == ("振兴路路段", "城关街道", "road_chief")
    assert sorted(u.username for u in grid.members) == ["worker", "worker2"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grid.update")).one()
    assert entry.before["chief"] is None and entry.after["chief"] == "road_chief"
    assert entry.after["workers"] == ["worker", "worker2"]
    # the chief, staff of no department, now sees the cases of that grid, and only those
    case = make_case("dispatched", grid="L2-1-2", category="E0102")
    other = make_case("dispatched", grid="L2-1-3", category="E0102")
    as_chief = app.test_client()
    login(as_chief, "road_chief")
    assert as_chief.get(f"/cases/{case.ref}").status_code == 200
    assert as_chief.get(f"/cases/{other.ref}").status_code == 404


def test_supervisors_read_administrators_change(app, client, county):
    login(client, "supervisor")
    listing = client.get("/admin/grids?level=2")
    assert listing.status_code == 200 and "L2-1-1" in listing.get_data(as_text=True)
    page = client.get("/admin/grids/L2-1-1").get_data(as_text=True)
    assert 'name="chief"' not in page  # no form for a reader
    assert client.post("/admin/grids/L2-1-1", data={"name": "x"}).status_code == 403
    assert client.get("/admin/grids/import").status_code == 403
    as_dispatcher = app.test_client()
    login(as_dispatcher, "dispatcher")
    assert as_dispatcher.get("/admin/grids").status_code == 403


def test_grids_set_on_the_command_line(runner, county):
    result = runner.invoke(args=["grids", "set", "L2-1-3", "--chief", "supervisor", "--workers", "worker;worker2"])
    assert result.exit_code == 0 and result.output.strip() == "L2-1-3: saved", result.output
    grid = db.session.scalar(select(Grid).where(Grid.code == "L2-1-3"))
    db.session.refresh(grid)
    assert grid.chief.username == "supervisor" and grid.name == "网格1-3"
    assert runner.invoke(args=["grids", "set", "L2-1-3", "--chief", "supervisor"]).output.strip() == "L2-1-3: unchanged"
    bad = runner.invoke(args=["grids", "set", "L2-1-3", "--workers", "resident"])
    assert bad.exit_code != 0 and "workers: Not grid workers: resident." in bad.output
    assert runner.invoke(args=["grids", "set", "NOPE"]).exit_code != 0
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "grid.update")).one()
    assert entry.actor_name == "command line" and entry.after == {"chief": "supervisor", "workers": ["worker", "worker2"]}


def test_taking_a_worker_off_a_grid_releases_the_tasks_it_covered(client, county, make_case):
    from civic.cases.models import Case, CaseEvent

    county.worker.grids.append(county.grids["L2-1-2"])
    db.session.commit()
    there = make_case("dispatched", grid="L2-1-2", assignee=county.worker)
    elsewhere = make_case("dispatched", grid="L2-1-1", assignee=county.worker)
    login(client, "admin")
    saved = client.post("/admin/grids/L2-1-2", data={"name": "网格1-2", "workers": ""})
    assert saved.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, there.id).assignee_id is None
    assert db.session.get(Case, elsewhere.id).assignee_id == county.worker.id
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == there.id,
                                                       CaseEvent.action == "unassign")).one()
    assert event.data["reason"] == "reassigned"
    worker_entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert worker_entry.after["tasks_released"] == [there.ref]
    # a worker's last grid is not taken away from the grid's side
    refused = client.post("/admin/grids/L2-1-1", data={"name": "网格1-1", "workers": ""})
    assert refused.status_code == 422 and "worker: a grid worker needs at least one grid" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert [g.code for g in db.session.get(User, county.worker.id).grids] == ["L2-1-1"]


def test_one_preview_applied_twice_at_once_imports_once(app, county):
    """A double click, two tabs: both requests apply the same token at the same moment."""
    import threading

    admins = [app.test_client() for _ in range(2)]
    for admin in admins:
        login(admin, "admin")
    new = collection(({"code": "TWICE", "level": 1}, ring(LNG + 0.1, LAT, LNG + 0.11, LAT + 0.01)))
    page = upload(admins[0], new).get_data(as_text=True)
    token = re.search(r"/admin/grids/import/([0-9a-f]{32})", page).group(1)
    start, answers = threading.Barrier(2, timeout=30), []

    def apply(client):
        start.wait()
        answers.append(client.post(f"/admin/grids/import/{token}").status_code)

    threads = [threading.Thread(target=apply, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 2 and all(code in (303, 409) for code in answers), answers
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Grid).where(Grid.code == "TWICE")) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "grids.import")) == 1
