"""A department's liaison group set on its page in Debian's Chromium, and the test
message sent to a local fake DingTalk endpoint: the page shows what the platform
answered, delivered or not. At a desk (1280×800) and on a phone (360×640);
screenshots land in test-artifacts/admin-department-*.png."""
import pytest
from sqlalchemy import select

from civic.admin.models import AuditEntry
from civic.extensions import db
from civic.grids.models import Department
from tests.e2e.conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_PASSWORD,
    SMALL_PHONE,
)
from tests.notify.fake_endpoint import FakeEndpoint

pytestmark = pytest.mark.e2e

DESK = {"width": 1280, "height": 800}


@pytest.fixture
def endpoint():
    fake = FakeEndpoint()
    yield fake
    fake.stop()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"admin-department-{name}.png", full_page=True)


def web_login(page, base, username="admin"):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def department(code):
    db.session.remove()  # see what the app process committed
    return db.session.scalar(select(Department).where(Department.code == code))


def test_set_the_liaison_group_and_send_the_test_message(field_server, playwright_instance, endpoint):
    san = department("SAN")
    endpoint.secrets["san"] = "SECe2e-secret"
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        desk = browser.new_context(viewport=DESK, locale="zh-CN").new_page()
        errors = []
        desk.on("pageerror", lambda error: errors.append(str(error)))
        web_login(desk, field_server.url)
        desk.goto(f"{field_server.url}/admin/departments")
        desk.click(f"a[href='/admin/departments/{san.id}']")
        desk.fill("input[name=liaison_group]", "环卫保洁调度群")
        desk.select_option("select[name=webhook_kind]", "dingtalk")
        desk.fill("input[name=webhook_url]", endpoint.url("dingtalk", "san"))
        desk.fill("input[name=webhook_secret]", "SECe2e-secret")
        desk.click("form.card button.primary")
        desk.wait_for_selector(".flash")
        assert department("SAN").webhook_kind == "dingtalk"
        assert "SECe2e-secret" not in desk.content()  # never sent back to the browser

        desk.click("form.test-form button")
        desk.wait_for_selector("#test-answer.delivered")  # (the words are the page's language's: not compared)
        answer = desk.text_content("#test-answer")
        assert "200" in answer and '"errcode": 0' in answer
        assert len(endpoint.accepted("san")) == 1 and "连通测试" in endpoint.accepted("san")[0].text
        shot(desk, "desk")

        # On a phone: the robot now refuses (its keyword check); the page says so with the platform's words.
        endpoint.answer("san", (200, {"errcode": 310000, "errmsg": "keywords not in content"}))
        phone = browser.new_context(viewport=SMALL_PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="zh-CN").new_page()
        web_login(phone, field_server.url)
        phone.goto(f"{field_server.url}/admin/departments/{san.id}")
        phone.click("form.test-form button")
        phone.wait_for_selector("#test-answer.failed")
        refused = phone.text_content("#test-answer")
        assert "keywords not in content" in refused and "310000" in refused
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= SMALL_PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"
        shot(phone, "phone")
        for path, name in (("/admin/calendar", "calendar"), ("/admin/settings", "settings")):
            for page, size in ((desk, "desk"), (phone, "phone")):
                page.goto(f"{field_server.url}{path}")
                assert page.evaluate("document.documentElement.scrollWidth") <= (DESK if size == "desk"
                                                                                 else SMALL_PHONE)["width"]
                shot(page, f"{name}-{size}")
        assert not errors

        db.session.remove()
        sent = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "department.test_message")).all()
        assert [entry.after["delivered"] for entry in sent] == [True, False]
    finally:
        browser.close()
