"""The hotline (12345) form in Debian's Chromium: an operator's phone at 360×740
and a desk at 1280×800, the map pin, a bad number corrected, and the form with
JavaScript off. Screenshots land in test-artifacts/hotline-*.png."""
import pytest
from sqlalchemy import select

from civic.cases.models import Case
from civic.extensions import db
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, wait_until

pytestmark = pytest.mark.e2e

OPERATOR_PHONE = {"width": 360, "height": 740}


def shot(page, name, full_page=False):
    page.screenshot(path=ARTIFACTS / f"hotline-{name}.png", full_page=full_page)


def web_login(page, base, username="dispatcher"):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def registered():
    db.session.remove()  # see what the app process committed
    return db.session.scalars(select(Case).where(Case.channel == "hotline", Case.caller_phone.is_not(None))).all()


def test_a_call_registered_on_a_phone_with_the_map_pin(field_server, phone):
    page = phone().new_page()
    page.set_viewport_size(OPERATOR_PHONE)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    web_login(page, field_server.url)
    page.click("a[href='/hotline/']")  # from the nav
    page.wait_for_selector(".pin-map.leaflet-container")
    focused = lambda: page.evaluate("document.activeElement.id")  # noqa: E731
    # Type at once: the page's script moves the focus when it has run, which may be just after the map appears.
    wait_until(page, lambda: focused() == "f-caller_phone", timeout=5, message="the focus on the caller's phone")
    shot(page, "form")

    page.fill("#f-caller_phone", "138 1234 567")  # a digit short
    page.select_option("#f-category", "E0102")
    page.fill("#f-description", "小区门口垃圾三天没人清，<b>味道</b>很大")
    page.click(".hotline-form button[type=submit]")
    page.wait_for_selector("#form-errors")
    assert page.input_value("#f-description") == "小区门口垃圾三天没人清，<b>味道</b>很大"
    wait_until(page, lambda: focused() == "form-errors", timeout=5, message="the focus on the list of errors")
    shot(page, "errors")
    assert registered() == []

    page.fill("#f-caller_phone", "138 1234 5678")
    page.locator("#pin-map").scroll_into_view_if_needed()
    box = page.locator("#pin-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.locator("#where", has_text="建议派往").wait_for()  # the grid and department the pin would go to
    assert page.input_value("#f-lat") and page.input_value("#f-lng")
    shot(page, "pin")
    page.click(".hotline-form button[type=submit]")
    page.wait_for_url("**/cases/CG-*")
    assert "已登记" in page.text_content(".flash") and page.text_content(".caller-phone") == "138****5678"
    shot(page, "case", full_page=True)
    [case] = registered()
    assert case.caller_phone == "13812345678" and case.grid_id is not None and case.location_source == "manual"
    assert not errors


def test_the_form_on_a_desk_and_without_javascript(field_server, playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        desk = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
        web_login(desk, field_server.url)
        desk.goto(f"{field_server.url}/hotline/")
        desk.wait_for_selector(".pin-map.leaflet-container")
        shot(desk, "desk")

        page = browser.new_context(viewport=OPERATOR_PHONE, java_script_enabled=False, locale="zh-CN").new_page()
        web_login(page, field_server.url)
        page.goto(f"{field_server.url}/hotline/")
        assert not page.is_visible("#pin-map")  # no map: the two boxes
        page.fill("#f-caller_phone", "0531-8812 3456")
        page.select_option("#f-category", "C0101")
        page.fill("#f-description", "井盖缺失")
        page.fill("#f-lat", "36.58")
        page.fill("#f-lng", "116.25")
        page.click(".hotline-form button[type=submit]")
        page.wait_for_url("**/cases/CG-*")
        assert page.text_content(".caller-phone") == "053*****3456"
        [case] = registered()
        assert case.caller_phone == "053188123456" and case.lat == 36.58
    finally:
        browser.close()
