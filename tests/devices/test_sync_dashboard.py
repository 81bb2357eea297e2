"""The supervisors' sync dashboard: every figure checked against the Device rows
it comes from, the filters, the never-installed worker, roles and the JSON."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from civic.devices.shell import shell_version
from civic.devices.dashboard import summarise_user_agent
from civic.devices.models import Device
from civic.extensions import db
from civic.timeutil import utcnow
from tests.test_pages import login

ANDROID = "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.210 Mobile Safari/537.36"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"


@pytest.fixture
def phones(app, county):
    """worker: fine; worker2: a report waiting 2 h (behind), on an old version;
    staff_san: silent for 3 days (stale); dispatcher: no sync for 6 h (behind);
    staff_trf: no device (never installed)."""
    now, version = utcnow(), shell_version(app)

    def device(user, name, seen, **extra):
        extra.setdefault("app_version", version)
        extra.setdefault("user_agent", ANDROID)
        d = Device(device_id=name, user_id=user.id, last_seen_at=seen,
                   last_sync_at=seen - timedelta(minutes=5), first_seen_at=now - timedelta(days=9), **extra)
        db.session.add(d)
        return d

    device(county.worker, "fine", now - timedelta(minutes=3), pending=1, oldest_pending_at=now - timedelta(minutes=10),
           storage_used=50_000_000, storage_quota=2_000_000_000, persisted=True)
    device(county.other_worker, "waiting", now - timedelta(minutes=2), pending=3, rejected=1,
           oldest_pending_at=now - timedelta(hours=2), app_version="0ld0ld0ld0ld", persisted=False)
    device(county.staff_san, "silent", now - timedelta(days=3), pending=4, oldest_pending_at=now - timedelta(days=3, hours=1))
    device(county.dispatcher, "idle", now - timedelta(hours=6), user_agent=None)
    db.session.commit()
    return county


def board(client, **params):
    login(client, "supervisor")
    response = client.get("/dashboard/sync.json", query_string=params)
    assert response.status_code == 200, response.data
    return response.json


def by_user(data):
    return {row["username"]: row for row in data["rows"]}


def test_rows_match_the_devices(client, phones):
    data = board(client)
    rows = by_user(data)
    now = utcnow()
    for device in db.session.scalars(select(Device)):
        row = rows[device.user.username]
        last = max(device.last_sync_at, device.last_seen_at)
        assert (row["device_id"], row["pending"], row["rejected"]) == (device.device_id, device.pending, device.rejected)
        assert abs(row["heartbeat_age_seconds"] - (now - device.last_seen_at).total_seconds()) < 5
        assert abs(row["sync_age_seconds"] - (now - last).total_seconds()) < 5
        assert row["outdated"] == (device.app_version != shell_version(client.application))
        if device.pending:
            assert abs(row["oldest_pending_age_seconds"] - (now - device.oldest_pending_at).total_seconds()) < 5
        expected = ("stale" if now - device.last_seen_at > timedelta(hours=24) else
                    "behind" if (device.pending and now - device.oldest_pending_at > timedelta(hours=1))
                    or now - last > timedelta(hours=4) else "ok")
        assert row["level"] == expected, device.device_id
    assert [rows[u]["level"] for u in ("worker", "worker2", "staff_san", "dispatcher", "staff_trf")] == \
        ["ok", "behind", "stale", "behind", "never"]
    assert rows["worker2"]["reasons"] == ["pending_old"] and rows["dispatcher"]["reasons"] == ["sync_old"]
    assert rows["worker"]["storage_percent"] == 2.5 and rows["worker"]["persisted"] is True
    assert rows["worker"]["device"] == "Android 14 · Chrome 120" and rows["dispatcher"]["device"] is None
    assert rows["worker"]["grids"] == [{"code": "L2-1-1", "name": "网格1-1"}]
    assert rows["staff_san"]["department"]["code"] == "SAN"
    # Worst first: stale, then behind (more waiting first), never installed, ok.
    assert [r["level"] for r in data["rows"]][:4] == ["stale", "behind", "behind", "never"]
    assert data["rows"][1]["username"] == "worker2"


def test_summary_counts_and_never_installed(client, phones):
    data = board(client)
    devices = db.session.scalars(select(Device)).all()
    summary = data["summary"]
    assert summary["devices"] == len(devices) == 4
    assert summary["pending"] == sum(d.pending for d in devices) == 8
    assert summary["rejected"] == 1 and summary["outdated"] == 1
    assert (summary["stale"], summary["behind"], summary["ok"]) == (1, 2, 1)
    # Field roles without a device; oversight roles are not expected to have one.
    assert summary["never_installed"] == 1 and by_user(data)["staff_trf"]["device_id"] is None
    assert "supervisor" not in by_user(data) and "resident" not in by_user(data)
    assert data["app_version"] == shell_version(client.application)
    assert data["thresholds"] == {"pending_minutes": 60, "sync_hours": 4, "stale_hours": 24}


def test_filters(client, phones):
    assert set(by_user(board(client, grid="L1-1"))) == {"worker"}            # level 1 includes its level-2 grids
    assert set(by_user(board(client, grid="L2-2-1"))) == {"worker2"}
    assert set(by_user(board(client, department="SAN"))) == {"staff_san"}
    stale = board(client, level="stale")
    assert set(by_user(stale)) == {"staff_san"} and stale["summary"]["devices"] == 4  # counts keep the scope
    assert set(by_user(board(client, level="never"))) == {"staff_trf"}
    for bad in ({"grid": "nope"}, {"department": "nope"}, {"level": "bad"}):
        assert client.get("/dashboard/sync.json", query_string=bad).status_code == 404
        assert client.get("/dashboard/sync", query_string=bad).status_code == 404


def test_page_highlights_and_nav(client, phones):
    login(client, "supervisor")
    page = client.get("/dashboard/sync?grid=L1-1").get_data(as_text=True)
    assert 'class="sync-row level-ok" data-user="worker"' in page and "dashboard-sync.js" in page
    page = client.get("/dashboard/sync").get_data(as_text=True)
    assert 'class="sync-row level-stale" data-user="staff_san"' in page
    assert 'href="/dashboard/sync"' in page and "同步状态" in page


@pytest.mark.parametrize("username", ["staff_san", "worker", "resident"])
def test_other_roles_are_refused(client, county, username):
    login(client, username)
    assert client.get("/dashboard/sync").status_code == 403
    assert client.get("/dashboard/sync.json").status_code == 403
    assert "同步状态" not in client.get("/").get_data(as_text=True)


def test_anonymous_goes_to_login(client, county):
    response = client.get("/dashboard/sync")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_user_agent_summary():
    assert summarise_user_agent(IPHONE) == "iOS 17 · Safari 17"
    assert summarise_user_agent(ANDROID) == "Android 14 · Chrome 120"
    assert summarise_user_agent("Mozilla/5.0 (Linux; Android 13) MicroMessenger/8.0.44 Chrome/111") == "Android 13 · WeChat 8"
    assert summarise_user_agent(None) is None


def test_recent_sync_failures_are_shown_with_the_last_error(client, county, api_as):
    """A phone whose last day had three failed syncs (the last a 503) says so in
    its heartbeat; the dashboard shows the count, when and what, and counts it."""
    at = utcnow() - timedelta(minutes=20)
    body = {"device_id": "flaky", "app_version": "v", "pending": 2, "sync_failures": 3,
            "last_failure_at": at.isoformat() + "Z", "last_failure": "HTTP 503"}
    api = api_as(county.worker)
    assert api.client.post("/api/v1/devices/heartbeat", json=body, headers=api.headers).status_code == 200
    data = board(client)
    row = by_user(data)["worker"]
    assert (row["sync_failures"], row["last_failure"]) == (3, "HTTP 503")
    assert 19 * 60 <= row["last_failure_age_seconds"] <= 21 * 60
    assert data["summary"]["failing"] == 1
    page = client.get("/dashboard/sync").get_data(as_text=True)
    assert "24 小时内 3 次同步失败" in page
    assert "HTTP 503" in page
    # The next heartbeat after a clean day clears it.
    body.update(sync_failures=0, last_failure_at=None, last_failure=None)
    api.client.post("/api/v1/devices/heartbeat", json=body, headers=api.headers)
    row = by_user(board(client))["worker"]
    assert (row["sync_failures"], row["last_failure"]) == (0, None)
