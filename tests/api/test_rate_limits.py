"""Abuse limits (civic/ratelimit.py): failed logins, texted codes, residents'
reports. The tests lower the limits through the config; nothing waits."""
import json

import pytest

from tests.conftest import PASSWORD, new_meta


def limit(app, **settings):
    for name, value in settings.items():
        app.config[f"RATELIMIT_{name}"] = value


def assert_limited(response, words):
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= 3600
    error = response.json["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith(words) and error["message"].endswith(f"try again in {seconds} seconds.")


def token_login(client, username, password="wrong-password", ip="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_the_defaults(app):
    config = app.config
    assert config["RATELIMIT_LOGIN_PER_NAME_IP"] == "10 per minute" and config["RATELIMIT_LOGIN_PER_IP"] == "30 per minute"
    assert config["RATELIMIT_LOGIN_PER_NAME"] == "50 per hour"  # then the right password needs a texted code
    assert config["RATELIMIT_CODES_PER_PHONE"] == "1 per minute; 5 per hour"
    assert config["RATELIMIT_REPORTS_PER_ACCOUNT"] == "20 per hour; 60 per day"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_failed_logins_for_one_name_are_limited_on_the_api_and_the_site(app, client, county):
    limit(app, LOGIN_PER_NAME_IP="3 per minute")
    for _ in range(3):
        assert token_login(client, "worker").status_code == 401
    # Even the right password waits now; another name does not.
    assert_limited(token_login(client, "worker", PASSWORD), "Too many failed logins for this account")
    assert token_login(client, "worker2", PASSWORD).status_code == 201
    # The site's login form counts in the same bucket, and answers with a page.
    page = client.post("/auth/login", data={"username": "worker", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert page.mimetype == "text/html" and "请稍候" in page.get_data(as_text=True)


def test_successful_logins_do_not_count(app, client, county):
    limit(app, LOGIN_PER_NAME_IP="2 per minute", LOGIN_PER_IP="2 per minute")
    for _ in range(4):
        assert token_login(client, "worker", PASSWORD).status_code == 201


def test_failed_logins_from_one_address_are_limited(app, client, county):
    limit(app, LOGIN_PER_IP="2 per minute")
    assert token_login(client, "a").status_code == 401
    assert token_login(client, "b").status_code == 401
    assert_limited(token_login(client, "c"), "Too many failed logins from this network")
    assert token_login(client, "worker", PASSWORD, ip="10.0.0.2").status_code == 201


def ask_code(client, phone, ip="10.0.0.1"):
    return client.post("/api/v1/auth/codes", json={"phone": phone, "purpose": "register"},
                       environ_base={"REMOTE_ADDR": ip})


def test_one_code_a_minute_per_phone(app, client, county):
    assert ask_code(client, "13700001111").status_code == 202
    assert_limited(ask_code(client, "137 0000 1111", ip="10.0.0.9"), "Too many codes asked for this number")
    assert ask_code(client, "13700002222").status_code == 202
    # A registered phone counts the same (its answer is the same).
    assert ask_code(client, county.resident.phone).status_code == 202
    assert ask_code(client, county.resident.phone).status_code == 429


def test_codes_per_address_and_refusals_do_not_count(app, client, county):
    limit(app, CODES_PER_IP="2 per hour")
    assert ask_code(client, "12345").status_code == 422
    assert ask_code(client, "13700001111").status_code == 202
    assert ask_code(client, "13700002222").status_code == 202
    assert_limited(ask_code(client, "13700003333"), "Too many codes asked from this network")
    assert ask_code(client, "13700003333", ip="10.0.0.2").status_code == 202


def test_the_register_page_send_button_is_limited_with_a_page(app, client, county):
    assert client.post("/auth/register/code", data={"phone": "13700001111"}).status_code == 200
    page = client.post("/auth/register/code", data={"phone": "13700001111"},
                       headers={"Referer": "http://localhost/auth/register"})
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert 'href="/auth/register"' in page.get_data(as_text=True)


def test_register_and_reset_attempts_per_address(app, client, county):
    limit(app, ACCOUNT_PER_IP="2 per hour")
    body = {"phone": "13700001111", "code": "123456", "password": "a-long-password"}
    assert client.post("/api/v1/auth/register", json=body).status_code == 422
    assert client.post("/api/v1/auth/reset", json=body).status_code == 422
    assert_limited(client.post("/api/v1/auth/register", json=body), "Too many account requests")


def post(api, meta, ip="10.0.0.1"):
    return api.client.post("/api/v1/reports", data={"meta": json.dumps(meta)}, headers=api.headers,
                           content_type="multipart/form-data", environ_base={"REMOTE_ADDR": ip})


def test_a_residents_new_reports_are_limited_but_a_replay_is_never_refused(app, api_as, county):
    limit(app, REPORTS_PER_ACCOUNT="2 per hour; 60 per day")
    api = api_as(county.resident)
    first = new_meta(address="人民路1号")
    assert post(api, first).status_code == 201
    assert post(api, new_meta(address="人民路2号")).status_code == 201
    assert_limited(post(api, new_meta(address="人民路3号")), "Too many reports from this account")
    # The phone sends the first one again (its answer was lost): the stored case, not a 429.
    replay = post(api, first)
    assert replay.status_code == 200 and replay.json["client_id"] == first["client_id"]
    # A JSON body (no photos) is recognised as a replay too.
    as_json = api.client.post("/api/v1/reports", json=first, headers=api.headers)
    assert as_json.status_code == 200
    # Another resident is not affected.
    assert post(api_as(county.resident2), new_meta(address="人民路4号")).status_code == 201


def test_refused_reports_do_not_count(app, api_as, county):
    limit(app, REPORTS_PER_ACCOUNT="1 per hour")
    api = api_as(county.resident)
    assert post(api, new_meta()).status_code == 422  # no location
    assert post(api, new_meta(address="人民路1号")).status_code == 201


def test_residents_share_a_limit_per_address(app, api_as, county):
    limit(app, REPORTS_PER_IP="2 per hour")
    assert post(api_as(county.resident), new_meta(address="人民路1号")).status_code == 201
    assert post(api_as(county.resident2), new_meta(address="人民路2号")).status_code == 201
    assert_limited(post(api_as(county.resident2), new_meta(address="人民路3号")), "Too many reports from this network")
    assert post(api_as(county.resident2), new_meta(address="人民路3号"), ip="10.0.0.2").status_code == 201


@pytest.mark.parametrize("role", ["worker", "staff_san", "dispatcher"])
def test_staff_are_never_limited(app, api_as, county, role):
    # A worker's phone sends a day offline at once, from an office shared with others.
    limit(app, REPORTS_PER_ACCOUNT="1 per hour", REPORTS_PER_IP="1 per hour")
    api = api_as(getattr(county, role))
    for n in range(3):
        assert post(api, new_meta(address=f"人民路{n}号")).status_code == 201


def test_each_app_counts_on_its_own(app, client, county):
    from civic import create_app

    limit(app, LOGIN_PER_NAME_IP="1 per minute")
    token_login(client, "worker")
    assert token_login(client, "worker").status_code == 429
    other = create_app({**app.config})
    assert other.extensions["civic_limiter"] is not app.extensions["civic_limiter"]
    with other.app_context():
        assert other.test_client().post("/api/v1/auth/token", json={"username": "worker", "password": PASSWORD},
                                        environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 201


def test_a_body_the_parser_refuses_is_still_a_413(app, api_as, county):
    # The limits read the report's meta to recognise a replay; a meta part over the
    # form memory limit must still get the view's answer, not a half-read body.
    api = api_as(county.resident)
    response = post(api, new_meta(address="x", description="a" * 1_200_000))
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"


# -- issue 17, item 6: nobody can lock an account out; guessing from everywhere asks for a texted code ---

def test_wrong_passwords_from_one_address_do_not_lock_out_another(app, client, county):
    limit(app, LOGIN_PER_NAME_IP="3 per minute")
    for _ in range(5):
        token_login(client, "admin", ip="10.9.9.9")
    assert_limited(token_login(client, "admin", ip="10.9.9.9"), "Too many failed logins for this account")
    assert token_login(client, "admin", PASSWORD, ip="10.0.0.7").status_code == 201


def test_after_many_wrong_passwords_from_everywhere_the_right_one_needs_a_texted_code(app, client, county):
    import re

    from civic.push.jobs import push_state

    limit(app, LOGIN_PER_NAME="3 per hour")
    for n in range(3):
        assert token_login(client, "worker", ip=f"10.1.0.{n}").status_code == 401
    asked = token_login(client, "worker", PASSWORD, ip="10.2.0.1")
    assert asked.status_code == 401 and asked.json["error"]["code"] == "second_factor_required"
    assert asked.json["error"]["field"] == "code" and asked.json["error"]["phone"] == "138****0004"
    masked, text = push_state(app).sms.sent[-1]
    assert masked == "138****0004"
    code = re.search(r"验证码 (\d{6})", text).group(1)
    # A wrong password with a code is still a wrong password; a wrong code is refused on its field.
    with_code = {"username": "worker", "password": PASSWORD, "code": "000000" if code != "000000" else "111111"}
    wrong = client.post("/api/v1/auth/token", json=with_code, environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert wrong.status_code == 422 and wrong.json["error"]["field"] == "code"
    right = client.post("/api/v1/auth/token", json={**with_code, "code": code}, environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert right.status_code == 201


def test_the_site_asks_for_the_texted_code_too(app, client, county):
    import re

    from civic.push.jobs import push_state

    limit(app, LOGIN_PER_NAME="2 per hour")
    for n in range(2):
        client.post("/auth/login", data={"username": "worker", "password": "nope"}, environ_base={"REMOTE_ADDR": f"10.3.0.{n}"})
    page = client.post("/auth/login", data={"username": "worker", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "10.4.0.1"})
    assert page.status_code == 401
    html = page.get_data(as_text=True)
    assert 'name="code"' in html and "138****0004" in html
    code = re.search(r"验证码 (\d{6})", push_state(app).sms.sent[-1][1]).group(1)
    done = client.post("/auth/login", data={"username": "worker", "password": PASSWORD, "code": code},
                       environ_base={"REMOTE_ADDR": "10.4.0.1"})
    assert done.status_code == 302


def test_refused_photo_uploads_count_against_the_limit(app, api_as, county):
    """Issue 17, item 9: decoding a photo to refuse it costs the server; repeating that is not free."""
    limit(app, REPORTS_PER_ACCOUNT="2 per hour")
    api = api_as(county.resident)
    broken = (b"\xff\xd8\xff\xe0" + b"\x00" * 2000, "broken.jpg")
    for _ in range(2):
        refused = api.post_report(new_meta(address="人民路1号"), [broken], environ_base={"REMOTE_ADDR": "10.0.0.1"})
        assert 400 <= refused.status_code < 500 and refused.status_code != 429
    assert_limited(api.post_report(new_meta(address="人民路1号"), environ_base={"REMOTE_ADDR": "10.0.0.1"}),
                   "Too many reports from this account")
