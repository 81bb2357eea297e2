"""A resident's whole story in Debian's Chromium at 360×640: scan a QR poster,
report with a photo, see it under "my reports", the city accepts and fixes it,
the resident rates the result and the points appear. Screenshots:
test-artifacts/resident-*.png."""
import uuid

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from civic.accounts.models import User
from civic.accounts.services import issue_token
from civic.cases.models import Case
from civic.extensions import db
from civic.posters.models import Poster
from tests.conftest import photo_path
from tests.e2e.conftest import ARTIFACTS, DEMO_PASSWORD, wait_until
from tests.e2e.test_field_app import outbox, submit_capture, wait_for_js

pytestmark = pytest.mark.e2e


def shot(page, name, full_page=False):
    page.screenshot(path=ARTIFACTS / f"resident-{name}.png", full_page=full_page)


def new_resident():
    """A resident with no points yet (the demo's residents have earned some today)."""
    db.session.remove()
    user = User(username="13700001111", phone="13700001111", display_name="李桂兰", role="resident",
                password_hash=generate_password_hash(DEMO_PASSWORD))
    db.session.add(user)
    db.session.commit()
    return user.username


class CityStaff:
    """The command centre and the department, through the API as their apps would."""

    def __init__(self, app):
        self.client = app.test_client()

    def as_user(self, username):
        db.session.remove()
        user = db.session.scalar(select(User).where(User.username == username))
        token = issue_token(user, device_id=f"desk-{username}")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    def act(self, headers, case_id, action, photo=None, **fields):
        import json

        body = {"client_id": str(uuid.uuid4()), "action": action, **fields}
        url = f"/api/v1/cases/{case_id}/actions"
        if photo is None:
            response = self.client.post(url, headers=headers, json=body)
        else:
            data = {"meta": json.dumps(body), "photo": [(open(photo, "rb"), photo.name)]}
            response = self.client.post(url, headers=headers, data=data, content_type="multipart/form-data")
        assert response.status_code == 201, response.json
        return response.json["case"]

    def accept_and_fix(self, case_id):
        centre = self.as_user("dispatcher")
        self.act(centre, case_id, "accept")
        case = self.act(centre, case_id, "dispatch", department=self.department_of(case_id))
        staff = self.as_user(f"staff_{case['department']['code'].lower()}")
        self.act(staff, case_id, "acknowledge")
        self.act(staff, case_id, "handle", photo=photo_path("gps/DSCN0021.jpg"), note="已清理干净，现场已恢复")

    def department_of(self, case_id):
        db.session.remove()
        case = db.session.get(Case, case_id)
        return case.department.code if case.department else "SAN"


def test_scan_report_follow_rate_and_earn_points(app, field_server, phone):
    username = new_resident()
    park = db.session.scalar(select(Poster).where(Poster.kind == "park"))
    page = phone().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The poster's QR code opens the report screen; this phone logs in first.
    page.goto(f"{field_server.url}/q/{park.code}")
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.locator("form.capture .place", has_text=park.name).wait_for()
    page.set_input_files("#photo-camera", str(photo_path("gps/DSCN0010.jpg")))
    page.wait_for_selector(".photo-list .photo img")
    page.locator("details.class summary").first.click()
    page.locator("details.class .chip").first.click()
    page.fill("textarea[name=note]", "公园东门垃圾桶满溢")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "1-capture")
    submit_capture(page)  # the photo is from Tuscany in 2008: asked about, and sent
    page.wait_for_selector(".report-button")
    wait_until(page, lambda: [r for r in outbox(page) if r["status"] == "sent"], message="the report sent")

    # My reports: the report with its number and status; the points tile.
    page.reload()  # the home screen as the resident finds it later
    row = page.locator("ul.rows a.row[href^='#/cases/']").first
    row.wait_for()
    assert "已上报" in row.inner_text() and "CG-" in row.inner_text()
    assert page.locator(".tabbar [data-tab=points]").is_visible()
    assert not page.locator(".tabbar [data-tab=tasks]").is_visible()
    shot(page, "2-my-reports")
    db.session.remove()
    case = db.session.scalar(select(Case).join(User, Case.reporter_id == User.id).where(User.username == username))
    assert (case.poster_id, case.channel) == (park.id, "qr")

    # The command centre accepts it (points for a valid report) and the department fixes it.
    CityStaff(app).accept_and_fix(case.id)

    page.goto(f"{field_server.url}/field/#/cases/{case.id}")
    page.wait_for_selector(".rate-form")
    assert page.locator("figure.photo-group").count() == 2  # before and after
    assert "已清理干净" in page.locator("ol.timeline").inner_text()  # the department's public reply
    shot(page, "3-rate", full_page=True)
    page.click(".rate-form [data-score=satisfied]")
    # The rating goes through the outbox: wait for it to be queued *and* sent (the report is "sent" already).
    rated = lambda: [r for r in outbox(page) if (r["meta"] or {}).get("action") == "rate" and r["status"] == "sent"]
    wait_until(page, rated, message="the rating sent")
    db.session.remove()
    assert db.session.get(Case, case.id).status == "closed"  # a satisfied rating closes it

    page.click(".tabbar [data-tab=points]")
    wait_for_js(page, "document.getElementById('points-balance')?.textContent === '15'", "10 + 5 points")
    assert "有效上报" in page.locator("ul.ledger").inner_text() and "问题已解决" in page.locator("ul.ledger").inner_text()
    shot(page, "4-points")
    assert errors == []
