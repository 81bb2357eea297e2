"""Who may use which route, declared once: every route of the app's URL map ×
every role (anonymous, resident, grid_worker, dept_staff, dispatcher,
supervisor, admin) is allowed or denied by the table below, and the test asks
each route as each role. A route added without a decision fails the suite.

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

from civic.accounts.models import LoginSession
from civic.accounts.services import issue_token
from civic.extensions import db
from civic.open311.models import ApiKey
from civic.posters.models import Poster
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

DECISIONS = {
    # the site
    ("main.home", "GET"): "signed_in",
    ("main.case_detail", "GET"): "signed_in",
    ("main.case_action", "POST"): "signed_in",
    ("auth.login", "GET"): "public", ("auth.login", "POST"): "public",
    ("auth.logout", "POST"): "signed_in", ("auth.logout_everywhere", "POST"): "signed_in",
    ("auth.set_language", "GET"): "public",
    ("auth.register_page", "GET"): "public", ("auth.register", "POST"): "public",
    ("auth.send_code", "POST"): "public",
    ("board.index", "GET"): "public", ("board.case", "GET"): "public",
    ("field.shell", "GET"): "public", ("field.manifest", "GET"): "public", ("field.service_worker", "GET"): "public",
    ("media.photo", "GET"): "public",  # capability URLs: 128 random bits each
    ("posters.scan", "GET"): "public",
    ("posters.index", "GET"): "managers", ("posters.new", "GET"): "managers", ("posters.create", "POST"): "managers",
    ("posters.deactivate", "POST"): "managers", ("posters.replace", "POST"): "managers",
    ("posters.print_one", "GET"): "managers", ("posters.print_grid", "GET"): "managers",
    ("rewards.catalogue", "GET"): "managers", ("rewards.add_item", "POST"): "managers",
    ("rewards.update_item", "POST"): "managers",
    ("rewards.codes", "GET"): "staff", ("rewards.codes", "POST"): "staff",
    ("hotline.form", "GET"): "oversight", ("hotline.submit", "POST"): "oversight",
    ("hotline.grids", "GET"): "oversight", ("hotline.locate", "GET"): "oversight",
    ("open311_keys.index", "GET"): "admin", ("open311_keys.create", "POST"): "admin",
    ("open311_keys.revoke", "POST"): "admin",
    ("admin_messages.index", "GET"): "admin",
    **{(f"dashboard.{name}", "GET"): "oversight" for name in (
        "queue", "push", "sync", "sync_json", "performance", "performance_export", "ranking", "report",
        "report_export", "hot", "grid_map", "case_list")},
    ("dashboard.queue_bulk", "POST"): "oversight",
    # the API
    ("docs.page", "GET"): "public", ("docs.openapi_json", "GET"): "public",
    ("api.create_token", "POST"): "public", ("api.revoke_token", "DELETE"): "signed_in",
    ("api.request_code", "POST"): "public", ("api.register", "POST"): "public",
    ("api.reset_password", "POST"): "public",
    ("api.me", "GET"): "signed_in", ("api.delete_me", "DELETE"): "resident", ("api.export_me", "GET"): "signed_in",
    ("api.logout_everywhere", "POST"): "signed_in",
    ("api.my_grids", "GET"): "signed_in",
    ("api.get_notification_preferences", "GET"): "signed_in", ("api.put_notification_preferences", "PUT"): "signed_in",
    ("api.my_points", "GET"): "resident", ("api.set_leaderboard", "PUT"): "resident",
    ("api.categories", "GET"): "public", ("api.client_config", "GET"): "public",
    ("api.create_report", "POST"): "signed_in", ("api.list_reports", "GET"): "signed_in",
    ("api.get_report", "GET"): "signed_in", ("api.get_case", "GET"): "signed_in",
    ("api.post_action", "POST"): "signed_in", ("api.tasks", "GET"): "signed_in",
    ("api.heartbeat", "POST"): "signed_in",
    ("api.push_key", "GET"): "public", ("api.push_subscribe", "POST"): "signed_in",
    ("api.push_unsubscribe", "DELETE"): "signed_in", ("api.push_status", "GET"): "oversight",
    ("posters.api_poster", "GET"): "public",
    ("api.reward_catalogue", "GET"): "signed_in", ("api.reward_leaderboard", "GET"): "public",
    ("api.create_redemption", "POST"): "resident",
    ("api.check_redemption", "GET"): "staff", ("api.use_redemption", "POST"): "staff",
    # Open311 GeoReport v2
    **{(f"open311.{name}", "GET"): "public" for name in (
        "discovery", "services", "service_definition", "get_requests", "get_request", "token")},
    ("open311.post_request", "POST"): "api_key",
}

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
    db.session.add_all([poster, item, key])
    db.session.commit()
    return {"case_id": case.id, "ref": case.ref, "code": poster.code, "item_id": item.id, "key_id": key.id,
            "key": "00/missing.jpg", "fmt": "json", "service_code": "E0102", "service_request_id": case.ref,
            "token": str(uuid.uuid4())}


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
CREDENTIALS = {("api.create_token", "POST")}


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
