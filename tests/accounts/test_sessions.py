"""Sessions that end (issue 17, item 4), tested with the cookies a browser keeps:
after a logout the captured session and remember cookies log nobody in; a
password reset or "log out everywhere" ends every session, remember cookie and
device token of the user; each login gets a remember cookie of its own."""
import re

from civic.accounts.services import issue_token
from civic.extensions import db
from civic.push.jobs import push_state
from tests.conftest import PASSWORD


def log_in(app):
    """A new browser that logs in as the resident, remembered: (its client, its cookies)."""
    browser = app.test_client()
    response = browser.post("/auth/login", data={"username": "resident", "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    cookies = {c.key: c.value for c in browser._cookies.values()}
    assert {"session", "remember_token"} <= set(cookies)
    return browser, cookies


def with_cookies(app, cookies, only=None):
    """Another client carrying copies of captured cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        if only is None or name in only:
            thief.set_cookie(name, value)
    return thief


def me(client):
    return client.get("/api/v1/me").status_code


def test_logout_ends_the_session_and_its_remember_cookie(app, county):
    browser, cookies = log_in(app)
    assert me(with_cookies(app, cookies, {"session"})) == 200
    assert me(with_cookies(app, cookies, {"remember_token"})) == 200
    assert browser.post("/auth/logout").status_code == 302
    assert me(with_cookies(app, cookies)) == 401
    assert me(with_cookies(app, cookies, {"session"})) == 401
    assert me(with_cookies(app, cookies, {"remember_token"})) == 401


def test_each_login_has_its_own_remember_cookie_and_logging_out_one_keeps_the_other(app, county):
    first, first_cookies = log_in(app)
    second, second_cookies = log_in(app)
    assert first_cookies["remember_token"] != second_cookies["remember_token"]
    first.post("/auth/logout")
    assert me(with_cookies(app, first_cookies)) == 401
    assert me(with_cookies(app, second_cookies)) == 200


def test_logging_out_everywhere_ends_every_session_and_token(app, client, county):
    browser, cookies = log_in(app)
    _other, other_cookies = log_in(app)
    token = issue_token(county.resident)
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert browser.post("/auth/logout-everywhere").status_code == 302
    assert me(with_cookies(app, cookies)) == 401 and me(with_cookies(app, other_cookies)) == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_api_logs_out_everywhere_too(app, client, county):
    _browser, cookies = log_in(app)
    token = issue_token(county.resident)
    db.session.commit()
    response = client.post("/api/v1/me/logout-everywhere", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json == {"ok": True}
    assert me(with_cookies(app, cookies)) == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_password_reset_ends_every_session(app, client, county):
    _browser, cookies = log_in(app)
    assert client.post("/api/v1/auth/codes", json={"phone": county.resident.phone, "purpose": "reset"}).status_code == 202
    code = re.search(r"验证码 (\d{6})", push_state(app).sms.sent[-1][1]).group(1)
    reset = client.post("/api/v1/auth/reset", json={"phone": county.resident.phone, "code": code,
                                                    "password": "a-brand-new-password"})
    assert reset.status_code == 200
    assert me(with_cookies(app, cookies)) == 401


def test_a_deactivated_users_cookies_log_nobody_in(app, county):
    _browser, cookies = log_in(app)
    county.resident.active = False
    db.session.commit()
    assert me(with_cookies(app, cookies)) == 401
