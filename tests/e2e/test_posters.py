"""QR posters in Debian's Chromium: a resident scans a poster on a phone where
the app is not logged in, logs in, lands on the report screen at the poster's
place and sends a report from it; and the A4 poster as Chromium prints it.
Screenshots: test-artifacts/posters-capture.png, posters-print-a4.png."""
import re

import pytest
from sqlalchemy import select

from civic.accounts.models import User
from civic.cases.models import Case
from civic.extensions import db
from civic.posters.models import Poster
from tests.conftest import photo_path
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, wait_until
from tests.e2e.test_field_app import submit_capture
from tests.e2e.test_hotline_page import web_login

pytestmark = pytest.mark.e2e

A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 dpi


def reports_of(username):
    db.session.remove()  # see what the app process committed
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalars(select(Case).where(Case.reporter_id == user.id, Case.poster_id.is_not(None))).all()


def test_a_scanned_poster_opens_the_report_screen_at_its_place(field_server, phone, playwright_instance):
    db.session.remove()
    park = db.session.scalar(select(Poster).where(Poster.kind == "park"))
    place = f"地点：{park.name}（{park.grid.name}）"
    page = phone().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{field_server.url}/q/{park.code}")  # what the phone's camera opens
    page.wait_for_selector("input[name=username]")  # not logged in on this phone: log in first
    page.fill("input[name=username]", "resident01")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.locator("form.capture .place", has_text=place).wait_for()  # back where the poster sent them
    assert page.url.endswith(f"#/capture?poster={park.code}")
    page.screenshot(path=ARTIFACTS / "posters-capture.png")

    page.set_input_files("#photo-camera", str(photo_path("plain/Canon_40D.jpg")))
    page.wait_for_selector(".photo-list .photo img")
    page.locator("details.class summary").first.click()
    page.locator("details.class .chip").first.click()
    submit_capture(page)  # a 2008 camera photo: asked about, and sent
    page.wait_for_selector(".report-button")
    [case] = wait_until(page, lambda: reports_of("resident01"), message="the report at the server")
    assert (case.poster_id, case.channel) == (park.id, "qr")
    assert errors == []

    # The poster itself, as Chromium prints it: one A4 page.
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        desk = browser.new_context(viewport=A4, locale="zh-CN").new_page()
        web_login(desk, field_server.url, "admin")
        desk.goto(f"{field_server.url}/posters/{park.code}/print")
        desk.emulate_media(media="print")
        sheet = desk.locator(".sheet").bounding_box()
        assert (round(sheet["width"]), sheet["height"]) == (794, pytest.approx(1121, abs=3))
        qr = desk.locator("svg.qr").bounding_box()
        assert qr["width"] > 380 and qr["width"] == qr["height"]  # about 10 cm across
        desk.screenshot(path=ARTIFACTS / "posters-print-a4.png")
        pdf = desk.pdf(prefer_css_page_size=True, print_background=True)
        assert re.findall(rb"/Count (\d+)", pdf) == [b"1"]
    finally:
        browser.close()
