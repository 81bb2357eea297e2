"""The supervisors' figures in Debian's Chromium on the demo county: the weekly
ranking and the performance page on a desktop (1280×800) and a tablet
(768×1024), the daily report as printed (A4), the map, clicking through from a
grid to its list. Screenshots: test-artifacts/figures-*.png."""
import pytest

from civic.extensions import db
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, AppProcess
from tests.e2e.test_hotline_page import web_login

pytestmark = pytest.mark.e2e


@pytest.fixture
def figures_server(app, runner, tmp_path):
    """The small demo county (60 cases): ranked from one case, so last week has a ranking to show."""
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    db.session.remove()
    server = AppProcess(app, tmp_path / "server.log")
    server.env["CIVIC_RANKING_MIN_CASES"] = "1"
    yield server.start()
    server.stop()


def test_ranking_performance_report_and_map(figures_server, playwright_instance):
    field_server = figures_server
    ARTIFACTS.mkdir(exist_ok=True)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN").new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        web_login(page, field_server.url, "supervisor")
        page.click("a[href='/dashboard/performance']")  # from the nav
        page.wait_for_selector("table.stats-table tbody tr")
        assert page.locator("svg.chart.lines").count() == 2
        assert page.locator("table.stats-table tbody tr").count() >= 5
        page.screenshot(path=ARTIFACTS / "figures-performance.png", full_page=True)

        page.click(".stats-nav a[href='/dashboard/ranking']")
        page.wait_for_selector("section.board[data-rate=handled_on_time_rate] table.ranking")
        board = page.locator("section.board[data-rate=handled_on_time_rate]")
        assert board.locator("td.rank").count() >= 1
        assert board.locator("svg.chart.bars rect.bar").count() == board.locator("td.rank").count()
        assert board.locator("td.rank").first.inner_text() == "1"
        page.screenshot(path=ARTIFACTS / "figures-ranking.png", full_page=True)
        page.set_viewport_size({"width": 768, "height": 1024})  # a supervisor's tablet
        page.screenshot(path=ARTIFACTS / "figures-ranking-tablet.png")
        page.set_viewport_size({"width": 1280, "height": 800})

        page.click(".stats-nav a[href='/dashboard/report']")
        page.wait_for_selector("p.summary")
        page.emulate_media(media="print")
        # The print layout drops the navigation (waited for: a loaded machine applies the media a moment later).
        page.wait_for_selector(".stats-nav", state="hidden", timeout=5000)
        page.screenshot(path=ARTIFACTS / "figures-report-print.png", full_page=True)
        page.emulate_media(media="screen")
        with page.expect_download() as download:
            page.click("a[href^='/dashboard/report.xlsx']")
        assert download.value.suggested_filename.endswith(".xlsx")

        page.click(".stats-nav a[href='/dashboard/map']")
        page.wait_for_selector(".grid-map svg a")
        page.screenshot(path=ARTIFACTS / "figures-map.png", full_page=True)
        busiest = max(page.locator(".grid-map svg a").all(), key=lambda a: int(a.get_attribute("data-count")))
        count = int(busiest.get_attribute("data-count"))
        busiest.click()
        page.wait_for_selector("table.case-list")
        assert page.locator("table.case-list tr[data-ref]").count() == count

        # On a supervisor's phone: nothing wider than the screen (wide tables scroll in their own box).
        page.set_viewport_size({"width": 360, "height": 640})
        for name in ("performance", "ranking", "report", "hot", "map", "cases", "sync"):
            page.goto(f"{field_server.url}/dashboard/{name}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
        page.goto(f"{field_server.url}/dashboard/performance")
        page.screenshot(path=ARTIFACTS / "figures-performance-phone.png", full_page=True)
        assert errors == []
    finally:
        browser.close()


def test_evaluation_page_on_a_desk_and_a_phone(figures_server, playwright_instance):
    """考核评价: the ranking with scores and grades, a figure opened to its cases, a
    case left out of the scores, at 1280×800 and 360×640."""
    ARTIFACTS.mkdir(exist_ok=True)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        for width, height, name in ((1280, 800, "desk"), (360, 640, "phone")):
            page = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN").new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            web_login(page, figures_server.url, "supervisor")
            page.goto(f"{figures_server.url}/dashboard/evaluation?by=department")
            page.wait_for_selector("table.evaluation tbody tr[data-key]")
            assert page.locator("table.evaluation td.score").count() >= 1
            assert page.locator("table.evaluation td.grade").first.inner_text() in ("优秀", "良好", "合格", "不合格", "—")
            page.screenshot(path=ARTIFACTS / f"figures-evaluation-{name}.png", full_page=True)
            if name == "desk":
                link = page.locator("table.evaluation a[data-figure=handled_on_time]").first
                link.click()
                page.wait_for_selector("ul.evaluation-cases")
                refs = page.locator("ul.evaluation-cases li a").all_inner_texts()
                page.go_back()
                if refs:  # leave the first out and see it listed
                    page.fill(".exclusions input[name=ref]", refs[0])
                    page.fill(".exclusions textarea[name=reason]", "投诉人反复无理投诉")
                    page.click(".exclusions button[type=submit]")
                    page.wait_for_selector(".flash")
                    assert refs[0] in page.locator(".exclusions").inner_text()
            page.goto(f"{figures_server.url}/dashboard/evaluation?by=worker")
            page.wait_for_selector("table.evaluation[data-by=worker]")
            page.screenshot(path=ARTIFACTS / f"figures-evaluation-workers-{name}.png", full_page=True)
            assert not errors, errors
            page.context.close()
    finally:
        browser.close()
