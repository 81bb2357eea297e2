"""Group notifications end to end, on both databases: the workflow's dispatch,
close and escalation queue a delivery in the same transaction, the runner posts
it after the commit to the department's group (the fake endpoint checks format
and signature), failures are retried with backoff and shown on the case."""
from datetime import timedelta

from sqlalchemy import func, select

from civic.extensions import db
from civic.notify.jobs import process_due
from civic.notify.models import WebhookDelivery
from civic.notify.services import notify_group
from civic.timeutil import utcnow
from tests.conftest import new_action, post_action


def deliveries(case_id=None):
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if case_id is not None:
        query = query.where(WebhookDelivery.case_id == case_id)
    db.session.expire_all()
    return db.session.scalars(query).all()


def test_dispatch_posts_to_the_departments_group(county, make_case, api_as, group, endpoint):
    robot = group("wecom", "SAN")
    case = make_case("accepted")
    response = post_action(api_as(county.dispatcher), case.id, new_action("dispatch"))
    assert response.status_code == 201, response.get_data(as_text=True)
    [received] = endpoint.accepted(robot)
    for text in (case.ref, "暴露垃圾", "网格1-1", "签收时限", "办结时限", "【派遣】",
                 f"http://127.0.0.1:5000/cases/{case.ref}"):
        assert text in received.text
    [delivery] = deliveries(case.id)
    assert (delivery.kind, delivery.adapter, delivery.status, delivery.attempts) == ("dispatch", "wecom", "sent", 1)
    assert delivery.department_id == county.departments["SAN"].id and delivery.sent_at is not None
    shown = api_as(county.supervisor).get(f"/api/v1/cases/{case.id}").json["group_notifications"]
    assert shown == [{"kind": "dispatch", "adapter": "wecom", "status": "sent", "attempts": 1, "last_error": None,
                      "sent_at": shown[0]["sent_at"]}] and shown[0]["sent_at"].endswith("Z")


def test_link_uses_public_base_url(app, county, make_case, api_as, group, endpoint):
    app.config["PUBLIC_BASE_URL"] = "https://grid.example.gov.cn/"
    robot = group("feishu", "SAN")
    case = make_case("accepted")
    post_action(api_as(county.dispatcher), case.id, new_action("dispatch"))
    assert f"https://grid.example.gov.cn/cases/{case.ref}" in endpoint.accepted(robot)[0].text


def test_dispatch_to_another_department_posts_to_that_group(county, make_case, api_as, group, endpoint):
    group("wecom", "SAN")
    trf = group("dingtalk", "TRF", secret="SECtrf")
    case = make_case("accepted")
    response = post_action(api_as(county.dispatcher), case.id, new_action("dispatch", department="TRF"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert [r.robot for r in endpoint.received] == [trf] and endpoint.received[0].accepted


def test_a_dispatch_with_an_assisting_department_posts_to_its_group_too(county, make_case, api_as, group, endpoint):
    san = group("wecom", "SAN")
    trf = group("dingtalk", "TRF", secret="SECtrf")
    case = make_case("accepted")
    response = post_action(api_as(county.dispatcher), case.id, new_action("dispatch", assisting=["TRF"]))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert {r.robot for r in endpoint.received} == {san, trf}
    [posted] = endpoint.accepted(trf)
    assert "协办" in posted.text and case.ref in posted.text
    assert sorted(d.department_id for d in deliveries(case.id)) == sorted(
        [county.departments["SAN"].id, county.departments["TRF"].id])


def test_close_posts_to_the_group_signed(county, make_case, api_as, group, endpoint):
    robot = group("dingtalk", "SAN", secret="SEC-san-密钥")
    case = make_case("handled")
    response = post_action(api_as(county.resident), case.id, new_action("verify"))
    assert response.status_code == 201, response.get_data(as_text=True)
    [received] = endpoint.accepted(robot)
    assert "【结案】" in received.text and case.ref in received.text and "结案时间" in received.text
    assert [(d.kind, d.status) for d in deliveries(case.id)] == [("close", "sent")]


def test_other_actions_post_nothing(county, make_case, api_as, group, endpoint):
    group("wecom", "SAN")
    case = make_case("dispatched")
    assert post_action(api_as(county.staff_san), case.id, new_action("acknowledge")).status_code == 201
    assert endpoint.received == [] and deliveries() == []


def test_escalation_through_notify_group_and_the_signal_posts_once(app, county, make_case, group, endpoint):
    from civic.cases.models import CaseEvent
    from civic.cases.workflow import action_applied

    robot = group("feishu", "SAN", secret="fs-secret")
    case = make_case("dispatched")
    # A chasing job: it writes its event (signal) and calls notify_group too; one post.
    event = CaseEvent(case=case, actor=county.supervisor, action="escalate", from_status=case.status,
                      to_status=case.status, note="超时未处置，请加快", created_at=utcnow())
    db.session.add(event)
    action_applied.send(case, event=event, actor=county.supervisor, rule=None)
    assert notify_group(case, "escalation") is None
    assert endpoint.received == []  # not before the commit
    db.session.commit()
    [received] = endpoint.accepted(robot)
    assert "【督办】" in received.text and "已超时" in received.text and "超时未处置" in received.text


def test_the_chasing_jobs_escalation_posts_once_and_reminders_not(county, make_case, group, endpoint):
    from datetime import datetime

    from civic.cases.chasing import chase
    from civic.cases.models import Case

    robot = group("dingtalk", "SAN", secret="SEC-chase")
    case = make_case("dispatched")
    monday_10 = datetime(2026, 11, 23, 2, 0)  # 10:00 in Shanghai, a working day
    case = db.session.get(Case, case.id)
    case.ack_due_at, case.resolve_due_at = monday_10 + timedelta(minutes=3), monday_10 + timedelta(days=3)
    db.session.commit()
    assert chase(monday_10)["remind"] == 1
    assert endpoint.received == []  # reminders stay with push
    assert chase(monday_10 + timedelta(minutes=4))["escalate"] == 1
    assert chase(monday_10 + timedelta(minutes=5))["escalate"] == 0
    [received] = endpoint.accepted(robot)
    assert "【督办】" in received.text and "签收时限：2026-11-23 10:03（已超时）" in received.text
    assert [(d.kind, d.status) for d in deliveries(case.id)] == [("escalation", "sent")]


def test_a_rolled_back_action_posts_nothing(county, make_case, group, endpoint):
    group("wecom", "SAN")
    case = make_case("dispatched")
    assert notify_group(case, "escalation") is not None
    db.session.rollback()
    assert endpoint.received == [] and deliveries() == []
    db.session.commit()
    assert endpoint.received == []


def test_no_webhook_configured_queues_nothing(county, make_case, api_as, endpoint):
    case = make_case("accepted")
    assert post_action(api_as(county.dispatcher), case.id, new_action("dispatch")).status_code == 201
    assert deliveries() == [] and endpoint.received == []
    assert api_as(county.supervisor).get(f"/api/v1/cases/{case.id}").json["group_notifications"] == []


def test_unknown_kind_of_webhook_queues_nothing(county, make_case, api_as, group, endpoint):
    group("wecom", "SAN", kind=None)  # a local URL: the host says nothing, and no webhook_kind
    case = make_case("accepted")
    assert post_action(api_as(county.dispatcher), case.id, new_action("dispatch")).status_code == 201
    assert deliveries() == []


def test_a_failing_endpoint_is_retried_with_backoff_then_sent(county, make_case, api_as, group, endpoint):
    robot = group("wecom", "SAN")
    endpoint.answer(robot, (500, {"errcode": -1, "errmsg": "system busy"}),
                    (200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
    case = make_case("accepted")
    start = utcnow()
    assert post_action(api_as(county.dispatcher), case.id, new_action("dispatch")).status_code == 201
    finished = utcnow()
    [delivery] = deliveries(case.id)
    assert (delivery.status, delivery.attempts, delivery.last_status, delivery.last_error) == \
        ("queued", 1, 500, "HTTP 500")
    # The first try was made during the request, and the next is 30 s after that try
    # (measured from the try itself, so a slow machine does not move the schedule).
    first_try = delivery.next_attempt_at - timedelta(seconds=30)
    assert start <= first_try <= finished

    shown = api_as(county.dispatcher).get(f"/api/v1/cases/{case.id}").json["group_notifications"]
    assert shown[0]["status"] == "queued" and shown[0]["last_error"] == "HTTP 500" and shown[0]["sent_at"] is None

    assert process_due(now=first_try + timedelta(seconds=29)) == {}  # not due yet
    second_try = first_try + timedelta(seconds=31)
    assert process_due(now=second_try)["retry"] == 1
    [delivery] = deliveries(case.id)
    assert delivery.attempts == 2 and "45009" in delivery.last_error and delivery.status == "queued"
    assert delivery.next_attempt_at - second_try == timedelta(seconds=120)

    assert process_due(now=second_try + timedelta(seconds=119)) == {}
    assert process_due(now=second_try + timedelta(seconds=120))["sent"] == 1
    [delivery] = deliveries(case.id)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, None)
    assert len(endpoint.received) == 3 and len(endpoint.accepted(robot)) == 1


def test_a_failure_after_the_last_attempt_is_shown_on_the_case(county, make_case, api_as, group, endpoint, runner):
    robot = group("dingtalk", "SAN", secret="SEC-right")
    county.departments["SAN"].webhook_secret = "SEC-wrong"  # the group's robot has another secret
    db.session.commit()
    case = make_case("accepted")
    start = utcnow()
    assert post_action(api_as(county.dispatcher), case.id, new_action("dispatch")).status_code == 201
    for minutes in (1, 4, 20):
        process_due(now=start + timedelta(minutes=minutes))
    [delivery] = deliveries(case.id)
    assert delivery.status == "failed" and delivery.attempts == 4
    assert "310000" in delivery.last_error and "gave up after 4 attempts" in delivery.last_error
    assert len(endpoint.received) == 4 and endpoint.accepted(robot) == []

    shown = api_as(county.dispatcher).get(f"/api/v1/cases/{case.id}").json["group_notifications"]
    assert shown == [{"kind": "dispatch", "adapter": "dingtalk", "status": "failed", "attempts": 4,
                      "last_error": delivery.last_error, "sent_at": None}]
    # Staff of the department see it; the resident who reported it does not.
    assert "group_notifications" in api_as(county.staff_san).get(f"/api/v1/cases/{case.id}").json
    assert "group_notifications" not in api_as(county.resident).get(f"/api/v1/cases/{case.id}").json
    # And on the case page, for staff.
    from tests.test_pages import login

    web = runner.app.test_client()
    login(web, "staff_san")
    page = web.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert "工作群消息" in page and "钉钉群" in page and "发送失败（已尝试 4 次）" in page
    web.post("/auth/logout")
    login(web, "resident")
    assert "工作群消息" not in web.get(f"/cases/{case.ref}").get_data(as_text=True)
    # Nothing is due any more.
    result = runner.invoke(args=["notify", "send-due"])
    assert result.exit_code == 0 and "nothing due" in result.output


def test_a_refused_request_is_not_retried(county, make_case, api_as, group, endpoint):
    robot = group("wecom", "SAN")
    endpoint.answer(robot, (404, {"errcode": 93000, "errmsg": "invalid webhook url"}))
    case = make_case("accepted")
    post_action(api_as(county.dispatcher), case.id, new_action("dispatch"))
    [delivery] = deliveries(case.id)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("failed", 1, 404)


def test_network_errors_are_retried_and_send_due_posts_them(county, make_case, api_as, group, endpoint, runner):
    group("wecom", "SAN")
    dept = county.departments["SAN"]
    good_url = dept.webhook_url
    dept.webhook_url = "http://127.0.0.1:9/wecom/nobody?key=k"  # nothing listens there
    db.session.commit()
    case = make_case("accepted")
    post_action(api_as(county.dispatcher), case.id, new_action("dispatch"))
    [delivery] = deliveries(case.id)
    assert delivery.status == "queued" and delivery.last_status is None and delivery.last_error
    # The department's URL is fixed; the retry reads it anew and posts once due.
    dept = db.session.get(type(dept), dept.id)
    dept.webhook_url = good_url
    db.session.execute(WebhookDelivery.__table__.update().values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    result = runner.invoke(args=["notify", "send-due"])
    assert result.exit_code == 0 and "1 sent" in result.output, result.output
    assert deliveries(case.id)[0].status == "sent"
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 1
