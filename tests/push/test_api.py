"""The push API: the public key, subscribing and unsubscribing, preferences, and
the supervisors' view of who can be reached by push."""
import os
from base64 import urlsafe_b64decode

import pytest
from sqlalchemy import select

from civic.extensions import db
from civic.push.jobs import push_state
from civic.push.models import PushSubscription
from tests.push.fake_service import b64url


def subs():
    db.session.expire_all()
    return db.session.scalars(select(PushSubscription).order_by(PushSubscription.id)).all()


def post_sub(api, body, **kw):
    return api.client.post("/api/v1/push/subscriptions", json=body, headers=api.headers, **kw)


# -- the key ---------------------------------------------------------------------------

def test_public_key_needs_no_login_and_is_an_uncompressed_p256_point(app, client):
    body = client.get("/api/v1/push/key").json
    assert body == {"public_key": push_state(app).keys.application_server_key}
    assert "=" not in body["public_key"]
    raw = urlsafe_b64decode(body["public_key"] + "=" * (-len(body["public_key"]) % 4))
    assert len(raw) == 65 and raw[0] == 4
    assert client.get("/api/v1/client-config").json["push"] == body


def test_unreadable_key_is_a_503_and_a_null_in_client_config(app, client, tmp_path):
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("garbage")
    app.config["VAPID_PRIVATE_KEY_FILE"] = str(bad)
    response = client.get("/api/v1/push/key")
    assert response.status_code == 503 and response.json["error"]["code"] == "push_unavailable"
    assert client.get("/api/v1/client-config").json["push"] == {"public_key": None}


# -- subscribing ---------------------------------------------------------------------------

def test_subscribe_new_then_the_same_again(county, api_as, fake_push):
    api = api_as(county.worker)
    browser = fake_push.subscriber("w1")
    first = post_sub(api, browser.json(device_id="phone-1"), environ_base={"HTTP_USER_AGENT": "Chrome/130"})
    assert first.status_code == 201
    assert first.json["endpoint"] == browser.endpoint and first.json["device_id"] == "phone-1"
    assert first.json["active"] is True and first.json["last_success_at"] is None
    again = post_sub(api, browser.json(device_id="phone-1"), environ_base={"HTTP_USER_AGENT": "Chrome/131"})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    [sub] = subs()
    assert (sub.user_id, sub.device_id, sub.user_agent) == (county.worker.id, "phone-1", "Chrome/131")
    assert sub.p256dh == browser.json()["keys"]["p256dh"] and sub.auth == browser.json()["keys"]["auth"]


def test_an_endpoint_moves_to_whoever_subscribes_it_last(county, api_as, fake_push):
    browser = fake_push.subscriber("shared")
    assert post_sub(api_as(county.worker), browser.json()).status_code == 201
    assert post_sub(api_as(county.other_worker), browser.json()).status_code == 200
    assert [s.user_id for s in subs()] == [county.other_worker.id]


def test_a_new_endpoint_of_the_same_device_replaces_the_old(county, api_as, fake_push):
    api = api_as(county.worker)
    assert post_sub(api, fake_push.subscriber("old").json(device_id="dev-1")).status_code == 201
    assert post_sub(api, fake_push.subscriber("other").json(device_id="dev-2")).status_code == 201
    assert post_sub(api, fake_push.subscriber("new").json(device_id="dev-1")).status_code == 201
    assert sorted(s.endpoint.rsplit("/", 1)[1] for s in subs()) == ["new", "other"]


def test_subscribing_push_never_removes_another_users_subscription(app, county, api_as, fake_push):
    victim = fake_push.subscriber("victim").json(device_id="dev-victim")
    assert post_sub(api_as(county.worker), victim).status_code == 201
    mine = fake_push.subscriber("mine").json(device_id="dev-victim")  # the same device id, another account
    assert post_sub(api_as(county.other_worker), mine).status_code == 201
    owners = sorted(s.user_id for s in subs())
    assert owners == sorted([county.worker.id, county.other_worker.id])

def test_https_endpoints_are_accepted(county, api_as, fake_push):
    body = fake_push.subscriber("x").json(endpoint="https://fcm.googleapis.com/fcm/send/abc:APA91b")
    assert post_sub(api_as(county.worker), body).status_code == 201


@pytest.mark.parametrize("app", [{"TESTING": False, "PUSH_ALLOW_HTTP_LOCALHOST": False}], indirect=True)
def test_http_localhost_only_when_allowed(app, county, api_as, fake_push):
    api = api_as(county.worker)
    response = post_sub(api, fake_push.subscriber("x").json())
    assert response.status_code == 422 and response.json["error"]["code"] == "https_required"
    app.config["PUSH_ALLOW_HTTP_LOCALHOST"] = True
    assert post_sub(api, fake_push.subscriber("x").json()).status_code == 201


def _valid():
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962,
                                                                              PublicFormat.UncompressedPoint)
    return {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}}


def _with(**changes):
    body = _valid()
    for key, value in changes.items():
        if key.startswith("keys_"):
            if value is ...:
                del body["keys"][key[5:]]
            else:
                body["keys"][key[5:]] = value
        elif value is ...:
            del body[key]
        else:
            body[key] = value
    return body


BAD = [
    (_with(endpoint=...), "endpoint"),
    (_with(endpoint=""), "endpoint"),
    (_with(endpoint=42), "endpoint"),
    (_with(endpoint=["https://push.example/x"]), "endpoint"),
    (_with(endpoint="push.example/abc"), "endpoint"),
    (_with(endpoint="http://push.example/abc"), "endpoint"),
    (_with(endpoint="ftp://push.example/abc"), "endpoint"),
    (_with(endpoint="https:///abc"), "endpoint"),
    (_with(endpoint="https://user:pw@push.example/abc"), "endpoint"),
    (_with(endpoint="https://push.example:99999/abc"), "endpoint"),
    (_with(endpoint="https://push.example/a b"), "endpoint"),
    (_with(endpoint="https://push.example/\u63a8\u9001"), "endpoint"),
    (_with(endpoint="https://push.example/" + "a" * 2100), "endpoint"),
    (_with(endpoint="http://10.0.0.1/abc"), "endpoint"),
    (_with(keys=...), "keys"),
    (_with(keys="p256dh,auth"), "keys"),
    (_with(keys=[1, 2]), "keys"),
    (_with(keys_p256dh=...), "keys.p256dh"),
    (_with(keys_p256dh=None), "keys.p256dh"),
    (_with(keys_p256dh=12345), "keys.p256dh"),
    (_with(keys_p256dh="not base64!"), "keys.p256dh"),
    (_with(keys_p256dh="BAAA+/xx"), "keys.p256dh"),      # standard base64, not base64url
    (_with(keys_p256dh="A"), "keys.p256dh"),             # no whole byte
    (_with(keys_p256dh=b64url(b"\x04" + b"\x01" * 32)), "keys.p256dh"),   # 33 bytes
    (_with(keys_p256dh=b64url(b"\x04" + b"\x00" * 64)), "keys.p256dh"),   # 65 bytes, not on the curve
    (_with(keys_p256dh=b64url(b"\x05" + b"\x01" * 64)), "keys.p256dh"),   # not an uncompressed point
    (_with(keys_auth=...), "keys.auth"),
    (_with(keys_auth=True), "keys.auth"),
    (_with(keys_auth=b64url(os.urandom(15))), "keys.auth"),
    (_with(keys_auth=b64url(os.urandom(32))), "keys.auth"),
    (_with(keys_auth="%%%"), "keys.auth"),
    (_with(device_id=17), "device_id"),
    (_with(device_id="x" * 65), "device_id"),
    (_with(device_id="a\x00b"), "device_id"),
]


@pytest.mark.parametrize("body, field", BAD, ids=[f"{n}-{field}" for n, (_b, field) in enumerate(BAD)])
def test_a_bad_subscription_is_a_422_naming_the_field(county, api_as, body, field):
    response = post_sub(api_as(county.worker), body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["error"]["field"] == field
    assert subs() == []


def test_a_valid_body_with_extras_passes(county, api_as):
    body = _with(expirationTime=1700000000000, device_id=None, unknown="ignored")
    body["keys"]["p256dh"] += "="  # padding is tolerated
    assert post_sub(api_as(county.worker), body).status_code == 201


@pytest.mark.parametrize("raw", ["[]", "null", '"x"', "{", ""])
def test_not_a_json_object_is_a_400(county, api_as, raw):
    api = api_as(county.worker)
    response = api.client.post("/api/v1/push/subscriptions", data=raw, content_type="application/json",
                               headers=api.headers)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_json"


def test_subscribing_needs_a_login(client):
    assert client.post("/api/v1/push/subscriptions", json=_valid()).status_code == 401
    assert client.delete("/api/v1/push/subscriptions", json={"endpoint": "https://x/y"}).status_code == 401
    assert client.get("/api/v1/me/notifications").status_code == 401
    assert client.put("/api/v1/me/notifications", json={}).status_code == 401
    assert client.get("/api/v1/push/status").status_code == 401


# -- unsubscribing ----------------------------------------------------------------------------

def test_delete_removes_only_my_own(county, api_as, fake_push):
    mine, theirs = api_as(county.worker), api_as(county.other_worker)
    a, b = fake_push.subscriber("a"), fake_push.subscriber("b")
    post_sub(mine, a.json())
    post_sub(theirs, b.json())

    def delete(api, body):
        return api.client.delete("/api/v1/push/subscriptions", json=body, headers=api.headers)

    assert delete(mine, {"endpoint": b.endpoint}).status_code == 204      # not mine: left alone
    assert delete(mine, {"endpoint": "https://unknown.example/x"}).status_code == 204
    assert len(subs()) == 2
    assert delete(mine, {"endpoint": a.endpoint}).status_code == 204
    assert [s.endpoint for s in subs()] == [b.endpoint]
    assert delete(mine, {"endpoint": a.endpoint}).status_code == 204      # twice is fine
    for body, status in [({}, 422), ({"endpoint": 5}, 422), ({"endpoint": None}, 422)]:
        response = delete(mine, body)
        assert response.status_code == status and response.json["error"]["field"] == "endpoint"


# -- preferences ------------------------------------------------------------------------------

def test_preferences_default_then_change_some(county, api_as):
    api = api_as(county.worker)
    assert api.get("/api/v1/me/notifications").json == {"mute_at_night": False, "night": "22:00-07:00",
                                                        "resident_updates": False}

    def put(body):
        return api.client.put("/api/v1/me/notifications", json=body, headers=api.headers)

    assert put({"mute_at_night": True}).json == {"mute_at_night": True, "night": "22:00-07:00",
                                                 "resident_updates": False}
    assert put({"night": "23:30-06:15", "resident_updates": True}).json == {
        "mute_at_night": True, "night": "23:30-06:15", "resident_updates": True}
    assert api.get("/api/v1/me/notifications").json["night"] == "23:30-06:15"
    assert api_as(county.other_worker).get("/api/v1/me/notifications").json["mute_at_night"] is False


@pytest.mark.parametrize("body, field", [
    ({"mute_at_night": "yes"}, "mute_at_night"),
    ({"mute_at_night": 1}, "mute_at_night"),
    ({"mute_at_night": None}, "mute_at_night"),
    ({"resident_updates": "true"}, "resident_updates"),
    ({"night": "22:00"}, "night"),
    ({"night": "24:00-07:00"}, "night"),
    ({"night": "22:60-07:00"}, "night"),
    ({"night": "7:00-22:00"}, "night"),
    ({"night": "22:00-22:00"}, "night"),
    ({"night": 2200}, "night"),
    ({"night": None}, "night"),
    ({"night": "22:00-07:00,23:00-01:00"}, "night"),
])
def test_bad_preferences_are_a_422_and_change_nothing(county, api_as, body, field):
    api = api_as(county.worker)
    response = api.client.put("/api/v1/me/notifications", json={"mute_at_night": True, **body}, headers=api.headers)
    assert response.status_code == 422 and response.json["error"]["field"] == field
    assert api.get("/api/v1/me/notifications").json["mute_at_night"] is False


# -- the supervisors' view ------------------------------------------------------------------------

def test_push_status_is_for_oversight_roles_only(county, api_as):
    for user in (county.worker, county.staff_san, county.resident):
        response = api_as(user).get("/api/v1/push/status")
        assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    for user in (county.dispatcher, county.supervisor, county.admin):
        assert api_as(user).get("/api/v1/push/status").status_code == 200


def test_push_status_per_user(county, api_as, subscribe, make_case, fake_push):
    from tests.conftest import new_action, post_action

    subscribe(county.worker, "w1")
    subscribe(county.worker, "w2")
    subscribe(county.staff_san, "san")
    fake_push.answer("san", 410)
    case = make_case("accepted")
    assert post_action(api_as(county.dispatcher), case.id,
                       new_action("dispatch", assignee_id=county.worker.id)).status_code == 201
    other = make_case("accepted")
    assert post_action(api_as(county.dispatcher), other.id, new_action("dispatch", department="SAN")).status_code == 201

    users = api_as(county.supervisor).get("/api/v1/push/status").json["users"]
    assert {u["role"] for u in users} == {"admin", "supervisor", "dispatcher", "grid_worker", "dept_staff"}
    by_name = {u["username"]: u for u in users}
    worker, san, trf = by_name["worker"], by_name["staff_san"], by_name["staff_trf"]
    assert set(worker) == {"id", "username", "display_name", "role", "subscriptions", "push_active",
                           "last_success_at", "last_failure_at", "last_error"}
    assert (worker["subscriptions"], worker["push_active"], worker["last_error"]) == (2, True, None)
    assert worker["last_success_at"].endswith("Z") and worker["last_failure_at"] is None
    assert (san["subscriptions"], san["push_active"], san["last_success_at"]) == (0, False, None)
    assert san["last_error"] == "HTTP 410" and san["last_failure_at"].endswith("Z")  # kept after the 410
    assert (trf["subscriptions"], trf["push_active"], trf["last_failure_at"]) == (0, False, None)

    only = api_as(county.dispatcher).get("/api/v1/push/status?role=grid_worker").json["users"]
    assert [u["username"] for u in only] == ["worker", "worker2"]
    residents = api_as(county.dispatcher).get("/api/v1/push/status?role=resident").json["users"]
    assert [u["username"] for u in residents] == ["resident", "resident2"]
    bad = api_as(county.dispatcher).get("/api/v1/push/status?role=mayor")
    assert bad.status_code == 422 and bad.json["error"]["field"] == "role"
