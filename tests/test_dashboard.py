"""Supervisors' pages: who can be reached by push."""
import hashlib
from datetime import datetime

import pytest

from civic.extensions import db
from civic.push.models import PushSubscription
from tests.test_pages import login


def subscription(user, n, **fields):
    endpoint = f"https://push.example/{user.username}/{n}"
    return PushSubscription(user=user, endpoint=endpoint, endpoint_hash=hashlib.sha256(endpoint.encode()).hexdigest(),
                            p256dh="x" * 87, auth="y" * 22, **fields)


@pytest.mark.parametrize("username", ["resident", "worker", "staff_san"])
def test_only_oversight_roles_see_push_status(client, county, username):
    login(client, username)
    assert client.get("/dashboard/push").status_code == 403


def test_logged_out_goes_to_login(client, county):
    response = client.get("/dashboard/push")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_supervisor_sees_who_is_reachable(client, county):
    db.session.add(subscription(county.worker, 1, last_success_at=datetime(2026, 11, 20, 2, 0)))
    db.session.add(subscription(county.other_worker, 1, failures=3, last_failure_at=datetime(2026, 11, 21, 2, 0),
                                last_error="HTTP 500"))
    db.session.commit()
    login(client, "supervisor")
    page = client.get("/dashboard/push").get_data(as_text=True)
    assert "任务推送状态" in page
    assert page.count("status-handled") == 1 and page.count("status-rejected") == 1  # active, failing
    assert "HTTP 500" in page and "未开启" in page  # staff without a phone
    workers = client.get("/dashboard/push?role=grid_worker").get_data(as_text=True)
    assert county.worker.display_name in workers and county.staff_san.display_name not in workers
    assert client.get("/dashboard/push?role=nobody").status_code == 404


def test_dispatcher_queue_lists_new_reports_with_duplicates(app, client, county, make_case):
    from civic.cases.services import set_location

    first = make_case("dispatched")
    fresh = make_case("reported")
    set_location(fresh, first.lat + 0.0001, first.lng)
    db.session.commit()
    login(client, "dispatcher")
    page = client.get("/dashboard/queue").get_data(as_text=True)
    assert fresh.ref in page and "可能重复" in page and first.ref in page
    worker = app.test_client()
    login(worker, "worker")
    assert worker.get("/dashboard/queue").status_code == 403
