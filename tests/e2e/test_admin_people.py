"""The people pages in Debian's Chromium, at a desk (1280×800) and on a phone
(360×640): import 1,000 workers from an XLSX with 5 bad rows (preview, fix, apply);
deactivate a worker, whose phone is logged out at once; and a phone logged in by
its printed QR code's link. Screenshots: test-artifacts/admin-people-*.png."""
import io
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from civic.accounts.models import DeviceToken, User
from civic.extensions import db
from civic.grids.models import Grid
from tests.e2e.conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SMALL_PHONE,
    wait_until,
)
from tests.e2e.test_admin_routing import web_login

pytestmark = pytest.mark.e2e
DESK = {"width": 1280, "height": 800}
BAD_ROWS = {10: ("grids", "X9"), 200: ("name", ""), 400: ("phone", "12345"), 600: ("role", "king"),
            800: ("grids", "")}


def workbook(grid_codes, bad=True):
    book = Workbook()
    sheet = book.active
    sheet.append(["username", "name", "role", "phone", "grids", "department"])
    for n in range(1, 1001):
        row = {"username": f"imp{n:04d}", "name": f"导入{n:04d}", "role": "grid_worker",
               "phone": f"1985{n:07d}", "grids": grid_codes[n % len(grid_codes)], "department": ""}
        if bad and n in BAD_ROWS:
            column, value = BAD_ROWS[n]
            row[column] = value
        sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def no_sideways_scroll(page, viewport):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"] + 1, f"{page.url} scrolls sideways at {viewport['width']} px"


@pytest.fixture
def desk(field_server, playwright_instance):
    ARTIFACTS.mkdir(exist_ok=True)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_context(viewport=DESK, locale="en-GB").new_page()
    page.set_default_timeout(20000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" of deactivating
    web_login(page, field_server.url)
    page.goto(f"{field_server.url}/auth/lang/en")
    yield page
    browser.close()


def test_import_a_thousand_workers_with_five_bad_rows(field_server, desk, tmp_path):
    db.session.remove()
    codes = db.session.scalars(select(Grid.code).where(Grid.level == 2).order_by(Grid.code).limit(20)).all()
    bad, good = tmp_path / "staff.xlsx", tmp_path / "staff-fixed.xlsx"
    bad.write_bytes(workbook(codes))
    good.write_bytes(workbook(codes, bad=False))

    desk.goto(f"{field_server.url}/admin/users/import")
    desk.set_input_files("input[type=file]", str(bad))
    desk.click("form.stack button[type=submit]")
    desk.wait_for_load_state()
    summary = desk.locator("main p").filter(has_text="to create").first.inner_text()
    assert "995 to create" in summary and "5 invalid" in summary
    fix = desk.locator("table.data").first.inner_text()
    for number, (column, _value) in BAD_ROWS.items():
        assert re.search(rf"\b{number + 1}\s+{column}\b", fix), (number, fix)  # the file's row: after the header
    assert "no grid with code X9" in fix and "unknown role 'king'" in fix
    desk.screenshot(path=ARTIFACTS / "admin-people-import-preview-desk.png")
    desk.set_viewport_size(SMALL_PHONE)
    desk.screenshot(path=ARTIFACTS / "admin-people-import-preview-phone.png")
    no_sideways_scroll(desk, SMALL_PHONE)
    desk.set_viewport_size(DESK)
    assert count_users("imp") == 0  # a preview writes nothing

    desk.click("text=Check another file")  # fix the file, check it again
    desk.set_input_files("input[type=file]", str(good))
    desk.click("form.stack button[type=submit]")
    desk.wait_for_load_state()
    assert "1000 to create" in desk.locator("main").inner_text() and "0 invalid" in desk.locator("main").inner_text()
    desk.click("form[data-once] button[type=submit]", timeout=240000)
    desk.wait_for_selector("text=1000 created", timeout=240000)
    desk.screenshot(path=ARTIFACTS / "admin-people-import-done-desk.png")
    with desk.expect_download() as download:
        desk.click("text=Download the one-time passwords")
    assert download.value.suggested_filename == "one-time-passwords.xlsx"
    assert count_users("imp") == 1000
    assert not desk.errors


def count_users(prefix):
    db.session.remove()  # see what the app process committed
    return db.session.scalar(select(func.count(User.id)).where(User.username.like(f"{prefix}%")))


def test_deactivate_a_worker_and_their_phone_is_logged_out(field_server, desk, playwright_instance):
    phone = desk.context.browser.new_context(viewport=SMALL_PHONE)
    answer = phone.request.post(f"{field_server.url}/api/v1/auth/token",
                                data={"username": "worker003", "password": "demo1234"})
    token = answer.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert phone.request.get(f"{field_server.url}/api/v1/me", headers=bearer).status == 200

    desk.goto(f"{field_server.url}/admin/users?q=worker003")
    desk.locator("table.data tbody a").first.click()  # the name links the person's page
    desk.wait_for_selector("h1:has-text('worker003')")
    desk.screenshot(path=ARTIFACTS / "admin-people-person-desk.png", full_page=True)
    desk.set_viewport_size(SMALL_PHONE)
    desk.screenshot(path=ARTIFACTS / "admin-people-person-phone.png", full_page=True)
    no_sideways_scroll(desk, SMALL_PHONE)
    desk.set_viewport_size(DESK)

    desk.click(".person-actions button:has-text('Deactivate')")
    desk.wait_for_selector(".flash:has-text('is deactivated')")
    assert "Reactivate" in desk.locator(".person-actions").inner_text()
    desk.screenshot(path=ARTIFACTS / "admin-people-deactivated-desk.png")
    assert phone.request.get(f"{field_server.url}/api/v1/me", headers=bearer).status == 401
    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == "worker003"))
    assert not user.active
    assert db.session.scalar(select(func.count(DeviceToken.id)).where(DeviceToken.user_id == user.id,
                                                                       DeviceToken.revoked_at.is_(None))) == 0
    phone.close()
    assert not desk.errors


def test_a_phone_logged_in_by_its_qr_code(field_server, desk, phone):
    desk.goto(f"{field_server.url}/admin/users?q=worker002")
    desk.locator("table.data tbody a").first.click()
    with desk.expect_popup() as popup:  # the printable page opens beside the person's
        desk.click("button:has-text('Print a phone code')")
    sheet = popup.value
    sheet.wait_for_selector("svg.qr")
    sheet.screenshot(path=ARTIFACTS / "admin-people-phone-code-desk.png")
    sheet.set_viewport_size(SMALL_PHONE)
    sheet.screenshot(path=ARTIFACTS / "admin-people-phone-code-phone.png", full_page=True)
    no_sideways_scroll(sheet, SMALL_PHONE)
    code = re.search(r"/field/#code=([A-Za-z0-9_-]+)", sheet.content()).group(1)

    # What the phone's camera opens (the link's host is PUBLIC_BASE_URL; here the test's server).
    page = phone().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{field_server.url}/field/#code={code}")
    wait_until(page, lambda: page.evaluate("window.civicApp?.user?.username") == "worker002",
               message="the phone logged in")
    assert "code=" not in page.url  # the code left the address bar (and so the history)
    page.wait_for_selector(".tabbar")
    page.screenshot(path=ARTIFACTS / "admin-people-provisioned-phone.png")

    second = phone().new_page()  # the same code on another phone: refused
    second.goto(f"{field_server.url}/field/#code={code}")
    second.wait_for_selector("[data-provision] .flash-error")
    assert "used already" in second.locator("[data-provision]").inner_text() or "已使用" in second.content()
    second.screenshot(path=ARTIFACTS / "admin-people-code-used-phone.png")
    assert not errors and not desk.errors


def test_a_phone_code_for_a_one_time_password_account_asks_for_a_new_password(field_server, runner, phone):
    """Right after a reset (or an import) the worker never saw the one-time password:
    the phone logged in by the code asks for their own, without the old one."""
    from civic.accounts import provisioning

    assert runner.invoke(args=["users", "reset-password", "worker004"]).exit_code == 0
    db.session.remove()
    code, _record = provisioning.issue(db.session.scalar(select(User).where(User.username == "worker004")))
    db.session.commit()
    page = phone().new_page()
    page.goto(f"{field_server.url}/field/#code={code}")
    page.wait_for_selector("input[name=new]")
    page.screenshot(path=ARTIFACTS / "admin-people-provisioned-new-password-phone.png")
    page.fill("input[name=new]", "my-own-password-1")
    page.click("form.stack button[type=submit]")
    wait_until(page, lambda: page.evaluate("window.civicApp?.user?.must_change_password") is False,
               message="the new password saved")
    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == "worker004"))
    assert not user.must_change_password and user.check_password("my-own-password-1")


def test_the_field_app_started_again_still_asks_for_the_new_password(field_server, runner, phone):
    """Logged in with a one-time password, then the app is reloaded before the new one
    is set (a restart, a crash): the password screen comes back, with the one-time
    password asked again (the device no longer knows it), not a 403 on every screen."""
    result = runner.invoke(args=["users", "reset-password", "worker005"])
    assert result.exit_code == 0, result.output
    one_time = result.output.split("\t")[1]
    page = phone().new_page()
    page.goto(f"{field_server.url}/field/#/login")
    page.fill("input[name=username]", "worker005")
    page.fill("input[name=password]", one_time)
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("input[name=new]")
    assert page.locator("input[name=old]").count() == 0  # right after the login the app still knows it
    page.reload()
    page.wait_for_selector("input[name=old]")
    page.screenshot(path=ARTIFACTS / "admin-people-restart-new-password-phone.png")
    page.fill("input[name=new]", "my-own-password-2")
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("p.flash-error:not([hidden])")  # without the one-time password: refused, said why
    page.fill("input[name=old]", one_time)
    page.click("form.stack button[type=submit]")
    wait_until(page, lambda: page.evaluate("window.civicApp?.user?.must_change_password") is False,
               message="the new password saved")
    page.wait_for_selector(".tabbar")
    page.screenshot(path=ARTIFACTS / "admin-people-restart-logged-in-phone.png")
    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == "worker005"))
    assert not user.must_change_password and user.check_password("my-own-password-2")
