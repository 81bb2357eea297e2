"""The security settings (issue 10's list), each checked as a browser or a
client would meet it: CSRF on forms, cookie flags, a Content-Security-Policy
with no inline script (and no inline script in any template), modern password
hashes, photos with a fixed content type and nosniff, no stack trace to users."""
import re
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from civic import create_app
from civic.accounts.models import User
from civic.extensions import db
from tests.conftest import PASSWORD

TEMPLATES = Path(__file__).resolve().parent.parent / "civic" / "templates"


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_forms_without_the_csrf_token_are_refused(app, client, county, make_case):
    case = make_case("dispatched")
    assert client.post("/auth/login", data={"username": "supervisor", "password": PASSWORD}).status_code == 400
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', page)
    token = next(t for t in token.groups() if t)
    response = client.post("/auth/login", data={"username": "supervisor", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    for url in (f"/cases/{case.ref}/actions", "/hotline/", "/dashboard/queue", "/posters/new", "/rewards/codes",
                "/auth/logout"):
        assert client.post(url, data={"action": "accept"}).status_code == 400, url
    # The API's cookie writes need the header; bearer tokens need none.
    assert client.post("/api/v1/devices/heartbeat", json={"device_id": "x"}).status_code == 400


def test_session_cookies_are_httponly_and_samesite(client, county):
    response = client.post("/auth/login", data={"username": "supervisor", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_behind_tls(monkeypatch, tmp_path, database_urls, backend):
    monkeypatch.setenv("CIVIC_SECURE_COOKIES", "1")
    secured = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_urls[0][backend],
                          "PHOTO_DIR": str(tmp_path)})
    assert secured.config["SESSION_COOKIE_SECURE"] and secured.config["REMEMBER_COOKIE_SECURE"]


def test_the_content_security_policy_allows_no_inline_script(client):
    for url in ("/auth/login", "/board/", "/field/", "/api/docs"):
        policy = client.get(url).headers["Content-Security-Policy"]
        script = re.search(r"script-src ([^;]+)", policy)[1]
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert "frame-ancestors 'none'" in policy


def test_no_template_has_an_inline_script():
    inline = []
    for template in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", template.read_text(encoding="utf-8")):
            if "src=" not in tag and 'type="application/json"' not in tag:
                inline.append(f"{template.relative_to(TEMPLATES)}: {tag}")
    assert not inline


def test_passwords_are_hashed_with_a_modern_scheme(app, county):
    user = User(username="new", role="resident", password_hash="")
    user.set_password("correct horse battery staple")
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:sha256:"))
    if user.password_hash.startswith("pbkdf2"):
        assert int(user.password_hash.split(":")[2].split("$")[0]) >= 600_000
    assert user.check_password("correct horse battery staple") and not user.check_password("wrong")
    assert generate_password_hash("x").startswith("scrypt:")  # werkzeug's default, which the app keeps


def test_photos_are_served_with_a_fixed_type_and_nosniff(app, client, api_as, county):
    from tests.conftest import new_meta, photo_path, point_in

    lat, lng = point_in("L2-1-1")
    api = api_as(county.resident)
    response = api.post_report(new_meta(lat=lat, lng=lng), photos=[photo_path("gps/DSCN0010.jpg")])
    assert response.status_code == 201
    url = response.get_json()["photos"][0]["url"]
    photo = client.get(url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"


def test_no_stack_trace_reaches_a_user(app, client, monkeypatch):
    from civic import routes

    monkeypatch.setitem(routes.ACCESS, ("boom", "GET"), "public")  # every route has a rule, this one too

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("secret internals: /srv/civic/app.py line 42")

    for accept in ("text/html", "application/json"):
        response = client.get("/boom-for-test", headers={"Accept": accept})
        body = response.get_data(as_text=True)
        assert response.status_code == 500
        assert "Traceback" not in body and "secret internals" not in body


def test_the_secret_key_comes_from_the_environment_or_the_instance_folder(tmp_path, monkeypatch, database_urls,
                                                                         backend):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from civic.config import from_environment

    first = from_environment(str(tmp_path))["SECRET_KEY"]
    assert first and first == from_environment(str(tmp_path))["SECRET_KEY"]  # made once, kept in the instance folder
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert from_environment(str(tmp_path))["SECRET_KEY"] == "from-the-environment"
    assert db is not None
