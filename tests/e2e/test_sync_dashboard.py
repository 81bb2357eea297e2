"""The supervisors' sync dashboard in Debian's Chromium at 1280×800 on the demo
county: stale rows stand out, and a heartbeat posted through the API shows up
without a reload. Screenshot: test-artifacts/dashboard-sync.png."""
import json
import urllib.request

import pytest
from sqlalchemy import select

from civic.accounts.models import User
from civic.accounts.services import issue_token
from civic.devices.models import Device
from civic.extensions import db
from civic.timeutil import isoformat, utcnow
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, wait_until
from tests.e2e.test_hotline_page import web_login

pytestmark = pytest.mark.e2e


def post_heartbeat(base, username):
    """The phone of `username` comes back: its outbox sent, a heartbeat through the API."""
    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == username))
    device = db.session.scalar(select(Device).where(Device.user_id == user.id))
    token = issue_token(user, device_id=device.device_id)
    db.session.commit()
    body = {"device_id": device.device_id, "app_version": device.app_version, "pending": 0, "rejected": 0,
            "last_sync_at": isoformat(utcnow()), "storage_used": 90_000_000, "storage_quota": 6_000_000_000,
            "persisted": True}
    request = urllib.request.Request(f"{base}/api/v1/devices/heartbeat", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def level(page, username):
    return page.get_attribute(f"tr[data-user='{username}']", "class")


def test_stale_rows_stand_out_and_update_live(field_server, playwright_instance):
    ARTIFACTS.mkdir(exist_ok=True)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.clock.install()  # the 15 s poll, run on demand
        web_login(page, field_server.url, "supervisor")
        page.click("a[href='/dashboard/sync']")  # from the nav
        page.wait_for_selector("#sync-table tbody tr")
        stale = page.locator("tr.level-stale")
        assert stale.count() == 2 and "level-stale" in level(page, "worker002")
        assert page.locator("tr.level-behind").count() >= 3 and page.locator("tr.level-never").count() >= 1
        # Highlighted: a tinted row with a red edge, not just a word.
        assert stale.first.evaluate("r => getComputedStyle(r).backgroundColor") == "rgb(251, 233, 231)"
        assert page.text_content("[data-count=stale]") == "2"
        page.screenshot(path=ARTIFACTS / "dashboard-sync.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # and on a supervisor's phone
        page.screenshot(path=ARTIFACTS / "dashboard-sync-phone.png")
        page.set_viewport_size({"width": 1280, "height": 800})

        post_heartbeat(field_server.url, "worker002")
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        page.clock.run_for(16_000)
        wait_until(page, lambda: "level-ok" in level(page, "worker002"), timeout=10, message="the row to turn ok")
        assert page.text_content("[data-count=stale]") == "1"
        assert page.evaluate("window.__sameDocument") is True
        assert "已更新" in page.text_content("#sync-live")
        assert errors == []
    finally:
        browser.close()
