"""From a dispatched case to an encrypted, VAPID-signed request at a push service,
and what each answer of the service does: 201, 404/410, 429, 5xx, other 4xx,
an unreachable service; SMS where push cannot reach; night mute; residents."""
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select, update

from civic.extensions import db
from civic.push.jobs import process_due, push_state
from civic.push.models import NotificationPreference, PushDelivery, PushSubscription
from civic.push.fanout import build_payload, notify_users
from civic.timeutil import utcnow
from tests.conftest import new_action, post_action


def deliveries(**where):
    db.session.expire_all()
    query = select(PushDelivery).order_by(PushDelivery.id)
    for key, value in where.items():
        query = query.where(getattr(PushDelivery, key) == value)
    return db.session.scalars(query).all()


def subscription(sub):
    db.session.expire_all()
    return db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == sub.endpoint))


def sms_log(app):
    return push_state(app).sms.sent


def dispatch(api_as, county, case, **fields):
    response = post_action(api_as(county.dispatcher), case.id, new_action("dispatch", **fields))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response


# -- the whole way, through the API -----------------------------------------------------------

def test_dispatch_to_a_worker_reaches_their_phone_signed_and_encrypted(app, county, make_case, api_as, subscribe,
                                                                       fake_push):
    _api, phone = subscribe(county.worker, "w1")
    case = make_case("accepted")
    dispatch(api_as, county, case, assignee_id=county.worker.id)

    [request] = fake_push.received
    assert request.error is None and request.status == 201
    # The JWT verified with ES256 against the instance's public key; aud is the origin with its port.
    assert request.claims["aud"] == fake_push.origin
    assert request.claims["sub"] == "mailto:admin@civic-grid.invalid"
    assert request.headers["Urgency"] == "high" and request.headers["Topic"] == f"case-{case.id}"
    assert 86000 < int(request.headers["Ttl"]) <= 86400
    db.session.refresh(case)
    assert request.payload == build_payload("assignment", case, now=utcnow())  # decrypted with the phone's keys
    assert request.payload["title"] == "新任务：暴露垃圾"
    assert request.payload["url"] == f"/field/#/tasks/{case.id}" and request.payload["tag"] == f"case-{case.id}"
    assert request.payload["body"].startswith(f"{case.ref} · 网格1-1 · ")
    assert request.payload["kind"] == "assignment" and request.payload["urgent"] is False

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.user_id) == \
        ("sent", 1, 201, county.worker.id)
    assert delivery.sent_at is not None and delivery.case_id == case.id
    assert subscription(phone).last_success_at is not None and sms_log(app) == []


def test_payload_text_in_chinese_with_the_acknowledge_deadline(county, make_case):
    case = make_case("dispatched", category="C0102")
    now = utcnow()
    case.ack_due_at = now + timedelta(minutes=15)
    payload = build_payload("assignment", case, now=now)
    assert payload == {"title": "新任务：污水井盖", "body": f"{case.ref} · 网格1-1 · 请在 15 分钟内签收",
                       "kind": "assignment", "case_id": case.id, "ref": case.ref,
                       "url": f"/field/#/tasks/{case.id}", "tag": f"case-{case.id}", "urgent": True}
    case.ack_due_at = now - timedelta(minutes=1)
    assert build_payload("assignment", case, now=now)["body"].endswith("已超时，请尽快签收")
    case.status = "closed"
    status = build_payload("status", case, now=now)
    assert status["title"] == "您反映的问题有新进展" and status["body"] == f"{case.ref} · 污水井盖 · 已结案"
    assert status["url"] == f"/field/#/cases/{case.id}"


def test_dispatch_to_a_department_reaches_its_active_staff(app, county, make_case, api_as, subscribe, fake_push):
    from civic.accounts.models import User
    from tests.conftest import PASSWORD_HASH

    subscribe(county.staff_san, "san")
    subscribe(county.staff_trf, "trf")
    away = User(username="san_away", role="dept_staff", department=county.departments["SAN"],
                password_hash=PASSWORD_HASH, active=False)
    db.session.add(away)
    db.session.commit()
    case = make_case("accepted")  # exposed rubbish: sanitation (SAN)
    dispatch(api_as, county, case, department="SAN")
    assert [r.name for r in fake_push.received] == ["san"]
    assert [d.user_id for d in deliveries()] == [county.staff_san.id]


def test_every_phone_of_the_user_and_not_the_dispatcher(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "phone")
    subscribe(county.worker, "tablet")
    subscribe(county.dispatcher, "desk")
    case = make_case("accepted")
    dispatch(api_as, county, case, assignee_id=county.worker.id)
    assert sorted(r.name for r in fake_push.received) == ["phone", "tablet"]
    assert all(r.error is None for r in fake_push.received)


def test_one_jwt_per_push_service_reused_for_later_sends(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "w1")
    for _ in range(3):
        dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    assert len(fake_push.received) == 3 and push_state(app).sender.vapid.signed == 1
    assert len({r.headers["Authorization"] for r in fake_push.received}) == 1


def test_other_actions_notify_no_one_but_an_opted_in_resident(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "w1")
    case = make_case("dispatched", assignee=county.worker)
    assert post_action(api_as(county.worker), case.id, new_action("acknowledge")).status_code == 201
    assert fake_push.received == [] and deliveries() == []


def test_a_resident_who_opted_in_hears_of_status_changes(app, county, make_case, api_as, subscribe, fake_push):
    api, _phone = subscribe(county.resident, "res")
    api2, _ = subscribe(county.resident2, "res2")
    assert api.client.put("/api/v1/me/notifications", json={"resident_updates": True},
                          headers=api.headers).status_code == 200
    mine = make_case("accepted", reporter=county.resident)
    theirs = make_case("accepted", reporter=county.resident2)  # resident2 did not opt in
    dispatch(api_as, county, mine, assignee_id=county.worker.id)
    dispatch(api_as, county, theirs, assignee_id=county.worker.id)

    [request] = fake_push.received
    assert request.name == "res" and request.error is None
    assert request.headers["Urgency"] == "normal" and 3 * 86400 - 100 < int(request.headers["Ttl"]) <= 3 * 86400
    assert request.payload["kind"] == "status" and request.payload["body"].endswith("已派遣")
    assert request.payload["url"] == f"/field/#/cases/{mine.id}"
    # The worker has no subscription: the assignments went by SMS, the status change did not.
    assert [(d.kind, d.channel, d.user_id) for d in deliveries()] == [
        ("assignment", "sms", county.worker.id), ("status", "push", county.resident.id),
        ("assignment", "sms", county.worker.id)]


# -- answers from the push service -----------------------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_gone_deletes_the_subscription_at_once_and_falls_back_to_sms(app, county, make_case, api_as, subscribe,
                                                                   fake_push, status, caplog):
    _api, phone = subscribe(county.worker, "w1")
    fake_push.answer("w1", status)
    case = make_case("accepted")
    with caplog.at_level(logging.INFO, logger="civic.notify.sms"):
        dispatch(api_as, county, case, assignee_id=county.worker.id)
    assert subscription(phone) is None
    push, sms = deliveries()
    assert (push.channel, push.status, push.last_status_code, push.subscription_id) == ("push", "gone", status, None)
    assert (sms.channel, sms.status, sms.batch) == ("sms", "sent", push.batch)
    assert sms_log(app) == [("138****0004", f"【网格通】新任务：暴露垃圾：{push.payload['body']}")]
    assert "SMS to 138****0004: 【网格通】新任务：暴露垃圾" in caplog.text and "13800000004" not in caplog.text


def test_a_gone_subscription_with_a_working_one_left_needs_no_sms(app, county, make_case, api_as, subscribe,
                                                                 fake_push):
    subscribe(county.worker, "old")
    subscribe(county.worker, "new")
    fake_push.answer("old", 410)
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    assert sorted(d.status for d in deliveries()) == ["gone", "sent"] and sms_log(app) == []


def test_429_is_retried_after_retry_after_and_not_before(app, county, make_case, api_as, subscribe, fake_push):
    _api, phone = subscribe(county.worker, "w1")
    fake_push.answer("w1", (429, {"Retry-After": "120"}))
    before = utcnow()
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("queued", 1, 429)
    assert before + timedelta(seconds=120) <= delivery.next_attempt_at <= utcnow() + timedelta(seconds=120)
    assert subscription(phone).last_failure_at is not None and subscription(phone).failures == 0

    assert process_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == {}
    assert len(fake_push.received) == 1
    counts = process_due(now=delivery.next_attempt_at)
    assert counts["sent"] == 1 and len(fake_push.received) == 2 and fake_push.received[1].error is None
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert subscription(phone).last_success_at is not None and sms_log(app) == []


def test_429_with_an_http_date(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "w1")
    later = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=10)
    fake_push.answer("w1", (429, {"Retry-After": format_datetime(later, usegmt=True)}))
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    [delivery] = deliveries()
    wait = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(minutes=9) < wait <= timedelta(minutes=10)


def test_500_is_retried_with_backoff_then_recorded_as_a_failure(app, county, make_case, api_as, subscribe,
                                                                fake_push):
    _api, phone = subscribe(county.worker, "w1")
    fake_push.answer("w1", *[(500, {})] * 5)
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    waits = []
    for attempt in range(2, 6):
        [delivery] = deliveries(channel="push")
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("queued", attempt - 1, 500)
        waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
        assert process_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == {}  # not before
        process_due(now=delivery.next_attempt_at)
        assert len(fake_push.received) == attempt
    assert waits == [timedelta(seconds=s) for s in (30, 120, 600, 1800)]

    push, sms = deliveries()
    assert (push.status, push.attempts, push.last_status_code) == ("failed", 5, 500)
    assert push.last_error == "HTTP 500 (gave up after 5 attempts)"
    sub = subscription(phone)
    assert (sub.failures, sub.last_error) == (1, push.last_error) and sub.last_failure_at is not None
    assert (sms.channel, sms.status) == ("sms", "sent")  # the assignment still reached the worker
    assert process_due(now=utcnow() + timedelta(days=2)) == {}

    status = api_as(county.supervisor).get("/api/v1/push/status?role=grid_worker").json["users"]
    worker = next(u for u in status if u["id"] == county.worker.id)
    assert worker["subscriptions"] == 1 and worker["push_active"] is False
    assert worker["last_error"] == push.last_error and worker["last_failure_at"].endswith("Z")
    assert worker["last_success_at"] is None


def test_a_working_subscription_after_failures_is_active_again(app, county, make_case, api_as, subscribe, fake_push):
    _api, phone = subscribe(county.worker, "w1")
    fake_push.answer("w1", 400)  # other 4xx: failed at once, no retry
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    push, _sms = deliveries()
    assert (push.status, push.attempts, push.last_error) == ("failed", 1, "HTTP 400")
    assert subscription(phone).failures == 1
    # The next assignment tries push again, and SMS too while push is not known to work.
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    assert [(d.channel, d.status) for d in deliveries()][2:] == [("push", "sent"), ("sms", "sent")]
    assert subscription(phone).failures == 0 and len(sms_log(app)) == 2


def test_an_unreachable_push_service_is_retried(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "w1")
    fake_push.stop()
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    [delivery] = deliveries(channel="push")
    assert delivery.status == "queued" and delivery.last_status_code is None
    assert delivery.last_error.startswith("ConnectionRefusedError")


def test_a_retry_never_goes_after_the_notification_expires(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "w1")
    fake_push.answer("w1", (429, {"Retry-After": str(2 * 86400)}))
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    push = deliveries(channel="push")[0]
    assert push.status == "failed" and "expires" in push.last_error


def test_an_expired_delivery_is_not_sent(app, county, make_case, subscribe, fake_push):
    subscribe(county.worker, "w1")
    case = make_case("dispatched")
    [delivery_id] = notify_users([county.worker], "reminder", case)
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(update(PushDelivery).where(PushDelivery.id == delivery_id)
                       .values(next_attempt_at=past, expires_at=past))
    db.session.commit()
    assert deliveries()[0].status == "failed" and fake_push.received == []


# -- who, when --------------------------------------------------------------------------------

def test_no_subscription_means_sms_for_assignments_only(app, county, make_case):
    case = make_case("dispatched")
    notify_users([county.worker], "assignment", case)
    notify_users([county.worker], "reminder", case)
    notify_users([county.worker], "escalation", case)
    db.session.commit()
    assert [(d.kind, d.channel, d.status) for d in deliveries()] == [
        ("assignment", "sms", "sent"), ("escalation", "sms", "sent")]
    assert [text.split("：")[0] for _phone, text in sms_log(app)] == ["【网格通】新任务", "【网格通】督办"]


def test_a_user_without_a_phone_number_is_recorded_as_unreachable(app, county, make_case):
    county.worker.phone = None
    db.session.commit()
    notify_users([county.worker], "assignment", make_case("dispatched"))
    db.session.commit()
    [delivery] = deliveries()
    assert (delivery.status, delivery.last_error) == ("failed", "the user has no phone number for SMS")


def test_nothing_is_sent_for_a_rolled_back_transaction(app, county, make_case, subscribe, fake_push):
    subscribe(county.worker, "w1")
    case = make_case("dispatched")
    notify_users([county.worker], "assignment", case)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert fake_push.received == [] and deliveries() == []


def _night_around(now_local):
    start, end = now_local - timedelta(hours=1), now_local + timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


def test_night_mute_holds_a_notification_until_the_night_ends(app, county, make_case, api_as, subscribe, fake_push):
    from zoneinfo import ZoneInfo

    api, _phone = subscribe(county.worker, "w1")
    now_local = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    night = _night_around(now_local)
    assert api.client.put("/api/v1/me/notifications", json={"mute_at_night": True, "night": night},
                          headers=api.headers).json == {"mute_at_night": True, "night": night,
                                                        "resident_updates": False}
    dispatch(api_as, county, make_case("accepted"), assignee_id=county.worker.id)
    assert fake_push.received == []
    [delivery] = deliveries()
    night_end = (now_local + timedelta(hours=1)).astimezone(timezone.utc).replace(tzinfo=None)
    assert (delivery.status, delivery.next_attempt_at) == ("queued", night_end)
    assert delivery.expires_at == night_end + timedelta(days=1)
    assert process_due(now=night_end - timedelta(minutes=1)) == {} and fake_push.received == []
    assert process_due(now=night_end)["sent"] == 1 and fake_push.received[0].error is None


def test_night_mute_lets_urgent_categories_through(app, county, make_case, api_as, subscribe, fake_push):
    from zoneinfo import ZoneInfo

    subscribe(county.worker, "w1")
    now_local = datetime.now(ZoneInfo("Asia/Shanghai"))
    db.session.add(NotificationPreference(user_id=county.worker.id, mute_at_night=True, night=_night_around(now_local)))
    db.session.commit()
    dispatch(api_as, county, make_case("accepted", category="C0102"), assignee_id=county.worker.id)  # manhole cover
    [request] = fake_push.received
    assert request.payload["urgent"] is True and request.payload["title"] == "新任务：污水井盖"


def test_night_window_across_midnight():
    from zoneinfo import ZoneInfo

    from civic.push.preferences import night_release

    zone, prefs = ZoneInfo("Asia/Shanghai"), {"mute_at_night": True, "night": "22:00-07:00"}

    def utc(local):
        return local.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)

    evening, small_hours, day = datetime(2026, 3, 1, 23, 30), datetime(2026, 3, 2, 3, 0), datetime(2026, 3, 2, 12, 0)
    assert night_release(prefs, utc(evening), zone) == utc(datetime(2026, 3, 2, 7, 0))
    assert night_release(prefs, utc(small_hours), zone) == utc(datetime(2026, 3, 2, 7, 0))
    assert night_release(prefs, utc(day), zone) == utc(day)
    assert night_release({**prefs, "mute_at_night": False}, utc(evening), zone) == utc(evening)
    assert night_release({"mute_at_night": True, "night": "01:00-05:00"}, utc(small_hours), zone) == \
        utc(datetime(2026, 3, 2, 5, 0))

