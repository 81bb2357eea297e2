"""The administrators' pages as an administrator uses them: import a file with a
preview (fix, apply), download the one-time passwords once, find and deactivate
someone, read and export the audit log."""
import io

from openpyxl import load_workbook
from sqlalchemy import select

from civic.accounts.models import User
from civic.extensions import db
from tests.conftest import PASSWORD

HEADER = "username,name,role,phone,grids,department"


def login(client, username):
    assert client.post("/auth/login", data={"username": username, "password": PASSWORD}).status_code == 302
    client.get("/auth/lang/en")  # the assertions read the pages' English


def upload(client, text, name="staff.csv"):
    return client.post("/admin/users/import", data={"file": (io.BytesIO(text.encode()), name)},
                       content_type="multipart/form-data")


def test_import_preview_then_apply_then_passwords_once(client, county):
    login(client, "admin")
    bad = upload(client, f"{HEADER}\nn1,牛一,grid_worker,13900000801,L2-1-1,\nn2,牛二,grid_worker,13900000802,L9,\n")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "1 to create" in page.replace("1 个", "1 to ") or "牛一" in page
    assert "no grid with code L9" in page  # in the page's language
    assert db.session.scalar(select(User).where(User.username == "n1")) is None  # a preview writes nothing
    token = page.split("/admin/users/import/")[1].split('"')[0]
    refused = client.post(f"/admin/users/import/{token}")
    assert refused.status_code == 409
    done = client.post(f"/admin/users/import/{token}", data={"skip_invalid": "1"})
    assert done.status_code == 200 and "passwords.xlsx" in done.get_data(as_text=True)
    xlsx = client.get(f"/admin/users/import/{token}/passwords.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows] == ["username", "n1"]
    assert client.get(f"/admin/users/import/{token}/passwords.xlsx").status_code == 404  # once
    assert client.post(f"/admin/users/import/{token}").status_code == 303  # the upload is gone too


def test_unreadable_uploads_are_refused_with_the_reason(client, county):
    login(client, "admin")
    response = client.post("/admin/users/import", data={"file": (io.BytesIO(b"PK\x03\x04junk"), "x.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "XLSX" in response.get_data(as_text=True)
    assert client.post("/admin/users/import", data={}, content_type="multipart/form-data").status_code == 400


def test_find_and_deactivate_someone_and_read_it_in_the_audit_log(client, county):
    login(client, "admin")
    listing = client.get("/admin/users?role=grid_worker&q=worker2").get_data(as_text=True)
    assert "worker2" in listing and "staff_san" not in listing
    response = client.post(f"/admin/users/{county.other_worker.id}/deactivate", data={"back": "/admin/users"})
    assert response.status_code == 303
    db.session.expire_all()
    assert not county.other_worker.active
    assert "worker2" in client.get("/admin/users?active=no").get_data(as_text=True)
    own = client.post(f"/admin/users/{county.admin.id}/deactivate")
    assert own.status_code == 303 and county.admin.active  # not oneself
    log = client.get("/admin/audit?action=user.deactivate").get_data(as_text=True)
    assert "worker2" in log and "admin" in log
    export = client.get("/admin/audit.csv")
    assert export.status_code == 200 and export.data.startswith("\ufeff".encode()) and b"user.deactivate" in export.data


def test_supervisors_read_the_people_page_but_change_nothing(client, county):
    login(client, "supervisor")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "worker2" in page and "Deactivate" not in page and "停用" not in page
    assert client.post(f"/admin/users/{county.other_worker.id}/deactivate").status_code == 403
    assert client.get("/admin/users/import").status_code == 403


def test_an_audit_export_never_carries_a_formula(client, county):
    from civic.admin import audit

    county.worker.display_name = "=HYPERLINK(\"http://evil\")"
    audit.record("user.update", actor=county.admin, target=county.worker, after={"name": county.worker.display_name},
                 label="=cmd|' /C calc'!A0")
    db.session.commit()
    login(client, "admin")
    import csv

    text = client.get("/admin/audit.csv").data.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")]
    assert any("=cmd" in cell for cell in cells)


def test_a_file_applied_twice_at_once_keeps_one_and_says_so(client, county, monkeypatch):
    from civic.admin import people
    from civic.admin.tables import read_rows

    login(client, "admin")
    text = f"{HEADER}\nt1,同一,dispatcher,13900000901,,\n"
    first = upload(client, text).get_data(as_text=True).split("/admin/users/import/")[1].split('"')[0]
    second = upload(client, text).get_data(as_text=True).split("/admin/users/import/")[1].split('"')[0]
    # The first request checked the file before the second one committed: its plan still says "create".
    stale = people.check_import(read_rows(text.encode(), "staff.csv"))
    assert client.post(f"/admin/users/import/{second}").status_code == 200
    real, calls = people.check_import, []

    def checked_too_early(rows):
        calls.append(1)
        return stale if len(calls) == 1 else real(rows)

    monkeypatch.setattr(people, "check_import", checked_too_early)
    answer = client.post(f"/admin/users/import/{first}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "nothing of it was kept" in page and "0 to create" in page
    assert len(db.session.scalars(select(User).where(User.username == "t1")).all()) == 1


def test_the_reasons_are_in_the_pages_language(client, county):
    assert client.post("/auth/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    page = upload(client, f"{HEADER}\nz1,张一,grid_worker,13900001001,L9,\n").get_data(as_text=True)
    assert "没有编码为 L9 的网格" in page
