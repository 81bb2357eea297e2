"""As people use it: Debian's Chromium, driven by Playwright, at phone size,
against a live server on the demo county. Screenshots land in test-artifacts/."""
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(app, runner, backend):
    if backend != "sqlite":
        pytest.skip("browser tests run once, on the default database")
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser(playwright_instance):
    # The process's one Playwright (tests/e2e/conftest.py): a second sync_playwright() in a
    # process where another test file started one refuses to start ("Sync API inside the
    # asyncio loop"), which happened whenever xdist gave one worker both files.
    launched = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"])
    yield launched
    launched.close()


@pytest.mark.e2e
def test_demo_worker_logs_in_and_opens_a_case(live_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((live_server, "data:")) else None)
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/auth/login")
    page.fill("input[name=username]", "worker001")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.content()
    page.fill("input[name=username]", "worker001")
    page.fill("input[name=password]", "demo1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    page.screenshot(path=ARTIFACTS / "home-phone.png")
    assert page.locator(".case-list li").count() > 0
    page.locator(".case-list a").first.click()
    page.wait_for_selector("svg .pin")
    assert page.locator(".timeline li").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    page.screenshot(path=ARTIFACTS / "case-phone.png", full_page=True)
    assert outside == []


@pytest.mark.e2e
def test_supervisor_sees_push_status(live_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "demo1234")
    page.click("button[type=submit]")
    page.click("text=任务推送状态")
    page.wait_for_selector("table.data tbody tr")
    assert page.locator("table.data tbody tr").count() > 5
    page.screenshot(path=ARTIFACTS / "dashboard-push-phone.png")


@pytest.mark.e2e
def test_anyone_follows_progress_on_the_public_board(live_server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/board/")
    page.wait_for_selector(".case-list li a")
    page.screenshot(path=ARTIFACTS / "board-phone.png", full_page=True)
    page.locator(".case-list a").first.click()
    page.wait_for_selector(".timeline li")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=ARTIFACTS / "board-case-phone.png", full_page=True)


@pytest.mark.e2e
def test_dispatcher_queue_at_phone_size(live_server, browser):
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "demo1234")
    page.click("button[type=submit]")
    page.click("text=待受理上报")
    page.wait_for_selector("h1")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=ARTIFACTS / "dispatcher-queue-phone.png", full_page=True)
