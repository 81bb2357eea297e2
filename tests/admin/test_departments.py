"""Departments as the administrators use them (the page and the `flask departments`
commands): create, edit, merge (open cases move with an event), retire, and the
chat group's test message showing what the platform really answered."""
import json
import socket
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from civic.admin import departments
from civic.admin.models import AuditEntry
from civic.cases.deadlines import clock_for
from civic.cases.models import Case, CaseEvent
from civic.extensions import db
from civic.grids.models import Category, Department
from civic.grids.routing import route
from tests.admin.test_pages import login
from tests.notify.fake_endpoint import FakeEndpoint

FORM = {"code": "PRK", "name": "公园管理处", "name_en": "Parks Office", "phone": "0531-87654321",
        "working_hours": "", "liaison_group": "公园联络群", "webhook_url": "", "webhook_kind": "", "webhook_secret": ""}


@pytest.fixture
def endpoint():
    fake = FakeEndpoint()
    yield fake
    fake.stop()


def audits(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_create_edit_and_the_audit_log_without_secrets(client, county):
    login(client, "admin")
    response = client.post("/admin/departments", data=FORM)
    assert response.status_code == 303
    dept = db.session.scalar(select(Department).where(Department.code == "PRK"))
    assert dept.name == "公园管理处" and dept.active and dept.working_hours is None
    assert audits("department.create")[0].after["phone"] == "0531-87654321"

    duplicate = client.post("/admin/departments", data={**FORM, "code": "san", "name": "又一个环卫"})
    assert duplicate.status_code == 422 and "The code SAN belongs to" in duplicate.get_data(as_text=True)

    bad_hours = client.post(f"/admin/departments/{dept.id}", data={**FORM, "working_hours": "09:00-08:00"})
    assert bad_hours.status_code == 422 and "ends before it starts" in bad_hours.get_data(as_text=True)
    db.session.expire_all()
    assert dept.working_hours is None  # nothing half-applied

    url = "https://oapi.dingtalk.com/robot/send?access_token=TOKEN123"
    saved = client.post(f"/admin/departments/{dept.id}",
                        data={**FORM, "working_hours": "13:30-17:30, 08:00-12:00", "webhook_url": url,
                              "webhook_secret": "SECxyz"})
    assert saved.status_code == 303
    db.session.expire_all()
    assert dept.working_hours == "08:00-12:00,13:30-17:30" and dept.webhook_kind == "dingtalk"
    assert dept.webhook_secret == "SECxyz"
    entry = audits("department.update")[-1]
    text = json.dumps([entry.before, entry.after])
    assert "TOKEN123" not in text and "SECxyz" not in text
    assert entry.after["webhook_url"] == "https://oapi.dingtalk.com/robot/send?…"

    # An empty secret keeps the one on file; the page never shows it.
    client.post(f"/admin/departments/{dept.id}", data={**FORM, "webhook_url": url, "webhook_kind": "dingtalk"})
    db.session.expire_all()
    assert dept.webhook_secret == "SECxyz"
    page = client.get(f"/admin/departments/{dept.id}").get_data(as_text=True)
    assert "SECxyz" not in page and "A secret is set" in page

    no_kind = client.post(f"/admin/departments/{dept.id}", data={**FORM, "webhook_url": "https://chat.example.cn/hook"})
    assert no_kind.status_code == 422 and "platform" in no_kind.get_data(as_text=True)


def test_supervisors_read_and_cannot_change(client, county):
    login(client, "supervisor")
    san = county.departments["SAN"]
    listing = client.get("/admin/departments")
    assert listing.status_code == 200 and "SAN" in listing.get_data(as_text=True)
    page = client.get(f"/admin/departments/{san.id}").get_data(as_text=True)
    assert "staff_san" in page and "Send a test message" not in page
    assert client.post(f"/admin/departments/{san.id}", data=FORM).status_code == 403
    assert client.get("/admin/settings").status_code == 403


def test_merge_moves_open_cases_with_an_event_and_everything_else(client, county, make_case):
    login(client, "admin")
    san, enf = county.departments["SAN"], county.departments["ENF"]
    open_case = make_case("dispatched", category="E0102")
    closed = make_case("closed", category="E0102")
    assert open_case.department_id == san.id
    response = client.post(f"/admin/departments/{san.id}/merge", data={"into": "ENF"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, open_case.id).department_id == enf.id
    assert db.session.get(Case, closed.id).department_id == san.id  # history stays as it was
    event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == open_case.id)
                               .order_by(CaseEvent.id.desc())).first()
    assert event.action == "department_merge" and event.data == {"from": "SAN", "to": "ENF"}
    assert event.from_status == event.to_status == "dispatched"
    assert county.staff_san.department_id == enf.id
    assert db.session.scalar(select(Category).where(Category.code == "E0102")).department_id == enf.id
    assert route(county.categories["E0102"], county.grids["L2-1-1"].id).department.code == "ENF"
    assert not san.active and san.merged_into_id == enf.id
    entry = audits("department.merge")[0]
    assert entry.after["cases_moved"] == [open_case.ref] and "staff_san" in entry.after["staff_moved"]
    assert "merged into another" in client.get(f"/cases/{open_case.ref}").get_data(as_text=True)

    again = client.post(f"/admin/departments/{san.id}/merge", data={"into": "ENF"})
    assert again.status_code == 422 and "not active" in again.get_data(as_text=True)
    itself = client.post(f"/admin/departments/{enf.id}/merge", data={"into": "ENF"})
    assert itself.status_code == 422


def test_retire_is_refused_while_something_points_there(client, county, make_case):
    login(client, "admin")
    san = county.departments["SAN"]
    refused = client.post(f"/admin/departments/{san.id}/retire")
    assert refused.status_code == 409 and "merge it into another" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert san.active
    client.post("/admin/departments", data=FORM)
    prk = db.session.scalar(select(Department).where(Department.code == "PRK"))
    assert client.post(f"/admin/departments/{prk.id}/retire").status_code == 303
    db.session.expire_all()
    assert not prk.active and audits("department.retire")[0].after == {"active": False}
    assert client.post(f"/admin/departments/{prk.id}/restore").status_code == 303
    db.session.expire_all()
    assert prk.active


def test_the_test_message_shows_the_platforms_answer(client, county, endpoint):
    login(client, "admin")
    san = county.departments["SAN"]
    san.webhook_url, san.webhook_kind, san.webhook_secret = endpoint.url("dingtalk", "san"), "dingtalk", "SECabc"
    endpoint.secrets["san"] = "SECabc"
    db.session.commit()
    page = client.post(f"/admin/departments/{san.id}/test-message")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Test message: delivered" in text
    assert "&#34;errcode&#34;: 0" in text or '"errcode": 0' in text
    assert len(endpoint.accepted("san")) == 1 and "连通测试" in endpoint.accepted("san")[0].text

    endpoint.answer("san", (200, {"errcode": 310000, "errmsg": "keywords not in content"}))
    failed = client.post(f"/admin/departments/{san.id}/test-message").get_data(as_text=True)
    assert "Test message: not delivered" in failed and "keywords not in content" in failed

    endpoint.secrets["san"] = "another secret"  # the group's robot was given a new secret
    refused = client.post(f"/admin/departments/{san.id}/test-message").get_data(as_text=True)
    assert "not delivered" in refused and "sign not match" in refused
    assert len(audits("department.test_message")) == 3


def test_the_test_message_reports_a_network_error(client, county):
    login(client, "admin")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    san = county.departments["SAN"]
    san.webhook_url, san.webhook_kind = f"http://127.0.0.1:{port}/wecom/x?key=k", "wecom"
    db.session.commit()
    text = client.post(f"/admin/departments/{san.id}/test-message").get_data(as_text=True)
    assert "not delivered" in text and "Network error" in text and "no answer" in text
    none = client.post(f"/admin/departments/{county.departments['ENF'].id}/test-message")
    assert none.status_code == 422 and "no chat group webhook" in none.get_data(as_text=True)


def test_a_departments_working_hours_set_its_deadlines(app, county):
    san = county.departments["SAN"]
    category = county.categories["E0102"]  # 4 working hours
    monday_9 = datetime(2026, 11, 23, 1, 0)  # 09:00 in Beijing, a working Monday
    _, county_due = clock_for(app, san).deadlines(monday_9, category)
    assert county_due == datetime(2026, 11, 23, 6, 30)  # 08:30-12:00,13:30-17:30: 14:30 local
    departments.update(san, {"working_hours": "09:00-10:00"})
    db.session.commit()
    _, own_due = clock_for(app, san).deadlines(monday_9, category)
    assert own_due == datetime(2026, 11, 26, 2, 0)  # one hour a day: Thursday 10:00 local
    assert own_due - county_due > timedelta(days=2)


def test_the_commands(runner, county, endpoint):
    result = runner.invoke(args=["departments", "create", "PRK", "--name", "公园管理处", "--hours", "08:00-12:00"])
    assert result.exit_code == 0, result.output
    duplicate = runner.invoke(args=["departments", "create", "prk", "--name", "再来"])
    assert duplicate.exit_code == 1 and "belongs to" in duplicate.output
    url = endpoint.url("wecom", "prk")
    assert runner.invoke(args=["departments", "update", "PRK", "--webhook-url", url, "--kind", "wecom"]).exit_code == 0
    sent = runner.invoke(args=["departments", "test-message", "PRK"])
    assert sent.exit_code == 0 and "HTTP 200" in sent.output and '"errcode": 0' in sent.output
    endpoint.answer("prk", (500, {"errcode": -1, "errmsg": "system busy"}))
    busy = runner.invoke(args=["departments", "test-message", "PRK"])
    assert busy.exit_code == 1 and "HTTP 500" in busy.output and "system busy" in busy.output
    listing = runner.invoke(args=["departments", "list"])
    assert "PRK\t公园管理处" in listing.output
    assert runner.invoke(args=["departments", "retire", "SAN"]).exit_code == 1
    merged = runner.invoke(args=["departments", "merge", "SAN", "PRK"])
    assert merged.exit_code == 0 and "merged SAN into PRK" in merged.output
    assert runner.invoke(args=["departments", "restore", "SAN"]).exit_code == 1  # merged: not restorable
    assert audits("department.merge")[0].actor_name == "command line"
