"""POST /api/v1/devices/heartbeat: one row per device, upserted; bad input is a
422 naming the field and writes nothing."""
import threading

import pytest
from sqlalchemy import func, select

from civic.devices.models import Device
from civic.devices.services import record_heartbeat
from civic.errors import ApiError
from civic.extensions import db

DEVICE = "3f1c2a9e-5d7b-4c1e-9a0b-0123456789ab"


def beat(**fields):
    body = {"device_id": DEVICE, "app_version": "0.4.0", "pending": 2, "rejected": 0,
            "oldest_pending_at": "2026-11-20T09:30:00+08:00", "last_sync_at": "2026-11-20T02:00:00Z",
            "storage_used": 12_345_678, "storage_quota": 2_000_000_000, "persisted": True}
    body.update(fields)
    return body


def post(api, body, **headers):
    return api.client.post("/api/v1/devices/heartbeat", json=body, headers={**api.headers, **headers})


def devices():
    db.session.expire_all()
    return db.session.scalars(select(Device)).all()


def test_first_heartbeat_makes_the_row(county, api_as):
    response = post(api_as(county.worker), beat(), **{"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/130"})
    assert response.status_code == 200
    assert response.json["ok"] is True and response.json["server_time"].endswith("Z")
    [device] = devices()
    assert device.device_id == DEVICE and device.user_id == county.worker.id
    assert (device.app_version, device.pending, device.rejected) == ("0.4.0", 2, 0)
    assert device.oldest_pending_at.isoformat() == "2026-11-20T01:30:00"  # naive UTC
    assert device.last_sync_at.isoformat() == "2026-11-20T02:00:00"
    assert (device.storage_used, device.storage_quota, device.persisted) == (12_345_678, 2_000_000_000, True)
    assert device.user_agent.startswith("Mozilla/5.0 (Linux; Android 14)")
    assert device.first_seen_at == device.last_seen_at


def logged_in_on(client, user, device_id):
    """`user`'s API client with a token issued for `device_id`, as the field app logs in on a phone."""
    from civic.accounts.services import issue_token
    from tests.conftest import Api

    token = issue_token(user, device_id=device_id)
    db.session.commit()
    return Api(client, token)


def test_later_heartbeats_update_it_and_the_device_follows_its_user(client, county, api_as):
    assert post(api_as(county.worker), beat()).status_code == 200
    [first] = devices()
    seen = first.first_seen_at
    # A phone shared by two workers: the second logs in on it, and the device is theirs now.
    response = post(logged_in_on(client, county.other_worker, DEVICE),
                    beat(pending=0, oldest_pending_at=None, persisted=None, storage_used=None),
                    **{"User-Agent": "x" * 1000})
    assert response.status_code == 200
    [device] = devices()
    assert device.user_id == county.other_worker.id and device.pending == 0
    assert device.oldest_pending_at is None and device.persisted is None and device.storage_used is None
    assert device.first_seen_at == seen and device.last_seen_at >= seen
    assert device.user_agent == "x" * 256


def test_only_the_device_id_is_needed(county, api_as):
    assert post(api_as(county.resident), {"device_id": "phone-1"}).status_code == 200
    [device] = devices()
    assert (device.pending, device.rejected, device.app_version, device.persisted) == (0, 0, None, None)


def test_two_devices_two_rows(county, api_as):
    api = api_as(county.worker)
    post(api, beat())
    post(api, beat(device_id="another"))
    assert len(devices()) == 2


BAD = [
    ("device_id missing", {"device_id": None}, "device_id"),
    ("device_id empty", {"device_id": "  "}, "device_id"),
    ("device_id number", {"device_id": 12}, "device_id"),
    ("device_id too long", {"device_id": "d" * 65}, "device_id"),
    ("app_version number", {"app_version": 4}, "app_version"),
    ("app_version too long", {"app_version": "1" * 33}, "app_version"),
    ("pending negative", {"pending": -1}, "pending"),
    ("pending true", {"pending": True}, "pending"),
    ("pending float", {"pending": 1.5}, "pending"),
    ("pending string", {"pending": "3"}, "pending"),
    ("pending huge", {"pending": 2**40}, "pending"),
    ("rejected negative", {"rejected": -3}, "rejected"),
    ("rejected false", {"rejected": False}, "rejected"),
    ("oldest_pending_at garbage", {"oldest_pending_at": "last tuesday"}, "oldest_pending_at"),
    ("oldest_pending_at number", {"oldest_pending_at": 1700000000}, "oldest_pending_at"),
    ("last_sync_at garbage", {"last_sync_at": "2026-13-45T99:00:00"}, "last_sync_at"),
    ("last_sync_at overflows UTC", {"last_sync_at": "9999-12-31T23:59:59-14:00"}, "last_sync_at"),
    ("storage_used negative", {"storage_used": -1}, "storage_used"),
    ("storage_used string", {"storage_used": "1GB"}, "storage_used"),
    ("storage_used over bigint", {"storage_used": 2**63}, "storage_used"),
    ("storage_quota true", {"storage_quota": True}, "storage_quota"),
    ("persisted string", {"persisted": "yes"}, "persisted"),
    ("persisted number", {"persisted": 1}, "persisted"),
    ("sync_failures negative", {"sync_failures": -1}, "sync_failures"),
    ("sync_failures string", {"sync_failures": "2"}, "sync_failures"),
    ("last_failure_at garbage", {"last_failure_at": "soon"}, "last_failure_at"),
    ("last_failure too long", {"last_failure": "x" * 65}, "last_failure"),
    ("last_failure number", {"last_failure": 503}, "last_failure"),
]


@pytest.mark.parametrize("label, fields, field", BAD, ids=[row[0] for row in BAD])
def test_bad_heartbeats_are_422_and_write_nothing(county, api_as, label, fields, field):
    body = beat(**fields)
    if fields.get(field, "") is None:
        body.pop(field)
    response = post(api_as(county.worker), body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["field"] == field and response.json["error"]["message"]
    assert devices() == []


def test_a_bad_heartbeat_leaves_the_earlier_row_as_it_was(county, api_as):
    api = api_as(county.worker)
    post(api, beat())
    assert post(api, beat(pending=-1, app_version="9.9.9")).status_code == 422
    [device] = devices()
    assert (device.pending, device.app_version) == (2, "0.4.0")


@pytest.mark.parametrize("body", ["[1, 2]", "not json", '"text"'])
def test_a_body_that_is_not_an_object_is_400(county, api_as, body):
    api = api_as(county.worker)
    response = api.client.post("/api/v1/devices/heartbeat", data=body, content_type="application/json",
                               headers=api.headers)
    assert response.status_code == 400 and devices() == []


def test_heartbeat_needs_login(client):
    assert client.post("/api/v1/devices/heartbeat", json=beat()).status_code == 401


def test_record_heartbeat_is_usable_without_a_request(county):
    device = record_heartbeat(county.worker, beat(pending=5), user_agent=None)
    assert device.pending == 5 and device.user_agent is None
    with pytest.raises(ApiError) as refused:
        record_heartbeat(county.worker, beat(rejected=-1))
    assert refused.value.field == "rejected"


def test_concurrent_first_heartbeats_make_one_row(app, county, api_as):
    api = api_as(county.worker)
    barrier = threading.Barrier(8)
    statuses = []

    def send():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/devices/heartbeat", json=beat(), headers=api.headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 8
    assert db.session.scalar(select(func.count(Device.id))) == 1


# -- issue 17, item 15: a device is not anyone's to take -------------------------------

def test_another_users_heartbeat_cannot_take_a_device_over(client, county, api_as):
    assert post(api_as(county.worker), beat(pending=7)).status_code == 200
    stolen = post(api_as(county.other_worker), beat(pending=0))  # their own token, the worker's device id
    assert stolen.status_code == 409 and stolen.json["error"]["code"] == "device_taken"
    [device] = devices()
    assert device.user_id == county.worker.id and device.pending == 7
    # Logged in on another phone of theirs does not help either.
    other_phone = logged_in_on(client, county.other_worker, "another-phone")
    assert post(other_phone, beat(pending=0)).status_code == 409

