"""Device tokens and sessions on the API."""
import json

import pytest

from tests.conftest import PASSWORD, new_meta


def test_token_login_and_use(client, county):
    response = client.post("/api/v1/auth/token", json={"username": "worker", "password": PASSWORD, "device_id": "phone-1"})
    assert response.status_code == 201
    token = response.json["token"]
    assert response.json["user"]["role"] == "grid_worker"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["grids"] == [{"code": "L2-1-1", "name": "网格1-1"}]
    # A token never turns into a session cookie.
    assert "session" not in (me.headers.get("Set-Cookie") or "")


def test_login_by_phone_works_too(client, county):
    assert client.post("/api/v1/auth/token", json={"username": "13812341234", "password": PASSWORD}).status_code == 201


def test_wrong_password_and_malformed_bodies(client, county):
    assert client.post("/api/v1/auth/token", json={"username": "worker", "password": "nope"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": ["worker"], "password": 1}).status_code == 401
    assert client.post("/api/v1/auth/token", data="x", content_type="text/plain").status_code == 400
    assert client.post("/api/v1/auth/token", json=[1]).json["error"]["code"] == "invalid_json"


def test_revoked_and_unknown_tokens_are_401(client, api_as, county):
    api = api_as(county.worker)
    assert api.get("/api/v1/me").status_code == 200
    assert client.delete("/api/v1/auth/token", headers=api.headers).status_code == 204
    response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer made-up"}).status_code == 401


def test_inactive_user_token_stops_working(api_as, county):
    from civic.extensions import db

    api = api_as(county.worker)
    county.worker.active = False
    db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


def test_categories_list(client, county):
    body = client.get("/api/v1/categories").json
    codes = {c["code"]: c for c in body["categories"]}
    assert codes["E0102"]["name"] == "暴露垃圾" and codes["E0102"]["class_name"] == "市容环境"
    assert codes["C0101"]["kind"] == "component" and codes["C0101"]["class_name"] == "公用设施"
    assert len(codes) >= 80


def test_unknown_api_route_and_method_are_json(client):
    assert client.get("/api/v1/nothing").json["error"]["code"] == "not_found"
    # GET /api/v1/reports lists one's own reports now; PUT is still no method there.
    response = client.put("/api/v1/reports")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"


def test_session_writes_need_the_csrf_token(app, county):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"username": "worker", "password": PASSWORD, "csrf_token": token})
    meta = {"meta": json.dumps(new_meta(address="x"))}
    without = client.post("/api/v1/reports", data=meta, content_type="multipart/form-data")
    assert without.status_code == 400 and "error" in without.json
    with_token = client.post("/api/v1/reports", data=meta, content_type="multipart/form-data",
                             headers={"X-CSRFToken": token})
    assert with_token.status_code == 201


def _age_token(api, days):
    from datetime import timedelta

    from civic.accounts.models import DeviceToken
    from civic.extensions import db
    from civic.timeutil import utcnow

    record = db.session.scalars(db.select(DeviceToken).order_by(DeviceToken.id.desc())).first()
    record.last_used_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return record


def test_token_unused_for_the_idle_limit_is_refused(api_as, county):
    api = api_as(county.worker)
    assert api.get("/api/v1/me").status_code == 200
    _age_token(api, 29)
    assert api.get("/api/v1/me").status_code == 200  # and that use resets the clock
    _age_token(api, 31)
    response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"


def test_a_never_used_token_counts_from_its_issue(api_as, county):
    from datetime import timedelta

    from civic.accounts.models import DeviceToken
    from civic.extensions import db
    from civic.timeutil import utcnow

    api = api_as(county.worker)
    record = db.session.scalars(db.select(DeviceToken)).one()
    record.created_at, record.last_used_at = utcnow() - timedelta(days=40), None
    db.session.commit()
    assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("app", [{"DEVICE_TOKEN_IDLE_DAYS": 2}], indirect=True)
def test_idle_limit_is_configurable(api_as, county):
    api = api_as(county.worker)
    _age_token(api, 3)
    assert api.get("/api/v1/me").status_code == 401
