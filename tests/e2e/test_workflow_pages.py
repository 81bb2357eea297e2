"""The workflow as staff and dispatchers see it, in Debian's Chromium at 360×640:
a department's inbox in the field app (countdowns, one-tap "收到"), the case page
with its steps, and the dispatcher's queue with a bulk dispatch and a merge.
Screenshots land in test-artifacts/workflow-*.png."""
import pytest
from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent, CaseFollower
from civic.extensions import db
from tests.e2e.conftest import ARTIFACTS, DEMO_PASSWORD, wait_until
from tests.e2e.test_field_app import login as field_login
from tests.e2e.test_field_app import outbox

pytestmark = pytest.mark.e2e


def shot(page, name, full_page=False):
    page.screenshot(path=ARTIFACTS / f"workflow-{name}.png", full_page=full_page)


def web_login(page, base, username):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


def fresh(case_id):
    db.session.remove()  # see what the app process committed
    return db.session.get(Case, case_id)


def busiest_department():
    """The department with the most dispatched cases in the demo county, and its staff login."""
    code = db.session.execute(
        select(Case.department_id, func.count()).where(Case.status == "dispatched", Case.department_id.is_not(None))
        .group_by(Case.department_id).order_by(func.count().desc())).first()[0]
    department = db.session.get(Case, db.session.scalar(select(Case.id).where(Case.department_id == code))).department
    return department, f"staff_{department.code.lower()}"


def test_department_inbox_and_case_page(field_server, phone):
    department, username = busiest_department()
    page = phone().new_page()
    field_login(page, field_server.url, username)
    page.click(".tabbar a[data-tab=tasks]")
    page.wait_for_selector(".rows a.row")
    assert page.locator(".rows .deadline").count() >= 1  # every task shows its countdown
    # The running stage's: a dispatched task counts down to its acknowledgement (签收).
    assert page.locator(".rows .deadline[data-stage=acknowledge]").count() >= 1
    shot(page, "staff-inbox")

    ids = [int(i) for i in page.eval_on_selector_all(".rows a.row", "rows => rows.map(r => r.dataset.caseId)")]
    assert all(fresh(i).department_id == department.id or fresh(i).assignee_id is not None for i in ids)
    task_id = next(i for i in ids if fresh(i).status == "dispatched")
    page.goto(f"{field_server.url}/field/#/tasks/{task_id}")
    page.click("button[data-action=acknowledge]")  # one tap: 收到
    wait_until(page, lambda: any(r["kind"] == "action" and r["status"] == "sent" for r in outbox(page)),
               message="acknowledgement sent")
    assert fresh(task_id).status == "acknowledged"

    # The same case on its page, as a member of staff at a desk would open it.
    web_login(page, field_server.url, username)
    case = fresh(task_id)
    page.goto(f"{field_server.url}/cases/{case.ref}")
    page.wait_for_selector("button[data-action=start]")
    # Its six stages: acknowledged just now, the handling running on its own clock.
    assert page.locator(".stage-list li").count() == 6
    assert page.locator("li.stage.done[data-stage=acknowledge]").count() == 1
    assert page.locator("li.stage.running[data-stage=handle] .deadline").count() == 1
    assert page.locator("li[data-stage=verify] .stage-time").inner_text() in ("未开始", "not yet")
    assert page.locator("[data-step=return] textarea").count() == 1
    assert page.locator("[data-step=request_extension] input[type=datetime-local]").count() == 1
    shot(page, "case-page", full_page=True)
    page.click("button[data-action=start]")
    page.wait_for_selector(".flash")
    assert fresh(task_id).status == "in_progress"
    assert page.locator("[data-step=handle] input[type=file]").count() == 1


def test_dispatcher_queue_bulk_dispatch_and_merge(field_server, phone):
    page = phone().new_page()
    web_login(page, field_server.url, "dispatcher")
    page.goto(f"{field_server.url}/dashboard/queue")
    page.wait_for_selector(".queue .card")
    shot(page, "dispatcher-queue")
    shot(page, "dispatcher-queue-full", full_page=True)

    waiting = db.session.scalars(select(Case).where(Case.status.in_(["reported", "accepted"]))
                                 .order_by(Case.received_at.desc())).all()
    routed = [c for c in waiting if c.department_id is not None][:2]
    assert len(routed) == 2, "the demo county has routed reports waiting"
    for case in routed:
        page.check(f"input[name=case][value='{case.id}']")
    page.select_option("select[name=action]", "dispatch")
    page.click(".bulk-bar button[type=submit]")
    page.wait_for_selector(".flash")
    assert [fresh(c.id).status for c in routed] == ["dispatched", "dispatched"]

    # A resident's report of a problem already being worked on: merged ("me too").
    duplicate = next(c for c in waiting if c not in routed and c.reporter_id is not None)
    target = db.session.scalar(select(Case).where(Case.status == "dispatched", Case.id != duplicate.id)
                               .order_by(Case.id))
    page.goto(f"{field_server.url}/cases/{duplicate.ref}")
    page.fill("[data-step=merge] input[name=into][type=text]", target.ref)
    shot(page, "merge", full_page=True)
    page.click("[data-step=merge] button[type=submit]")
    page.wait_for_selector(".flash")
    assert fresh(duplicate.id).status == "rejected" and fresh(duplicate.id).merged_into_id == target.id
    assert db.session.get(CaseFollower, (target.id, duplicate.reporter_id)) is not None \
        or duplicate.reporter_id == target.reporter_id
    assert db.session.scalar(select(func.count()).select_from(CaseEvent)
                             .where(CaseEvent.case_id == target.id, CaseEvent.action == "merged_in")) == 1


def test_park_a_case_and_find_it_listed_apart(field_server, phone):
    """挂账 at a desk on a phone-sized screen: the department asks with the reason,
    what it needs and a review date; a supervisor approves; the case leaves the
    clocks and shows on the parked list until its review date."""
    from datetime import timedelta

    from civic.timeutil import local_zone, utcnow

    from civic.cases.models import ParkRequest

    case_id = db.session.scalar(select(Case.id).where(Case.department_id.is_not(None), Case.assignee_id.is_(None),
                                                      Case.status.in_(["acknowledged", "in_progress"]),
                                                      Case.id.not_in(select(ParkRequest.case_id)))
                                .order_by(Case.id))
    case = fresh(case_id)
    username = f"staff_{case.department.code.lower()}"
    page = phone().new_page()
    web_login(page, field_server.url, username)
    page.goto(f"{field_server.url}/cases/{case.ref}")
    page.click("[data-step=request_park] summary")
    # 惯用语: the standard "needs a budget" reply fills the note, to be edited.
    page.select_option("[data-step=request_park] select[data-reply-for=request_park]", label="需列入预算")
    assert "申请挂账" in page.input_value("[data-step=request_park] textarea[name=note]")
    review = (utcnow() + timedelta(days=20)).replace(tzinfo=__import__("datetime").timezone.utc)
    page.fill("[data-step=request_park] textarea[name=note]", "护栏需整段更换")
    page.fill("[data-step=request_park] textarea[name=needs]", "年度维修预算")
    page.fill("[data-step=request_park] input[name=until]", review.astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M"))
    shot(page, "park-request", full_page=True)
    page.click("[data-step=request_park] button[type=submit]")
    page.wait_for_selector(".flash")
    assert fresh(case_id).status in ("acknowledged", "in_progress")

    page.context.clear_cookies()
    web_login(page, field_server.url, "supervisor")
    page.goto(f"{field_server.url}/cases/{case.ref}")
    assert "年度维修预算" in page.locator(".park-request").inner_text()
    page.click("button[data-action=approve_park]")
    page.wait_for_selector(".flash")
    assert fresh(case_id).status == "parked"
    assert page.locator("dd.parked").count() == 1
    assert page.locator("li.stage.running").count() == 0  # no clock runs while parked
    shot(page, "parked-case", full_page=True)
    page.goto(f"{field_server.url}/dashboard/parked")
    assert case.ref in page.locator(".parked-list").last.inner_text()
    shot(page, "parked-list", full_page=True)


def test_a_shared_case_each_department_its_part(field_server, phone):
    """主办/协办 on a phone-sized screen: the dispatcher names two assisting
    departments; one of them signs for and reports its part from the field app
    (its own countdown in the task list); the lead sees the parts on the case page
    and cannot close the case before the other part is in."""
    from civic.grids.models import Department

    case_id = db.session.scalar(select(Case.id).where(Case.status.in_(["reported", "accepted"]),
                                                      Case.department_id.is_not(None), Case.dispute.is_(None))
                                .order_by(Case.id))
    case = fresh(case_id)
    lead = case.department
    helpers = db.session.scalars(select(Department).where(Department.id != lead.id, Department.active.is_(True))
                                 .order_by(Department.code).limit(2)).all()
    page = phone().new_page()
    web_login(page, field_server.url, "dispatcher")
    page.goto(f"{field_server.url}/cases/{case.ref}")
    page.click("[data-step=dispatch] details.assisting summary")
    for helper in helpers:
        page.check(f"[data-step=dispatch] input[name=assisting][value={helper.code}]")
    shot(page, "assist-dispatch", full_page=True)
    page.click("[data-step=dispatch] button[type=submit]")
    page.wait_for_selector(".flash")
    assert page.locator("section.assists li[data-part]").count() == 2
    shot(page, "assist-case-dispatcher", full_page=True)

    # The first assisting department, in the field app: its own part's clock.
    helper = helpers[0]
    page.context.clear_cookies()
    field_login(page, field_server.url, f"staff_{helper.code.lower()}")
    page.click(".tabbar a[data-tab=tasks]")
    row = page.locator(f".rows a.row[data-case-id='{case_id}']")
    row.wait_for()
    assert row.locator(".deadline[data-stage=assist]").count() == 1
    shot(page, "assist-inbox")
    page.goto(f"{field_server.url}/field/#/tasks/{case_id}")
    page.click("button[data-action=assist_acknowledge]")
    wait_until(page, lambda: any(r["kind"] == "action" and r["status"] == "sent" for r in outbox(page)),
               message="part acknowledged")
    page.goto(f"{field_server.url}/field/#/tasks/{case_id}")
    page.wait_for_selector(".part-form textarea")
    page.fill(".part-form textarea", "已安排人员疏导交通")
    shot(page, "assist-report", full_page=True)
    page.click(".part-form button[data-action=assist_report]")
    wait_until(page, lambda: sum(r["kind"] == "action" and r["status"] == "sent" for r in outbox(page)) >= 2,
               message="part reported")
    from civic.cases.assists import parts_to_dict
    from civic.accounts.models import User

    viewer = db.session.scalar(select(User).where(User.username == "dispatcher"))
    statuses = {p["department"]["code"]: p["status"] for p in parts_to_dict(fresh(case_id), viewer)}
    assert statuses == {helpers[0].code: "reported", helpers[1].code: "waiting"}

    # The lead: the parts on the page; handling waits for the second part.
    page.context.clear_cookies()
    web_login(page, field_server.url, f"staff_{lead.code.lower()}")
    page.goto(f"{field_server.url}/cases/{case.ref}")
    page.click("button[data-action=acknowledge]")
    page.wait_for_selector(".flash")
    assert "已安排人员疏导交通" in page.locator("section.assists").inner_text()
    assert page.locator("button[value=handle]").count() == 0
    assert page.locator("[data-step=waive_assists] textarea").count() == 1
    shot(page, "assist-case-lead", full_page=True)
    # The same page at a desk.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()
    page.wait_for_selector("section.assists li[data-part]")
    shot(page, "assist-case-lead-desk", full_page=True)
