"""Provisioning a phone by QR code: a printed one-time code per worker (24 hours, one
use, a new one supersedes the older) whose link opens the field app, which
exchanges the code for a device token: the same answer as a login, once, even
when two phones send it at the same moment."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civic.accounts import provisioning
from civic.accounts.models import DeviceToken, ProvisioningCode
from civic.admin.models import AuditEntry
from civic.extensions import db
from tests.admin.test_pages import login

LINK = re.compile(r"(http://[^\"'<> ]+/field/#code=([A-Za-z0-9_-]+))")


def codes_in(page):
    return [code for _url, code in LINK.findall(page)]


def actions():
    db.session.expire_all()
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_printed_code_logs_a_phone_in_once(app, client, county):
    login(client, "admin")
    answer = client.post(f"/admin/users/{county.worker.id}/phone-code")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "<svg" in page and 'class="qr"' in page and "worker" in page
    [code] = set(codes_in(page))
    record = db.session.scalar(select(ProvisioningCode))
    assert record.code_hash != code and code not in record.code_hash  # only the hash is kept
    assert record.expires_at - record.created_at == timedelta(hours=24)

    phone = app.test_client()
    answer = phone.post("/api/v1/provision", json={"code": code, "device_id": "dev-1", "device_name": "测试手机"})
    assert answer.status_code == 201
    body = answer.json
    assert set(body) == {"token", "user", "must_change_password"}  # the login's answer, one shape
    assert body["user"] == {"id": county.worker.id, "username": "worker", "role": "grid_worker"}
    assert body["must_change_password"] is False
    me = phone.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json["username"] == "worker"
    token = db.session.scalar(select(DeviceToken).where(DeviceToken.user_id == county.worker.id))
    assert token.device_id == "dev-1" and token.name == "测试手机"
    db.session.expire_all()
    assert record.used_at is not None and record.device_token_id == token.id

    again = phone.post("/api/v1/provision", json={"code": code})
    assert again.status_code == 422 and again.json["error"]["code"] == "code_invalid"
    assert actions()[-2:] == ["user.phone_code", "login"]  # after the administrator's own login
    login_entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login",
                                                              AuditEntry.target_id == county.worker.id)).one()
    assert login_entry.after == {"by": "phone_code", "code_id": record.id}


def test_a_new_code_supersedes_the_older_and_a_code_expires(app, client, county, monkeypatch):
    first, _ = provisioning.issue(county.worker)
    second, _ = provisioning.issue(county.worker)
    db.session.commit()
    phone = app.test_client()
    assert phone.post("/api/v1/provision", json={"code": first}).status_code == 422
    later = provisioning.utcnow() + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(provisioning, "utcnow", lambda: later)
    assert phone.post("/api/v1/provision", json={"code": second}).status_code == 422
    monkeypatch.undo()
    assert phone.post("/api/v1/provision", json={"code": second}).status_code == 201
    for body in ({}, {"code": ""}, {"code": 5}, {"code": "x" * 65}):
        answer = phone.post("/api/v1/provision", json=body)
        assert answer.status_code == 422 and answer.json["error"]["field"] == "code"


def test_a_deactivated_worker_has_no_code_and_loses_one_printed(app, runner, county):
    code, _ = provisioning.issue(county.worker)
    db.session.commit()
    assert runner.invoke(args=["users", "deactivate", "worker"]).exit_code == 0
    assert app.test_client().post("/api/v1/provision", json={"code": code}).status_code == 422
    with pytest.raises(provisioning.ProvisioningError):
        provisioning.issue(county.worker)
    with pytest.raises(provisioning.ProvisioningError):
        provisioning.issue(county.resident)
    # reactivated, the code printed before does not come back to life: ending every login ended it
    assert runner.invoke(args=["users", "reactivate", "worker"]).exit_code == 0
    assert app.test_client().post("/api/v1/provision", json={"code": code}).status_code == 422


def test_logging_out_everywhere_ends_the_unused_phone_codes_too(app, runner, county):
    code, _ = provisioning.issue(county.worker)
    db.session.commit()
    assert runner.invoke(args=["users", "logout", "worker"]).exit_code == 0
    assert app.test_client().post("/api/v1/provision", json={"code": code}).status_code == 422


def test_two_phones_sending_one_code_at_once_get_exactly_one_token(app, county):
    code, _ = provisioning.issue(county.worker)
    db.session.commit()
    worker_id = county.worker.id
    start, answers = threading.Barrier(2, timeout=30), []

    def redeem():
        phone = app.test_client()
        start.wait()
        answers.append(phone.post("/api/v1/provision", json={"code": code}).status_code)

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers) == [201, 422]
    db.session.remove()
    assert db.session.scalar(select(func.count(DeviceToken.id)).where(DeviceToken.user_id == worker_id)) == 1


def test_the_same_code_raced_inside_the_service_is_used_once(app, county, monkeypatch):
    """The losing request has checked nothing in Python: the conditional UPDATE decides,
    even when the second one starts while the first still holds its transaction."""
    from civic.accounts import services
    from civic.transaction import unit_of_work

    code, _ = provisioning.issue(county.worker)
    db.session.commit()
    first_in, outcomes = threading.Event(), []
    issue_token = services.issue_token

    def slow_issue(user, **kwargs):
        first_in.set()
        threading.Event().wait(0.5)  # the other request's UPDATE is sent meanwhile
        return issue_token(user, **kwargs)

    monkeypatch.setattr(services, "issue_token", slow_issue)

    def attempt(wait):
        with app.app_context():
            if wait:
                first_in.wait(10)
            try:
                with unit_of_work():
                    provisioning.redeem(code)
                outcomes.append("ok")
            except provisioning.ApiError as error:
                outcomes.append(error.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(wait,)) for wait in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["code_invalid", "ok"]


@pytest.mark.parametrize("app", [{"RATELIMIT_LOGIN_PER_IP": "3/minute"}], indirect=True)
def test_wrong_codes_are_rate_limited_like_logins(app, county):
    phone = app.test_client()
    for _ in range(3):
        assert phone.post("/api/v1/provision", json={"code": "wrong-code-123"}).status_code == 422
    answer = phone.post("/api/v1/provision", json={"code": "wrong-code-123"})
    assert answer.status_code == 429 and answer.headers["Retry-After"]


def test_a_one_time_password_account_sets_its_own_on_the_phone_without_knowing_it(app, runner, county):
    """Provisioned right after an import or a reset: the app asks for a new password, and
    the code stands in for the one-time password its holder never saw."""
    assert runner.invoke(args=["users", "reset-password", "worker"]).exit_code == 0
    code, _ = provisioning.issue(county.worker)
    db.session.commit()
    phone = app.test_client()
    body = phone.post("/api/v1/provision", json={"code": code}).json
    assert body["must_change_password"] is True
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert phone.get("/api/v1/tasks", headers=headers).json["error"]["code"] == "password_change_required"
    assert phone.post("/api/v1/me/password", json={"new": "short"}, headers=headers).status_code == 422
    assert phone.post("/api/v1/me/password", json={"new": "a-good-new-password"}, headers=headers).status_code == 200
    assert phone.get("/api/v1/tasks", headers=headers).status_code == 200
    # With a password of their own, the old one is asked for again.
    assert phone.post("/api/v1/me/password", json={"new": "another-password"}, headers=headers).status_code == 422
    login_token = phone.post("/api/v1/auth/token", json={"username": "worker", "password": "a-good-new-password"})
    assert login_token.status_code == 201


def test_a_password_login_token_still_needs_the_old_password(app, runner, county):
    out = runner.invoke(args=["users", "reset-password", "worker"])
    password = out.output.split("\t")[1]
    phone = app.test_client()
    token = phone.post("/api/v1/auth/token", json={"username": "worker", "password": password}).json["token"]
    answer = phone.post("/api/v1/me/password", json={"new": "a-good-new-password"},
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "wrong_password"


def test_a_sheet_for_a_grids_workers_and_for_the_ticked(client, county):
    login(client, "admin")
    sheet = client.post("/admin/users/phone-codes", data={"grid": "L2-1-1"}).get_data(as_text=True)
    assert len(set(codes_in(sheet))) == 1 and 'data-username="worker"' in sheet
    ticked = client.post("/admin/users/phone-codes", data={"user_id": [str(county.worker.id),
                                                                       str(county.other_worker.id),
                                                                       str(county.resident.id)]})
    page = ticked.get_data(as_text=True)
    assert len(set(codes_in(page))) == 2 and 'data-username="resident"' not in page
    assert client.post("/admin/users/phone-codes", data={}).status_code == 303
    assert client.post("/admin/users/phone-codes", data={"grid": "L9"}).status_code == 303
    assert actions().count("user.phone_code") == 3
    listing = client.get("/admin/users?grid=L2-1-1").get_data(as_text=True)
    assert "every worker of grid L2-1-1" in listing and 'form="codes-form"' in listing


def test_the_command_prints_the_link_or_writes_the_png(app, runner, county, tmp_path):
    out = runner.invoke(args=["users", "phone-code", "worker"])
    assert out.exit_code == 0
    [(url, code)] = LINK.findall(out.output)
    assert url.startswith(app.config["PUBLIC_BASE_URL"])
    png = tmp_path / "worker.png"
    assert runner.invoke(args=["users", "phone-code", "worker", "--out", str(png)]).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert app.test_client().post("/api/v1/provision", json={"code": code}).status_code == 422  # superseded
    assert runner.invoke(args=["users", "phone-code", "resident"]).exit_code == 1
    assert runner.invoke(args=["users", "phone-code", "nobody"]).exit_code == 1
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.phone_code")).first()
    assert entry.actor_name == "command line" and code not in str(entry.after)
