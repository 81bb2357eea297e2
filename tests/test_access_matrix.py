"""Who may use which route, declared once (civic/routes.py's ACCESS): every route
of the app's URL map × every role (anonymous, resident, grid_worker, dept_staff,
dispatcher, supervisor, admin) is allowed or denied by that table, and the test
asks each route as each role. A route added without a decision fails the suite
(and the app refuses to start in debug and in the tests).

Allowed: any answer but 401, 403 or a redirect to the login page (a 400 or 422
for the empty request sent is fine; logging in may answer 401 for the wrong
credentials), and never a 5xx. Denied: 401 or 403 (an
anonymous visitor of a page is sent to log in). The sample case is one every
signed-in role may see (the resident's report, in the worker's grid, for the
staff member's department), so object-level refusals do not hide route-level
ones; those are tested on their own (tests/test_privacy.py, tests/api/)."""
import hashlib
import re
import secrets
import uuid

import pytest

from civic.accounts.models import LoginSession, User
from civic.accounts.services import issue_token
from civic.cases.models import ReplyTemplate
from civic.extensions import db
from civic.open311.models import ApiKey
from civic.posters.models import Poster
from civic.routes import ACCESS
from civic.rewards.models import RewardItem

ROLES = ("anonymous", "resident", "grid_worker", "dept_staff", "dispatcher", "supervisor", "admin")
SIGNED_IN = set(ROLES) - {"anonymous"}
STAFF = SIGNED_IN - {"resident"}
OVERSIGHT = {"dispatcher", "supervisor", "admin"}
MANAGERS = {"supervisor", "admin"}

PUBLIC = set(ROLES)
RULES = {
    "public": PUBLIC, "signed_in": SIGNED_IN, "resident": {"resident"}, "staff": STAFF, "oversight": OVERSIGHT,
    "managers": MANAGERS, "admin": {"admin"},
    # Open311 filing: another system's api_key, never a person's login (everyone is refused without a key).
    "api_key": set(),
}

# The app's own table (civic/routes.py: its one gate enforces it); the role sets
# above are this test's own reading of each rule, and every route is asked as
# every role against them.
DECISIONS = ACCESS


USERNAMES = {"resident": "resident", "grid_worker": "worker", "dept_staff": "staff_san", "dispatcher": "dispatcher",
             "supervisor": "supervisor", "admin": "admin"}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_a_decision(app):
    missing = sorted(f"{method} {rule.rule} ({rule.endpoint})" for rule, method in routes(app)
                     if (rule.endpoint, method) not in DECISIONS)
    assert not missing, "routes without an access decision in DECISIONS:\n" + "\n".join(missing)
    stale = set(DECISIONS) - {(rule.endpoint, method) for rule, method in routes(app)}
    assert not stale, f"decisions for routes that no longer exist: {sorted(stale)}"
    assert set(DECISIONS.values()) <= set(RULES)


@pytest.fixture
def samples(county, make_case):
    """A value for every path parameter: objects every signed-in role may see."""
    case = make_case("dispatched", grid="L2-1-1", category="E0102", reporter=county.resident)
    poster = Poster(code="TESTPOST", name="测试海报", kind="park", grid_id=county.grids["L2-1-1"].id)
    item = RewardItem(code="salt", name="食盐一袋", cost=30, stock=5)
    key = ApiKey(name="matrix", key_hash="0" * 64, prefix="000000")
    target = User(username="matrix_target", role="grid_worker", display_name="靶子", password_hash="!")  # deactivated
    reply = ReplyTemplate(action="handle", title="已处置", text="已处置完毕")
    db.session.add_all([poster, item, key, target, reply])
    db.session.commit()
    return {"case_id": case.id, "ref": case.ref, "code": poster.code, "item_id": item.id, "key_id": key.id,
            "key": "00/missing.jpg", "fmt": "json", "service_code": "E0102", "service_request_id": case.ref,
            "token": str(uuid.uuid4()), "user_id": target.id,
            "department_id": county.departments["SAN"].id, "template_id": reply.id,
            "pack": "county", "z": 14, "x": 13480, "y": 6402}


def url_for_rule(rule, samples):
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(r"<(?:[^:>]+:)?%s>" % name, str(samples[name]), url)
    if rule.endpoint == "auth.set_language":
        url = "/auth/lang/zh"
    return url


def ask(app, county, role, method, url):
    """The route asked once as `role`, with a fresh session or token (a logout or a
    token revocation by an earlier request must not change the next answer)."""
    client = app.test_client()
    headers = {}
    if role != "anonymous":
        user = getattr(county, {"grid_worker": "worker"}.get(role, role), None) or _user(role)
        if url.startswith("/api/"):
            token = issue_token(user)
            db.session.commit()
            headers["Authorization"] = f"Bearer {token}"
        else:
            key = secrets.token_urlsafe(16)  # a login session, as accounts.sessions.sign_in starts one
            db.session.add(LoginSession(user=user, key_hash=hashlib.sha256(key.encode()).hexdigest()))
            db.session.commit()
            with client.session_transaction() as session:
                session["_user_id"] = f"s:{key}"
                session["_fresh"] = True
    if url.startswith("/api/") and method != "GET":
        return client.open(url, method=method, headers=headers, json={})
    return client.open(url, method=method, headers=headers, data={} if method != "GET" else None)


def _user(role):
    from sqlalchemy import select

    from civic.accounts.models import User

    return db.session.scalar(select(User).where(User.username == USERNAMES[role]))


# Logging in answers 401 for wrong credentials: that says nothing about the role, only a 403 would.
CREDENTIALS = {("accounts_api.create_token", "POST")}


def denied(response, credentials=False):
    location = response.headers.get("Location", "")
    if credentials:
        return response.status_code == 403
    # Flask-Login sends a visitor who must log in to /auth/login?next=…; a logout goes there without `next`.
    return response.status_code in (401, 403) or (response.status_code in (302, 303) and "/auth/login" in location
                                                   and "next=" in location)


@pytest.mark.parametrize("app", [{"RATELIMIT_ENABLED": False}], indirect=True)
def test_each_route_as_each_role(app, county, samples):
    county.dept_staff = county.staff_san
    wrong = []
    for rule, method in sorted(routes(app), key=lambda r: (r[0].rule, r[1])):
        allowed_roles = RULES[DECISIONS[(rule.endpoint, method)]]
        url = url_for_rule(rule, samples)
        for role in ROLES:
            response = ask(app, county, role, method, url)
            if response.status_code >= 500:
                wrong.append(f"{method} {url} as {role}: {response.status_code}")
            elif (role in allowed_roles) == denied(response, (rule.endpoint, method) in CREDENTIALS):
                expected = "allowed" if role in allowed_roles else "denied"
                wrong.append(f"{method} {url} as {role}: {response.status_code} "
                             f"{response.headers.get('Location', '')} (should be {expected})")
    assert not wrong, "\n".join(wrong)


def _bare_app(tmp_path, **config):
    from civic import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "x",
                       "PHOTO_DIR": str(tmp_path), "RATELIMIT_STORAGE_URI": "memory://", **config})


def test_a_route_without_a_rule_stops_the_app_in_tests_and_debug(tmp_path, monkeypatch):
    from civic import routes

    monkeypatch.delitem(routes.ACCESS, ("board.index", "GET"))
    with pytest.raises(RuntimeError, match="board.index"):
        _bare_app(tmp_path, TESTING=True)
    with pytest.raises(RuntimeError, match="board.index"):
        _bare_app(tmp_path, DEBUG=True)


def test_a_route_without_a_rule_is_refused_in_production(tmp_path, monkeypatch, caplog):
    from civic import routes

    monkeypatch.delitem(routes.ACCESS, ("board.index", "GET"))
    application = _bare_app(tmp_path)  # neither testing nor debug: it starts, says so, and refuses the route
    assert "routes without an access rule" in caplog.text
    assert application.test_client().get("/board/").status_code == 403
