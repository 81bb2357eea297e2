"""The grid worker's day, in Debian's Chromium at 360×640: install, report with
no signal, survive server errors, a crash mid-upload and an expired login, work
a task offline. Every report must arrive exactly once (checked in the database).
Screenshots of every screen land in test-artifacts/field-*.png."""
import json
import time

import pytest
from sqlalchemy import select

from civic.accounts.models import DeviceToken, User
from civic.cases.models import Case, CaseEvent
from civic.devices.models import Device
from civic.extensions import db
from civic.grids.models import Category
from civic.timeutil import utcnow
from tests.conftest import photo_path
from tests.e2e.conftest import ARTIFACTS, DEMO_PASSWORD, count, wait_until

pytestmark = pytest.mark.e2e

OUTBOX_STATE = """() => import('/static/js/outbox.js').then(m => m.list()).then(rs => rs.map(r => ({
  client_id: r.client_id, kind: r.kind, status: r.status, attempts: r.attempts, last_error: r.last_error,
  server: r.server, meta: r.meta })))"""


def shot(page, name):
    page.screenshot(path=ARTIFACTS / f"field-{name}.png")


def login(page, base, username="worker001", password=DEMO_PASSWORD):
    page.goto(f"{base}/field/#/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_selector(".report-button")
    page.evaluate("navigator.serviceWorker.ready")
    wait_for_js(page, "navigator.serviceWorker.controller !== null", "the service worker in control")
    # The app keeps copies of what a day offline needs once the worker controls it.
    wait_for_js(page, """caches.open('civic-data').then(c => Promise.all(
        ['/api/v1/categories', '/api/v1/tasks', '/api/v1/me/grids'].map(u => c.match(u))))
        .then(hits => hits.every(Boolean))""", "offline copies")


def wait_for_js(page, expression, message):
    """Like wait_for_function, for an expression that gives a promise. Evaluated by
    Playwright rather than as page script, so the app's strict CSP (no eval) holds."""
    from playwright.sync_api import Error

    def check():
        try:
            return page.evaluate(expression)
        except Error:  # the page is between two documents
            return False

    return wait_until(page, check, message=message)


def outbox(page):
    return page.evaluate(OUTBOX_STATE)


def submit_capture(page):
    """Tap "Save and send"; if the app asks "is this right?" (an old photo, a place
    outside the county, a photo from elsewhere: these tests' camera photos are
    from 2008), say yes, as a reporter who knows would."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.click("form.capture button[type=submit]")
    try:
        page.wait_for_selector(".place-questions:not([hidden])", timeout=1500)
    except PlaywrightTimeout:
        return
    page.click(".place-questions [data-answer=yes]")


def make_report(page, photo, note=""):
    page.click(".tabbar .tab-report")
    page.wait_for_selector("#photo-camera", state="attached")
    page.set_input_files("#photo-camera", str(photo_path(photo)))
    page.wait_for_selector(".photo-list .photo img, .photo-list .photo .placeholder")
    page.locator("details.class summary").first.click()
    page.locator("details.class .chip").first.click()
    if note:
        page.fill("textarea[name=note]", note)
    submit_capture(page)
    page.wait_for_selector(".report-button")


def my_cases(username="worker001"):
    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalars(select(Case).where(Case.reporter_id == user.id, Case.received_at > utcnow().replace(year=2000))).all()


def sent_ids(page):
    return {r["client_id"] for r in outbox(page) if r["status"] == "sent"}


def test_installable_with_an_active_service_worker(field_server, phone):
    page = phone().new_page()
    login(page, field_server.url)
    errors = page.context.new_cdp_session(page).send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == []
    manifest = page.request.get(f"{field_server.url}/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/sw.js")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.state)") == "activated"
    shot(page, "home")


def test_the_category_search_shows_the_matches_and_nothing_else(field_server, phone):
    page = phone().new_page()
    login(page, field_server.url)
    page.click(".tabbar .tab-report")
    page.fill("input[type=search]", "垃圾")
    page.wait_for_selector(".category-picker .chips .chip")
    assert "null" not in page.inner_text(".category-picker")  # a null child was written as the word
    page.fill("input[type=search]", "zzzz")
    page.wait_for_selector(".category-picker p.muted")
    assert "null" not in page.inner_text(".category-picker")


def test_an_offline_day_of_reports_arrives_exactly_once(field_server, phone):
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    before = len(my_cases())
    context.set_offline(True)
    page.reload()
    page.wait_for_selector(".report-button")  # the shell came from the cache
    photos = ["plain/Canon_40D.jpg", "orientation/landscape_6.jpg", "gps/DSCN0012.jpg"]
    for index, photo in enumerate(photos):
        context.set_geolocation({"latitude": 36.58 + index * 0.001, "longitude": 116.25, "accuracy": 8})
        make_report(page, photo, note=f"离线上报 {index + 1} <script>alert(1)</script>")
    page.click(".tabbar a[data-tab=capture]")
    page.wait_for_selector("#photo-camera", state="attached")
    shot(page, "capture")
    page.reload()  # still offline: the outbox survives a reload
    page.goto(f"{field_server.url}/field/#/outbox")
    page.wait_for_selector(".outbox-item")
    # The app tries to send at start even offline: an item is "sending" for a moment
    # before it falls back to pending. All three must come back to waiting, none lost.
    wait_until(page, lambda: [r["status"] for r in outbox(page)] == ["pending"] * 3, message="three reports waiting")
    wait_until(page, lambda: page.locator(".outbox-item[data-status=pending]").count() == 3, message="shown waiting")
    assert "3" in page.inner_text("#sync-status")
    shot(page, "outbox-offline")
    queued = {r["client_id"] for r in outbox(page)}

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")  # as the phone does when signal returns
    wait_until(page, lambda: sent_ids(page) >= queued, message="all three sent")
    page.wait_for_selector(".outbox-item[data-status=sent] >> nth=2")
    shot(page, "outbox-sent")
    cases = my_cases()
    assert len(cases) == before + 3
    arrived = [c for c in cases if c.client_id in queued]
    assert {c.location_source for c in arrived} == {"device"}
    assert all(c.description.startswith("离线上报") and len(c.photos) == 1 for c in arrived)
    # Made small on the phone: nothing larger than 1600 px was uploaded.
    assert all(max(p.width, p.height) <= 1600 for c in arrived for p in c.photos)
    for client_id in queued:
        assert count(Case, Case.client_id == client_id) == 1


def test_a_photo_with_exif_gps_and_no_device_location_arrives_at_the_exif_position(field_server, phone):
    """An 18-year-old photo from Tuscany: asked about before it is saved, sent when the
    reporter says yes, and flagged for the dispatcher (never refused)."""
    page = phone(located=False).new_page()
    login(page, field_server.url)
    page.click(".tabbar .tab-report")
    page.wait_for_selector("#photo-camera", state="attached")
    page.set_input_files("#photo-camera", str(photo_path("gps/DSCN0010.jpg")))
    page.wait_for_selector(".photo-list .photo img")
    page.locator("details.class summary").first.click()
    page.locator("details.class .chip").first.click()
    page.click("form.capture button[type=submit]")
    page.wait_for_selector(".place-questions:not([hidden])")
    asked = page.eval_on_selector_all(".place-questions li", "items => items.map(i => i.dataset.question)")
    assert asked == ["outside_county", "old_photo"]
    shot(page, "place-question")
    assert outbox(page) == []  # nothing saved until answered
    page.click(".place-questions [data-answer=yes]")
    page.wait_for_selector(".report-button")
    wait_until(page, lambda: any(r["status"] == "sent" for r in outbox(page)), message="report sent")
    record = outbox(page)[0]
    case = db.session.get(Case, record["server"]["id"])
    assert case.location_source == "exif"
    # DSCN0010.jpg: 43°28'2.814"N 11°53'6.456"E
    assert case.lat == pytest.approx(43.467448, abs=1e-4)
    assert case.lng == pytest.approx(11.885127, abs=1e-4)
    assert case.location_flags == ["outside_county", "old_photo"]

    # The dispatcher's queue shows the questions beside the report.
    page.context.clear_cookies()
    page.goto(f"{field_server.url}/auth/login")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.goto(f"{field_server.url}/dashboard/queue")
    card = page.locator(f".queue .card:has(a:text-is('{case.ref}'))")
    assert card.locator(".badge.location-flag").count() == 2
    card.scroll_into_view_if_needed()
    shot(page, "queue-place-flags")


def test_server_errors_and_429_are_retried_and_a_422_waits_for_the_worker(field_server, phone):
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    calls = []

    def fail_twice(route):
        calls.append(time.monotonic())
        if len(calls) == 1:  # a rate limit: wait as long as the server says, never a rejection
            route.fulfill(status=429, headers={"Retry-After": "3"}, content_type="application/json",
                          body=json.dumps({"error": {"code": "rate_limited", "message": "Too many reports; try again in 3 seconds."}}))
        elif len(calls) == 2:
            route.fulfill(status=500, content_type="application/json", body=json.dumps({"error": {"code": "internal_error", "message": "boom"}}))
        else:
            route.continue_()

    context.route("**/api/v1/reports", fail_twice)
    make_report(page, "plain/Canon_40D.jpg")
    limited = wait_until(page, lambda: [r for r in outbox(page) if r["attempts"] == 1], message="the 429 seen")[0]
    assert limited["status"] in ("pending", "sending") and limited["last_error"]["status"] == 429
    wait_until(page, lambda: any(r["status"] == "sent" for r in outbox(page)), timeout=30, message="sent after a 429 and a 500")
    record = outbox(page)[0]
    assert len(calls) == 3 and record["attempts"] == 2
    assert calls[1] - calls[0] >= 2.9  # Retry-After (3 s), not the first backoff (2 s)
    assert count(Case, Case.client_id == record["client_id"]) == 1
    context.unroute("**/api/v1/reports")

    def failures_reported():  # the heartbeat after the sync tells the supervisors about the two failures
        db.session.remove()
        device = db.session.scalar(select(Device).join(User).where(User.username == "worker001")
                                   .order_by(Device.last_seen_at.desc()).limit(1))
        return device is not None and (device.sync_failures, device.last_failure) == (2, "HTTP 500")

    wait_until(page, failures_reported, message="the failed syncs in the heartbeat")

    # The category is withdrawn on the server while the report waits: a real 422.
    context.set_offline(True)
    make_report(page, "orientation/landscape_3.jpg")
    waiting = next(r for r in outbox(page) if r["status"] in ("pending", "sending"))
    category = db.session.scalar(select(Category).where(Category.code == waiting["meta"]["category"]))
    category.active = False
    db.session.commit()
    rejected_calls = []
    context.route("**/api/v1/reports", lambda route: (rejected_calls.append(1), route.continue_()))
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, lambda: any(r["status"] == "rejected" for r in outbox(page)), message="rejected")
    page.goto(f"{field_server.url}/field/#/outbox")
    item = page.locator(".outbox-item[data-status=rejected]")
    assert "该类别已停用" in item.inner_text()
    shot(page, "outbox-rejected")
    page.wait_for_timeout(4000)  # longer than any backoff so far: no retry on its own
    page.click("text=立即同步")
    page.wait_for_timeout(1000)
    assert len(rejected_calls) == 1
    rejected = [r for r in outbox(page) if r["status"] == "rejected"]
    assert len(rejected) == 1 and rejected[0]["last_error"]["status"] == 422
    assert count(Case, Case.client_id == rejected[0]["client_id"]) == 0


def test_a_server_killed_mid_flush_and_restarted_gets_every_report_exactly_once(field_server, phone):
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    context.set_offline(True)
    for photo in ["plain/Canon_40D.jpg", "orientation/landscape_5.jpg", "plain/no_exif.jpg"]:
        make_report(page, photo)
    queued = {r["client_id"] for r in outbox(page)}
    posts = []

    def crash_on_second(route):
        posts.append(route.request.url)
        if len(posts) == 2:
            route.fetch()  # the server stores the report ...
            field_server.kill()  # ... and dies before the phone hears back
            route.abort("connectionreset")
        else:
            route.continue_()

    context.route("**/api/v1/reports", crash_on_second)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, lambda: len(posts) >= 2 and field_server.process.poll() is not None, message="crash")
    page.wait_for_timeout(500)
    states = {r["client_id"]: r["status"] for r in outbox(page)}
    assert sorted(states.values()) == ["pending", "pending", "sent"]
    field_server.start()
    page.click(".tabbar a[data-tab=outbox]")
    page.click("text=立即同步")
    wait_until(page, lambda: sent_ids(page) >= queued, timeout=30, message="all sent after restart")
    for client_id in queued:
        assert count(Case, Case.client_id == client_id) == 1


def test_an_expired_login_keeps_the_queue_until_the_worker_logs_in_again(field_server, phone):
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    context.set_offline(True)
    make_report(page, "plain/Canon_40D.jpg")
    queued = outbox(page)[0]["client_id"]
    db.session.remove()
    for token in db.session.scalars(select(DeviceToken)):
        token.revoked_at = utcnow()  # expired or revoked by an administrator: the same 401
    db.session.commit()
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_selector("#auth-banner:not([hidden])")
    shot(page, "login-expired")
    assert outbox(page)[0]["status"] == "pending"
    assert count(Case, Case.client_id == queued) == 0
    page.click("#auth-banner a")
    page.fill("input[name=password]", DEMO_PASSWORD)  # the username is kept
    page.click("form button[type=submit]")
    wait_until(page, lambda: outbox(page)[0]["status"] == "sent", message="sent after login")
    assert count(Case, Case.client_id == queued) == 1


def test_a_task_is_readable_offline_and_acknowledged_exactly_once(field_server, phone):
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    page.click(".tabbar a[data-tab=tasks]")
    page.wait_for_selector(".rows a.row")
    shot(page, "tasks")
    task_id = int(page.locator(".rows a.row").first.get_attribute("data-case-id"))
    assert db.session.get(Case, task_id).status == "dispatched"
    page.wait_for_timeout(1500)  # the task pages are kept for offline reading
    context.set_offline(True)
    page.reload()
    page.goto(f"{field_server.url}/field/#/tasks/{task_id}")
    page.wait_for_selector("button[data-action=acknowledge]")
    page.click("button[data-action=acknowledge]")
    page.wait_for_selector(".queued-list li")
    shot(page, "task")
    page.reload()
    page.wait_for_selector(".queued-list li")  # still queued after a reload

    posts = []

    def lose_first_answer(route):
        posts.append(1)
        if len(posts) == 1:
            route.fetch()  # applied on the server, the answer is lost: the phone sends it again
            route.abort("connectionreset")
        else:
            route.continue_()

    context.route("**/api/v1/cases/*/actions", lose_first_answer)
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, lambda: any(r["kind"] == "action" and r["status"] == "sent" for r in outbox(page)),
               timeout=30, message="acknowledgement sent")
    assert len(posts) == 2
    assert count(CaseEvent, CaseEvent.case_id == task_id, CaseEvent.action == "acknowledge") == 1
    assert db.session.get(Case, task_id).status == "acknowledged"


def test_the_map_and_the_heartbeat(field_server, phone):
    seeded = set(db.session.scalars(select(Device.device_id)))  # the demo's phones (civic/devices/demo.py)
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    page.click(".tabbar a[data-tab=map]")
    page.wait_for_selector(".leaflet-overlay-pane path")  # the grid boundary, with no tiles at all
    page.wait_for_timeout(500)
    shot(page, "map")
    page.click(".tabbar a[data-tab=outbox]")
    page.click("text=立即同步")
    wait_until(page, lambda: count(Device) > len(seeded), message="heartbeat")
    db.session.remove()
    device = db.session.scalars(select(Device).where(Device.device_id.not_in(seeded))).one()
    assert device.user.username == "worker001" and device.pending == 0 and device.app_version
    assert device.storage_quota and device.last_sync_at is None or device.last_sync_at
    page.click("#lang-toggle")
    page.wait_for_selector("text=Sync now")
    shot(page, "outbox-en")


def test_a_new_version_waits_for_the_worker_and_never_interrupts_a_capture(field_server, phone):
    context = phone()
    page = context.new_page()
    login(page, field_server.url)
    first = page.evaluate("document.querySelector('meta[name=app-version]').content")
    page.click(".tabbar .tab-report")
    page.set_input_files("#photo-camera", str(photo_path("plain/Canon_40D.jpg")))
    page.wait_for_selector(".photo-list .photo img")
    # The next deployment, while the worker is taking the photo.
    field_server.kill()
    field_server.env["CIVIC_RELEASE"] = "next"
    field_server.start()
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    wait_for_js(page, "navigator.serviceWorker.getRegistration().then(r => !!r.waiting)", "the new version installed")
    page.wait_for_timeout(300)
    assert page.locator("#update-banner").is_hidden()  # not in the middle of a capture
    page.locator("details.class summary").first.click()
    page.locator("details.class .chip").first.click()
    submit_capture(page)
    page.wait_for_selector("#update-banner:not([hidden])")
    shot(page, "update-available")
    page.click("#update-banner button")
    # The page reloads into the new shell once the new worker has taken over.
    wait_for_js(page, f"document.querySelector('meta[name=app-version]')?.content !== '{first}'", "the new shell")
    page.wait_for_selector(".report-button")
    assert page.evaluate("caches.keys()").count(f"civic-shell-{first}") == 0  # the old shell is gone
    wait_until(page, lambda: all(r["status"] == "sent" for r in outbox(page)), message="the report survived the update")


def test_a_full_phone_keeps_the_report_on_screen(field_server, phone):
    page = phone().new_page()
    login(page, field_server.url)
    page.click(".tabbar .tab-report")
    page.set_input_files("#photo-camera", str(photo_path("plain/Canon_40D.jpg")))
    page.wait_for_selector(".photo-list .photo img")
    page.locator("details.class summary").first.click()
    page.locator("details.class .chip").first.click()
    page.fill("textarea[name=note]", "消防通道被占用")
    page.evaluate("""() => { window.realAdd = IDBObjectStore.prototype.add;
        IDBObjectStore.prototype.add = function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); }; }""")
    submit_capture(page)
    page.wait_for_selector("text=手机存储空间已满")
    shot(page, "storage-full")
    assert page.input_value("textarea[name=note]") == "消防通道被占用"
    assert page.locator(".photo-list .photo img").count() == 1
    assert outbox(page) == []
    page.evaluate("() => { IDBObjectStore.prototype.add = window.realAdd; }")  # space freed
    page.click("form.capture button[type=submit]")
    wait_until(page, lambda: [r["status"] for r in outbox(page)] == ["sent"], message="saved and sent")


def test_a_heic_photo_the_browser_cannot_read_is_sent_as_it_is_and_converted_by_the_server(field_server, phone):
    page = phone().new_page()
    login(page, field_server.url)
    make_report(page, "heic/samplefilehub.heif")
    wait_until(page, lambda: any(r["status"] == "sent" for r in outbox(page)), message="report sent")
    case = db.session.get(Case, outbox(page)[0]["server"]["id"])
    assert [p.source_format for p in case.photos] in (["HEIF"], ["HEIC"])


def test_a_shared_phone_sends_each_report_as_the_person_who_made_it(field_server, phone):
    context = phone()
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, field_server.url)
    context.set_offline(True)
    make_report(page, "plain/Canon_40D.jpg")
    queued = outbox(page)[0]["client_id"]
    page.click("text=退出登录")
    page.wait_for_selector("input[name=username]")
    context.set_offline(False)
    login(page, field_server.url, username="worker002")
    page.goto(f"{field_server.url}/field/#/outbox")
    page.wait_for_selector("text=等待其上报人重新登录后发送")
    page.click("text=立即同步")
    page.wait_for_timeout(1000)
    assert count(Case, Case.client_id == queued) == 0  # never sent as somebody else
    page.goto(f"{field_server.url}/field/#/")
    page.click("text=退出登录")
    page.wait_for_selector("input[name=username]")
    login(page, field_server.url, username="worker001")
    wait_until(page, lambda: outbox(page)[0]["status"] == "sent", message="sent as worker001")
    db.session.remove()
    assert db.session.scalar(select(Case).where(Case.client_id == queued)).reporter.username == "worker001"


def dispatch_to(app, username, *, dispatcher="dispatcher"):
    """A hotline call in `username`'s grid, dispatched to them through the API, as the command centre would."""
    import uuid

    from geoalchemy2.shape import to_shape

    from civic.accounts.services import issue_token

    db.session.remove()
    worker = db.session.scalar(select(User).where(User.username == username))
    boss = db.session.scalar(select(User).where(User.username == dispatcher))
    centre = to_shape(worker.grids[0].polygon).representative_point()
    token = issue_token(boss, device_id="command-centre")
    db.session.commit()
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    report = client.post("/api/v1/reports", headers=headers, json={
        "client_id": str(uuid.uuid4()), "category": "E0102", "description": "热线：路口垃圾堆积",
        "lat": centre.y, "lng": centre.x, "channel": "hotline"})
    assert report.status_code == 201, report.json
    case_id = report.json["id"]
    response = client.post(f"/api/v1/cases/{case_id}/actions", headers=headers, json={
        "client_id": str(uuid.uuid4()), "action": "dispatch", "assignee_id": worker.id})
    assert response.status_code == 201, response.json
    return case_id


def test_an_open_app_shows_a_new_assignment_within_ten_seconds_without_push(app, field_server, phone):
    page = phone().new_page()
    login(page, field_server.url)
    page.wait_for_timeout(1000)  # the app has looked at the tasks once
    case_id = dispatch_to(app, "worker001")
    started = time.monotonic()
    page.wait_for_selector("#task-banner:not([hidden])", timeout=10000)
    assert time.monotonic() - started <= 10
    shot(page, "new-task")
    page.click("#task-banner a")
    page.wait_for_url(f"**/field/#/tasks/{case_id}")
    page.wait_for_selector("button[data-action=acknowledge]")


def test_a_push_shows_one_notification_per_case_and_a_tap_opens_the_task(field_server, phone):
    context = phone()
    context.grant_permissions(["geolocation", "notifications"], origin=field_server.url)
    page = context.new_page()
    login(page, field_server.url)
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    wait_until(page, lambda: registrations, message="the registration")
    registration_id = registrations[0]["registrationId"]
    # A push delivered before the worker is active can be dropped (seen once, on a loaded machine): wait for it.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    db.session.remove()
    worker = db.session.scalar(select(User).where(User.username == "worker001"))
    task_id = db.session.scalars(select(Case.id).where(Case.assignee_id == worker.id, Case.status == "dispatched")).first()

    def deliver(title):
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": field_server.url, "registrationId": registration_id,
            "data": json.dumps({"title": title, "body": "CG · 府前社区第1网格 · 请在 15 分钟内签收", "kind": "assignment",
                                "case_id": task_id, "url": f"/field/#/tasks/{task_id}", "tag": f"case-{task_id}", "urgent": True})})

    notifications = "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => ({title: n.title, tag: n.tag, body: n.body})))"
    # A push service delivers again what a phone did not take; the DevTools protocol
    # does not, and on a loaded machine a delivery has been lost: send it again after
    # a while. The same tag replaces, so more than one arrival still shows one.
    shown = None
    for _attempt in range(4):
        deliver("新任务：垃圾箱满溢")
        try:
            shown = wait_until(page, lambda: page.evaluate(notifications), timeout=12, message="a notification")
            break
        except AssertionError:
            continue
    assert shown, "no notification after four deliveries"
    assert shown == [{"title": "新任务：垃圾箱满溢", "tag": f"case-{task_id}", "body": "CG · 府前社区第1网格 · 请在 15 分钟内签收"}]
    deliver("催办：垃圾箱满溢")  # the same case again: replaces, does not pile up
    wait_until(page, lambda: [n["title"] for n in page.evaluate(notifications)] == ["催办：垃圾箱满溢"], message="replaced")

    page.goto(f"{field_server.url}/field/#/outbox")  # the worker is elsewhere in the app
    page.evaluate(f"navigator.serviceWorker.controller.postMessage({{type: 'OPEN_NOTIFICATION', tag: 'case-{task_id}'}})")
    wait_for_js(page, f"location.hash === '#/tasks/{task_id}'", "the task page")
    page.wait_for_selector("button[data-action=acknowledge]")
    shot(page, "push-opened")
    assert page.evaluate(notifications) == []  # a tap closes it


FAKE_PUSH_MANAGER = """([endpoint, keys]) => {
  // Headless Chromium has no push service to subscribe with (it would be Google's):
  // stand in for it with the test's fake service; everything else is the real app.
  let current = null;
  PushManager.prototype.getSubscription = async () => current;
  PushManager.prototype.subscribe = async () => (current = {
    endpoint, options: {}, toJSON: () => ({ endpoint, keys }), unsubscribe: async () => { current = null; return true; } });
}"""


def test_turning_on_alerts_then_a_dispatch_reaches_the_phone_through_the_push_service(app, field_server, phone):
    from tests.push.fake_service import FakePushService

    context = phone()
    context.grant_permissions(["geolocation", "notifications"], origin=field_server.url)
    page = context.new_page()
    login(page, field_server.url)
    key = page.request.get(f"{field_server.url}/api/v1/push/key").json()["public_key"]
    service = FakePushService(key)
    try:
        subscriber = service.subscriber("worker001-phone")
        page.evaluate(FAKE_PUSH_MANAGER, [subscriber.endpoint, subscriber.json()["keys"]])
        page.reload()
        page.evaluate(FAKE_PUSH_MANAGER, [subscriber.endpoint, subscriber.json()["keys"]])
        page.wait_for_selector(".push-card")
        shot(page, "push-opt-in")
        page.click(".push-card button")
        page.wait_for_selector("text=任务提醒已开启")

        case_id = dispatch_to(app, "worker001")
        received = wait_until(page, lambda: service.requests_for("worker001-phone"), timeout=15, message="a push sent")[0]
        assert received.error is None and received.status == 201  # the JWT verified and the body decrypted
        assert received.payload["case_id"] == case_id and received.payload["url"] == f"/field/#/tasks/{case_id}"

        cdp = context.new_cdp_session(page)
        registrations = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
        cdp.send("ServiceWorker.enable")
        wait_until(page, lambda: registrations, message="the registration")
        notifications = "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => n.title))"
        sent_at = [0.0]

        def shown():
            # DevTools drops a push message now and then while the worker starts up on a
            # loaded machine: send it again every few seconds (its tag makes a repeat
            # replace the notification, so exactly one must show).
            if time.monotonic() - sent_at[0] > 3:
                for registration in registrations:
                    cdp.send("ServiceWorker.deliverPushMessage", {"origin": field_server.url,
                                                                  "registrationId": registration["registrationId"],
                                                                  "data": json.dumps(received.payload)})
                sent_at[0] = time.monotonic()
            return page.evaluate(notifications)

        assert wait_until(page, shown, message="notification") == [received.payload["title"]]
        assert received.payload["title"].startswith("新任务")

        # Quiet nights, from the home screen.
        from civic.push.models import NotificationPreference

        page.goto(f"{field_server.url}/field/#/")
        page.click("details.settings summary")
        page.check("details.settings input[type=checkbox]")
        page.wait_for_selector("text=已保存。")
        db.session.remove()
        worker = db.session.scalar(select(User).where(User.username == "worker001"))
        assert db.session.scalar(select(NotificationPreference.mute_at_night)
                                 .where(NotificationPreference.user_id == worker.id)) is True
    finally:
        service.stop()
