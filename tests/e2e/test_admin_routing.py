"""The routing rules page in Debian's Chromium: an administrator asks "who would
get this?", changes the rule for that grid and category, and asks again — at a
desk (1280×800) and on a phone (360×640). Screenshots land in
test-artifacts/admin-routing-*.png."""
import pytest
from sqlalchemy import select

from civic.extensions import db
from civic.grids.models import RoutingRule
from tests.e2e.conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_PASSWORD,
    SMALL_PHONE,
)

pytestmark = pytest.mark.e2e
DESK = {"width": 1280, "height": 800}


def web_login(page, base, username="admin"):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def ask(page, grid, category="E0102"):
    tester = page.locator("form[method=get]").filter(has=page.locator("select[name=category]")).first
    tester.locator("select[name=category]").select_option(category)
    tester.locator("select[name=grid]").select_option(grid)
    tester.locator("button[type=submit]").click()
    page.wait_for_load_state()
    return page.locator("[data-testid=tester-answer]").inner_text()


def test_change_a_routing_rule_and_check_it_with_the_tester(field_server, playwright_instance):
    ARTIFACTS.mkdir(exist_ok=True)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        for name, viewport in (("desk", DESK), ("phone", SMALL_PHONE)):
            page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))  # noqa: B023
            web_login(page, field_server.url)
            page.goto(f"{field_server.url}/admin/routing")
            grid = page.locator("form[method=get] select[name=grid] option").nth(1 if name == "desk" else 2)
            code = grid.get_attribute("value")
            before = ask(page, code)
            assert code in before and "SAN" in before
            page.screenshot(path=ARTIFACTS / f"admin-routing-{name}-before.png", full_page=name == "desk")

            rule_form = page.locator("form[action$='/admin/routing'][method=post]")
            rule_form.locator("select[name=scope]").select_option("grid")
            rule_form.locator("select[name=grid]").select_option(code)
            rule_form.locator("select[name=category]").select_option("E0102")
            rule_form.locator("select[name=department]").select_option("ENF")
            rule_form.locator("input[name=liaison_group]").fill("执法一中队")
            rule_form.locator("button[type=submit]").click()
            page.wait_for_load_state()
            assert page.locator(".flash").count() == 1

            after = ask(page, code)
            assert "ENF" in after and f"grid {code} × E0102 → ENF" in after and "1." in after
            page.locator("[data-testid=tester-answer]").scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / f"admin-routing-{name}-after.png")
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e =>
                e.getBoundingClientRect().right > innerWidth + 1 && !e.closest('.table-wrap'))
                .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
            assert width <= viewport["width"] + 1, f"the page scrolls sideways at {viewport['width']} px: {wide}"
            page.goto(f"{field_server.url}/admin/categories")
            assert page.locator("table.data tbody tr").count() > 50
            page.screenshot(path=ARTIFACTS / f"admin-categories-{name}.png")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"] + 1
            assert not errors
            db.session.remove()
            rule = db.session.scalar(select(RoutingRule).where(RoutingRule.liaison_group == "执法一中队",
                                                               RoutingRule.grid.has(code=code)))
            assert rule is not None and rule.department.code == "ENF"
    finally:
        browser.close()
