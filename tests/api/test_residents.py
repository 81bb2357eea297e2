"""Residents' accounts on the API: texted codes, registering, resetting a password."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from civic.accounts import codes
from civic.accounts.models import DeviceToken, OneTimeCode, User
from civic.extensions import db
from civic.push.jobs import push_state
from civic.timeutil import utcnow
from tests.conftest import PASSWORD

PHONE = "13700001111"
NEW_PASSWORD = "a-long-password"


def texts(app):
    return push_state(app).sms.sent


def ask_code(client, phone=PHONE, purpose="register"):
    return client.post("/api/v1/auth/codes", json={"phone": phone, "purpose": purpose})


def texted_code(app):
    return re.search(r"验证码 (\d{6})", texts(app)[-1][1]).group(1)


def register(client, code, phone=PHONE, password=NEW_PASSWORD, **extra):
    return client.post("/api/v1/auth/register", json={"phone": phone, "code": code, "password": password, **extra})


def wrong(code):
    return "000000" if code != "000000" else "111111"


def attempts():
    db.session.remove()
    return db.session.scalar(select(OneTimeCode.attempts).order_by(OneTimeCode.id.desc()).limit(1))


def test_register_with_a_texted_code(app, client, county):
    response = ask_code(client)
    assert response.status_code == 202
    assert response.json == {"sent": True, "expires_in": 300, "resend_after": 60}
    assert texts(app)[-1][0] == "137****1111"
    response = register(client, texted_code(app), display_name="老王", device_id="phone-9", device_name="Redmi")
    assert response.status_code == 201
    assert response.json["user"]["role"] == "resident" and response.json["user"]["username"] == PHONE
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert me.status_code == 200 and me.json["display_name"] == "老王"
    token = db.session.scalar(select(DeviceToken).where(DeviceToken.user_id == response.json["user"]["id"]))
    assert (token.device_id, token.name) == ("phone-9", "Redmi")
    # From now on the phone and the password log in, on the API and on the site.
    assert client.post("/api/v1/auth/token", json={"username": PHONE, "password": NEW_PASSWORD}).status_code == 201
    assert client.post("/auth/login", data={"username": PHONE, "password": NEW_PASSWORD}).status_code == 302


def test_the_name_defaults_to_the_masked_number(app, client, county):
    ask_code(client)
    user_id = register(client, texted_code(app)).json["user"]["id"]
    assert db.session.get(User, user_id).display_name == "137****1111"


def test_a_wrong_code_is_a_422_on_code_and_the_try_is_counted(app, client, county):
    ask_code(client)
    response = register(client, wrong(texted_code(app)))
    assert response.status_code == 422
    error = response.json["error"]
    assert (error["code"], error["field"], error["tries_left"]) == ("invalid_code", "code", 4)
    assert "wrong" in error["message"] and attempts() == 1
    assert db.session.scalar(select(User).where(User.phone == PHONE)) is None


def test_an_expired_code_is_refused(app, client, county, monkeypatch):
    ask_code(client)
    code = texted_code(app)
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(codes, "utcnow", lambda: later)
    response = register(client, code)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "code_expired" and "new one" in response.json["error"]["message"]


def test_a_code_registers_once(app, client, county):
    ask_code(client)
    code = texted_code(app)
    assert register(client, code).status_code == 201
    again = register(client, code, phone="13700001111")
    assert again.status_code == 422 and again.json["error"]["code"] == "code_expired"


def test_five_wrong_tries_use_the_code_up(app, client, county):
    ask_code(client)
    code = texted_code(app)
    for _ in range(5):
        assert register(client, wrong(code)).status_code == 422
    response = register(client, code)
    assert response.status_code == 422 and response.json["error"]["code"] == "code_attempts_exhausted"
    assert attempts() == 5


def test_a_short_password_or_bad_phone_costs_no_try(app, client, county):
    ask_code(client)
    code = texted_code(app)
    short = register(client, code, password="short")
    assert short.status_code == 422 and short.json["error"]["field"] == "password"
    bad_phone = register(client, code, phone="12345")
    assert bad_phone.status_code == 422 and bad_phone.json["error"]["field"] == "phone"
    assert attempts() == 0
    assert register(client, code).status_code == 201


@pytest.mark.parametrize("body, field", [
    ({"phone": "0531-1234567", "purpose": "register"}, "phone"),
    ({"phone": ["13700001111"], "purpose": "register"}, "phone"),
    ({"phone": PHONE, "purpose": "login"}, "purpose"),
    ({"phone": PHONE}, "purpose"),
])
def test_bad_code_requests_are_422_naming_the_field(client, county, body, field):
    response = client.post("/api/v1/auth/codes", json=body)
    assert response.status_code == 422 and response.json["error"]["field"] == field


def test_malformed_bodies_are_400_not_500(client, county):
    for url in ("/api/v1/auth/codes", "/api/v1/auth/register", "/api/v1/auth/reset"):
        assert client.post(url, data="x", content_type="text/plain").status_code == 400
        assert client.post(url, json=[1]).status_code == 400
    assert register(client, None).json["error"]["field"] == "code"
    assert register(client, 123456).status_code == 422


def test_whether_a_phone_is_registered_is_not_told(app, client, county):
    known = ask_code(client, phone=county.resident.phone)
    unknown = ask_code(client, phone=PHONE)
    assert (known.status_code, known.json) == (unknown.status_code, unknown.json)
    # Only the phone's owner reads the difference, in the text message.
    assert "已注册" in texts(app)[0][1] and "验证码" in texts(app)[1][1]
    response = register(client, "123456", phone=county.resident.phone)
    assert response.status_code == 422 and response.json["error"]["code"] == "code_expired"


def test_reset_sets_a_new_password_and_logs_out_every_device(app, client, api_as, county):
    api = api_as(county.resident)
    assert api.get("/api/v1/me").status_code == 200
    assert ask_code(client, phone=county.resident.phone, purpose="reset").status_code == 202
    response = client.post("/api/v1/auth/reset", json={"phone": county.resident.phone, "code": texted_code(app),
                                                       "password": NEW_PASSWORD})
    assert response.status_code == 200 and response.json == {"ok": True}
    assert api.get("/api/v1/me").status_code == 401
    login = {"username": county.resident.phone}
    assert client.post("/api/v1/auth/token", json={**login, "password": PASSWORD}).status_code == 401
    assert client.post("/api/v1/auth/token", json={**login, "password": NEW_PASSWORD}).status_code == 201


def test_reset_with_a_wrong_code_changes_nothing(app, client, api_as, county):
    api = api_as(county.resident)
    ask_code(client, phone=county.resident.phone, purpose="reset")
    response = client.post("/api/v1/auth/reset", json={"phone": county.resident.phone,
                                                       "code": wrong(texted_code(app)), "password": NEW_PASSWORD})
    assert response.status_code == 422 and response.json["error"]["field"] == "code"
    assert attempts() == 1 and api.get("/api/v1/me").status_code == 200


def test_a_register_code_does_not_reset(app, client, county):
    ask_code(client, phone=PHONE)
    response = client.post("/api/v1/auth/reset", json={"phone": PHONE, "code": texted_code(app),
                                                       "password": NEW_PASSWORD})
    assert response.status_code == 422 and response.json["error"]["code"] == "code_expired"


def test_staff_passwords_are_not_reset_by_text(app, client, county):
    assert ask_code(client, phone=county.worker.phone, purpose="reset").status_code == 202
    assert "管理员" in texts(app)[-1][1]
    response = client.post("/api/v1/auth/reset", json={"phone": county.worker.phone, "code": "123456",
                                                       "password": NEW_PASSWORD})
    assert response.status_code == 422


def test_a_failing_sms_gateway_is_a_503_and_no_500(app, client, county, monkeypatch):
    from civic.notify.sms import SmsResult

    monkeypatch.setattr(push_state(app).sms, "send", lambda phone, text: SmsResult(False, "gateway down", retry=True))
    response = ask_code(client)
    assert response.status_code == 503 and response.json["error"]["code"] == "sms_unavailable"
    # Not counted against the phone: asking again is not refused as too soon.
    monkeypatch.undo()
    assert ask_code(client).status_code == 202
