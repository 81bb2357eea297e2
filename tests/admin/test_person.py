"""One person's page as an administrator uses it: see their tasks and logins; change
role, grids or department, first seeing which tasks go back to the queue; a new
one-time password; log them out everywhere. Each also a `flask users` command, and
each in the audit log with its before and after. The audit log as XLSX."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from civic.accounts.models import DeviceToken, User
from civic.admin.models import AuditEntry
from civic.cases.models import CaseEvent
from civic.extensions import db
from tests.admin.test_pages import login
from tests.conftest import PASSWORD


def entries(action):
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_the_page_shows_the_person_their_tasks_and_logins(app, client, county, make_case, api_as):
    case = make_case("dispatched", grid="L2-1-1", assignee=county.worker)
    api_as(county.worker)
    login(client, "admin")
    page = client.get(f"/admin/users/{county.worker.id}").get_data(as_text=True)
    assert "worker" in page and "L2-1-1" in page and case.ref in page
    assert "1 device" in page and "Check what happens" in page and "Reset the password" in page
    assert client.get("/admin/users/999999").status_code == 404
    client = app.test_client()
    login(client, "supervisor")  # may read, not change
    page = client.get(f"/admin/users/{county.worker.id}").get_data(as_text=True)
    assert case.ref in page and "Check what happens" not in page and "Reset the password" not in page
    assert client.post(f"/admin/users/{county.worker.id}/logout").status_code == 403


def test_moving_a_worker_previews_then_releases_the_tasks_the_new_grid_does_not_cover(client, county, make_case):
    here = make_case("dispatched", grid="L2-1-1", assignee=county.worker)
    below = make_case("acknowledged", grid="L2-1-2", assignee=county.worker)  # under L1-1, another level-2 grid
    login(client, "admin")
    url = f"/admin/users/{county.worker.id}/change"
    preview = client.post(url, data={"role": "grid_worker", "grids": "L1-1", "department": ""})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 open tasks stay theirs; 0 go back" in page
    preview = client.post(url, data={"role": "grid_worker", "grids": "L2-2-1", "department": ""})
    page = preview.get_data(as_text=True)
    assert "0 open tasks stay theirs; 2 go back to the queue" in page and here.ref in page
    db.session.expire_all()
    assert [g.code for g in county.worker.grids] == ["L2-1-1"]  # a preview changes nothing
    done = client.post(url, data={"role": "grid_worker", "grids": "L2-2-1 L2-1-1", "department": "", "confirm": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert sorted(g.code for g in county.worker.grids) == ["L2-1-1", "L2-2-1"]
    assert here.assignee_id == county.worker.id and below.assignee_id is None and below.status == "acknowledged"
    event = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == below.id, CaseEvent.action == "unassign"))
    assert event.data == {"assignee_id": county.worker.id, "reason": "reassigned"} and event.actor_id == county.admin.id
    [entry] = entries("user.update")
    assert entry.before == {"grids": ["L2-1-1"]}
    assert entry.after == {"grids": ["L2-1-1", "L2-2-1"], "tasks_released": [below.ref]}


def test_a_worker_made_department_staff_keeps_only_the_departments_tasks(client, county, make_case):
    sanitation = make_case("dispatched", grid="L2-1-1", category="E0102", assignee=county.worker)
    login(client, "admin")
    department = sanitation.department.code
    done = client.post(f"/admin/users/{county.worker.id}/change",
                       data={"role": "dept_staff", "grids": "", "department": department, "confirm": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert county.worker.role == "dept_staff" and county.worker.grids == []
    assert sanitation.assignee_id == county.worker.id  # their new department's case stays theirs


def test_bad_changes_are_refused_with_the_reason_and_change_nothing(client, county):
    login(client, "admin")
    url = f"/admin/users/{county.worker.id}"
    for data, reason in [({"role": "grid_worker", "grids": "L9"}, "no grid with code L9"),
                         ({"role": "grid_worker", "grids": ""}, "a grid worker needs at least one grid"),
                         ({"role": "dept_staff", "department": ""}, "department staff need a department"),
                         ({"role": "dept_staff", "department": "NOPE"}, "no department with code NOPE"),
                         ({"role": "king", "grids": "L2-1-1"}, "unknown role"),
                         ({"role": "resident", "grids": "L2-1-1"}, "unknown role")]:
        answer = client.post(f"{url}/change", data={**data, "confirm": "1"})
        assert answer.status_code == 422 and reason in answer.get_data(as_text=True), data
    own = client.post(f"/admin/users/{county.admin.id}/change", data={"role": "dispatcher", "confirm": "1"})
    assert own.status_code == 422 and "your own role" in own.get_data(as_text=True)
    resident = client.post(f"/admin/users/{county.resident.id}/change", data={"role": "admin", "confirm": "1"})
    assert resident.status_code == 422
    db.session.expire_all()
    assert county.worker.role == "grid_worker" and county.resident.role == "resident" and county.admin.role == "admin"
    assert entries("user.update") == []


def test_reset_password_shows_a_one_time_password_once_and_ends_every_login(app, client, county, api_as):
    api = api_as(county.worker)
    login(client, "admin")
    answer = client.post(f"/admin/users/{county.worker.id}/reset-password")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    password = page.split('<code class="password">')[1].split("<")[0]
    assert len(password) == 12
    assert api.client.get("/api/v1/tasks", headers=api.headers).status_code == 401
    assert password not in client.get(f"/admin/users/{county.worker.id}").get_data(as_text=True)
    phone = app.test_client()
    token = phone.post("/api/v1/auth/token", json={"username": "worker", "password": password})
    assert token.status_code == 201 and token.json["must_change_password"] is True
    assert phone.post("/api/v1/auth/token", json={"username": "worker", "password": PASSWORD}).status_code == 401
    [entry] = entries("user.reset_password")
    assert entry.actor_name == "admin" and entry.after["must_change_password"] is True
    assert password not in str(entry.before) + str(entry.after)
    assert client.post(f"/admin/users/{county.resident.id}/reset-password").status_code == 303  # residents: by SMS


def test_logout_everywhere_ends_the_phones_token(client, county, api_as):
    api = api_as(county.worker)
    login(client, "admin")
    answer = client.post(f"/admin/users/{county.worker.id}/logout")
    assert answer.status_code == 303
    assert "logged out everywhere (0 browser sessions, 1 devices)" in client.get(answer.headers["Location"]).get_data(
        as_text=True)
    assert api.client.get("/api/v1/me", headers=api.headers).status_code == 401
    [entry] = entries("user.logout_everywhere")
    assert entry.before == {"sessions": 0, "devices": 1} and entry.target_label == "worker"


def test_the_commands(runner, county, make_case, api_as):
    case = make_case("dispatched", grid="L2-1-1", assignee=county.worker)
    dry = runner.invoke(args=["users", "set", "worker", "--grids", "L2-2-1", "--dry-run"])
    assert dry.exit_code == 0 and f"1 go back to the queue: {case.ref}" in dry.output and "dry run" in dry.output
    db.session.expire_all()
    assert case.assignee_id == county.worker.id
    done = runner.invoke(args=["users", "set", "worker", "--grids", "L2-2-1"])
    assert done.exit_code == 0 and "changed worker" in done.output
    db.session.expire_all()
    assert case.assignee_id is None and [g.code for g in county.worker.grids] == ["L2-2-1"]
    assert entries("user.update")[0].actor_name == "command line"
    assert runner.invoke(args=["users", "set", "worker", "--grids", "L2-2-1"]).output.strip() == "worker: nothing to change"
    bad = runner.invoke(args=["users", "set", "worker", "--role", "dept_staff"])
    assert bad.exit_code == 1 and "department staff need a department" in bad.output
    moved = runner.invoke(args=["users", "set", "staff_san", "--department", "TRF"])
    assert moved.exit_code == 0
    assert runner.invoke(args=["users", "set", "nobody", "--role", "admin"]).exit_code == 1

    api = api_as(county.worker)
    reset = runner.invoke(args=["users", "reset-password", "worker"])
    assert reset.exit_code == 0
    password = reset.output.split("\t")[1]
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == "worker"))
    assert user.must_change_password and user.check_password(password)
    assert api.client.get("/api/v1/me", headers=api.headers).status_code == 401
    assert runner.invoke(args=["users", "reset-password", "resident"]).exit_code == 1

    api = api_as(county.other_worker)
    out = runner.invoke(args=["users", "logout", "worker2"])
    assert out.exit_code == 0 and "1 devices" in out.output
    assert api.client.get("/api/v1/me", headers=api.headers).status_code == 401
    assert db.session.scalar(select(DeviceToken).where(DeviceToken.user_id == county.other_worker.id)).revoked_at
    assert [e.action for e in entries("user.logout_everywhere")] == ["user.logout_everywhere"]


def test_the_audit_log_as_xlsx_with_the_filters_and_no_formula(client, county):
    from civic.admin import audit

    audit.record("user.update", actor=county.admin, target=county.worker, after={"name": "=1+1"},
                 label="=cmd|' /C calc'!A0")
    audit.record("user.deactivate", actor=county.admin, target=county.other_worker, after={"active": False})
    db.session.commit()
    login(client, "admin")
    answer = client.get("/admin/audit.xlsx?action=user.update")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("at", "actor", "ip", "action", "target", "before", "after")
    assert [row[3] for row in rows[1:]] == ["user.update"]
    cells = [str(cell) for row in rows for cell in row if cell]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")] and any("=cmd" in c for c in cells)
    assert "audit.xlsx" in client.get("/admin/audit").get_data(as_text=True)


class Gateway:
    """A county's SMS gateway, as SMS_SENDER names one: what it was asked to send."""
    sent: list = []  # noqa: RUF012  (one list for the test to read, whichever instance sent)

    def __init__(self, app):
        pass

    def send(self, phone, text):
        from civic.notify.sms import SmsResult

        Gateway.sent.append((phone, text))
        return SmsResult(True)


@pytest.mark.parametrize("app", [{"SMS_SENDER": "tests.admin.test_person:Gateway"}], indirect=True)
def test_with_an_sms_gateway_the_new_password_is_texted_too(client, county):
    Gateway.sent.clear()
    login(client, "admin")
    assert "text it to their phone" in client.get(f"/admin/users/{county.worker.id}").get_data(as_text=True)
    page = client.post(f"/admin/users/{county.worker.id}/reset-password", data={"text": "1"}).get_data(as_text=True)
    password = page.split('<code class="password">')[1].split("<")[0]
    assert "also being texted" in page
    [(phone, text)] = Gateway.sent
    assert phone == "13800000004" and password in text
