"""The workflow table: every action from every status, by every role; the audit
trail it writes; and refusals that change nothing."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from civic.cases import workflow
from civic.cases.access import RELATIONS
from civic.cases.models import Case, CaseEvent, CaseStage, ExtensionRequest, ParkRequest, Recheck, Status
from civic.cases.steps import WorkflowError
from civic.cases.workflow import TRANSITIONS, allowed_actions, apply_action
from civic.errors import ApiError
from civic.extensions import db
from civic.photos.models import Photo
from civic.timeutil import isoformat, utcnow

STATUSES = [s.value for s in Status]
USERS = ["admin", "supervisor", "dispatcher", "worker", "other_worker", "staff_san", "staff_trf", "resident",
         "resident2"]
# The case: in grid L2-1-1 (county.worker's), category E0102 (department SAN), reported
# by county.resident and assigned to county.other_worker (a worker of another grid).
WHO_MAY = {
    "accept": {"admin", "supervisor", "dispatcher"},
    "reject": {"admin", "supervisor", "dispatcher"},
    "dispatch": {"admin", "supervisor", "dispatcher"},
    "acknowledge": {"other_worker", "staff_san", "admin"},
    "start": {"other_worker", "staff_san", "admin"},
    "handle": {"other_worker", "staff_san", "admin"},
    "add_photo": {"other_worker", "staff_san", "admin"},
    "verify": {"worker", "resident", "admin", "supervisor", "dispatcher"},
    "return": {"other_worker", "staff_san", "admin"},
    "verify_fail": {"worker", "resident", "admin", "supervisor", "dispatcher"},
    "reopen": {"resident", "admin", "supervisor", "dispatcher"},
    "request_extension": {"other_worker", "staff_san", "admin"},
    "approve_extension": {"admin", "supervisor"},
    "deny_extension": {"admin", "supervisor"},
    "merge": {"admin", "supervisor", "dispatcher"},
    "reroute": {"admin", "supervisor", "dispatcher"},
    # The reporter rates; someone other than the handling department (SAN) rechecks.
    "rate": {"resident"},
    "recheck_uphold": {"admin", "supervisor", "dispatcher", "worker"},
    "recheck_reopen": {"admin", "supervisor", "dispatcher", "worker"},
    "set_urgency": {"admin", "supervisor", "dispatcher"},
    "arbitrate": {"admin", "supervisor"},
    "request_park": {"other_worker", "staff_san", "admin"},
    "approve_park": {"admin", "supervisor"},
    "deny_park": {"admin", "supervisor"},
    "resume": {"other_worker", "staff_san", "admin", "supervisor", "dispatcher"},
    # 协办: TRF assists with the case (prepare gives it an open part); SAN leads.
    "assist_acknowledge": {"staff_trf"},
    "assist_report": {"staff_trf"},
    "waive_assists": {"other_worker", "staff_san", "admin"},
}
STAMPS = {"accept": "accepted_at", "dispatch": "dispatched_at", "acknowledge": "acknowledged_at",
          "handle": "handled_at", "verify": "closed_at"}


def a_photo(n=0):
    return Photo(kind="before", position=0, sha256=f"{n:064x}", phash="0" * 16, width=4, height=3, bytes=10,
                 source_format="JPEG", display_key=f"aa/p{n}.jpg", thumb_key=f"aa/p{n}_t.jpg")


def inputs_for(action):
    """What each action needs to succeed on an E0102 case (after photo required)."""
    if action == "reject":
        return {"note": "重复上报"}
    if action in ("handle", "add_photo"):
        return {"photos": [a_photo()]}
    if action in ("return", "verify_fail", "reopen"):
        return {"note": "理由"}
    if action == "request_extension":
        return {"note": "需要更多时间", "until": utcnow() + timedelta(days=3)}
    if action == "rate":
        return {"rating": "satisfied"}
    if action in ("recheck_uphold", "recheck_reopen"):
        return {"note": "复核意见"}
    if action == "set_urgency":
        return {"note": "学校门口", "urgency": "urgent"}
    if action == "request_park":
        return {"note": "需要整段更换", "needs": "维修预算", "until": utcnow() + timedelta(days=30)}
    if action == "deny_park":
        return {"note": "可以先临时处置"}
    if action in ("assist_report", "waive_assists"):
        return {"note": "协办意见"}
    return {}


def actor_for(action, county):
    """Who does `action` in the table tests: the reporter rates, an administrator does the rest."""
    if action in ("assist_acknowledge", "assist_report"):
        return county.staff_trf  # the assisting department's staff: nobody else may
    return county.resident if action == "rate" else county.admin


def expected_status(rule, status):
    """Where an action from `status` goes: rules that close a handled case (a
    satisfied rating, an upheld recheck) move only from "handled"."""
    if rule.closes_handled:
        return "closed" if status == "handled" else status
    return rule.to_status or status


def prepare(case, action, county, make_case):
    """What must exist before `action` can be done, and the inputs that name it: a
    pending extension request to decide, an open case to merge into, a department
    to re-route to."""
    if action in ("approve_extension", "deny_extension"):
        db.session.add(ExtensionRequest(case_id=case.id, requested_by=county.staff_san.id,
                                        until=utcnow() + timedelta(days=3), reason="材料未到", status="pending"))
        db.session.commit()
    if action in ("recheck_uphold", "recheck_reopen"):
        db.session.add(Recheck(case_id=case.id, department_id=case.department_id, status="pending"))
        db.session.commit()
    if action == "merge":
        return {"into": make_case("dispatched")}
    if action == "reroute":
        return {"department": county.departments["TRF"], "note": "归交通"}
    if action in ("approve_park", "deny_park"):
        db.session.add(ParkRequest(case_id=case.id, requested_by=county.staff_san.id, reason="需要整段更换",
                                   needs="维修预算", review_at=utcnow() + timedelta(days=30), status="pending"))
        db.session.commit()
    if action in ("assist_acknowledge", "assist_report", "waive_assists"):  # TRF's part is open
        stage = "assist_handle" if action == "assist_report" else "assist_ack"
        db.session.add(CaseStage(case_id=case.id, stage=stage, round=1, owner_kind="department",
                                 owner_id=county.departments["TRF"].id, urgency="normal", started_at=utcnow()))
        db.session.commit()
    if action == "arbitrate":  # returned twice: waiting for a supervisor's decision
        db.session.get(Case, case.id).dispute = "arbitration"
        db.session.commit()
        return {"department": county.departments["TRF"], "note": "仲裁: 归交通"}
    return {}


def snapshot(case_id):
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id))
    photos = db.session.scalar(select(func.count(Photo.id)).where(Photo.case_id == case_id))
    return (case.status, case.updated_at, case.accepted_at, case.dispatched_at, case.acknowledged_at,
            case.handled_at, case.closed_at, case.assignee_id, events, photos)


def test_every_action_has_a_complete_rule():
    assert set(TRANSITIONS) == set(WHO_MAY)
    for rule in TRANSITIONS.values():
        assert rule.from_statuses and rule.from_statuses <= set(STATUSES)
        assert rule.to_status is None or rule.to_status in STATUSES
        assert rule.who and all(name in RELATIONS for name in rule.who)
        assert rule.stamp is None or hasattr(Case, rule.stamp)


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_each_action_from_every_status(county, make_case, action):
    """Allowed exactly from the statuses in the table; anything else is a 409 that changes nothing."""
    rule = TRANSITIONS[action]
    for status in STATUSES:
        case = make_case(status, assignee=county.other_worker)
        extra = prepare(case, action, county, make_case)
        before = snapshot(case.id)
        case = db.session.get(Case, case.id)
        actor = actor_for(action, county)
        if status in rule.from_statuses:
            event = apply_action(case, action, actor, client_id=None, **inputs_for(action), **extra)
            db.session.commit()
            after = db.session.get(Case, case.id)
            assert after.status == expected_status(rule, status)
            assert (event.action, event.from_status, event.to_status) == (action, status, expected_status(rule, status))
            assert event.actor_id == actor.id and event.created_at == after.updated_at
            assert snapshot(case.id)[-2] == before[-2] + 1  # exactly one event
            if action in STAMPS:
                assert getattr(after, STAMPS[action]) == event.created_at
            if rule.closes_handled and status == "handled":
                assert after.closed_at == event.created_at
        else:
            with pytest.raises(WorkflowError) as refused:
                apply_action(case, action, actor, client_id=None, **inputs_for(action), **extra)
            db.session.rollback()
            assert refused.value.status == 409 and refused.value.code == "transition_not_allowed"
            assert refused.value.case_id == case.id
            assert snapshot(case.id) == before


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_who_may_do_each_action(county, make_case, action):
    rule = TRANSITIONS[action]
    status = sorted(rule.from_statuses)[0]
    for who in USERS:
        actor = getattr(county, who)
        case = make_case(status, assignee=county.other_worker)
        extra = prepare(case, action, county, make_case)
        before = snapshot(case.id)
        case = db.session.get(Case, case.id)
        assert (action in allowed_actions(case, actor)) == (who in WHO_MAY[action]), who
        if who in WHO_MAY[action]:
            event = apply_action(case, action, actor, client_id=None, **inputs_for(action), **extra)
            db.session.commit()
            assert event.actor_id == actor.id
        else:
            with pytest.raises(WorkflowError) as refused:
                apply_action(case, action, actor, client_id=None, **inputs_for(action), **extra)
            db.session.rollback()
            assert (refused.value.status, refused.value.code) == (403, "forbidden"), who
            assert snapshot(case.id) == before


def test_the_audit_event_says_what_happened(county, make_case):
    case = make_case("in_progress", assignee=county.worker)
    device_at = datetime(2026, 11, 20, 1, 30)
    event = apply_action(case, "handle", county.worker, client_id="7a0c1d4e-1111-4222-8333-444455556666",
                         note="  清理完毕  ", photos=[a_photo(1), a_photo(2)], at=device_at)
    db.session.commit()
    db.session.expire_all()
    event = db.session.get(CaseEvent, event.id)
    assert event.client_id == "7a0c1d4e-1111-4222-8333-444455556666"
    assert (event.from_status, event.to_status, event.note) == ("in_progress", "handled", "清理完毕")
    assert event.data["photos"] == 2 and event.data["device_at"] == "2026-11-20T01:30:00Z"
    assert event.data["content_hash"] == workflow.fingerprint(
        case.id, "handle", "清理完毕", device_at, [f"{1:064x}", f"{2:064x}"])
    assert event.created_at != device_at  # the server's time, not the phone's
    photos = db.session.get(Case, case.id).photos
    assert [(p.kind, p.position) for p in photos] == [("after", 0), ("after", 1)]


def test_reject_needs_a_note(county, make_case):
    case = make_case("reported")
    for note in (None, "", "   "):
        with pytest.raises(ApiError) as refused:
            apply_action(case, "reject", county.dispatcher, client_id=None, note=note)
        assert (refused.value.status, refused.value.code, refused.value.field) == (422, "note_required", "note")
    db.session.rollback()
    assert db.session.get(Case, case.id).status == "reported"


def test_handle_needs_an_after_photo_when_the_category_asks(county, make_case):
    case = make_case("in_progress", assignee=county.worker)  # E0102: after photo required
    with pytest.raises(ApiError) as refused:
        apply_action(case, "handle", county.worker, client_id=None)
    assert (refused.value.status, refused.value.code, refused.value.field) == (422, "after_photo_required", "photo")
    db.session.rollback()
    # An after photo already on the case is enough.
    apply_action(case, "add_photo", county.worker, client_id=None, photos=[a_photo()])
    db.session.commit()
    apply_action(case, "handle", county.worker, client_id=None)
    db.session.commit()
    assert db.session.get(Case, case.id).status == "handled"


def test_handle_without_photo_when_the_category_does_not_ask(county, make_case):
    case = make_case("acknowledged", category="E0204", assignee=county.worker)  # leafleting: no photo needed
    assert not case.category.after_photo_required
    apply_action(case, "handle", county.worker, client_id=None)
    db.session.commit()
    assert db.session.get(Case, case.id).status == "handled"


def test_add_photo_needs_a_photo_and_other_actions_take_none(county, make_case):
    case = make_case("in_progress", assignee=county.worker)
    with pytest.raises(ApiError) as refused:
        apply_action(case, "add_photo", county.worker, client_id=None)
    assert refused.value.code == "photo_required"
    with pytest.raises(ApiError) as refused:
        apply_action(make_case("dispatched", assignee=county.worker), "acknowledge", county.worker,
                     client_id=None, photos=[a_photo()])
    assert refused.value.code == "photos_not_allowed" and refused.value.field == "photo"


def test_add_photo_keeps_the_status(county, make_case):
    case = make_case("handled", assignee=county.worker)
    event = apply_action(case, "add_photo", county.worker, client_id=None, photos=[a_photo()])
    db.session.commit()
    assert (event.from_status, event.to_status) == ("handled", "handled")
    assert db.session.get(Case, case.id).status == "handled"


def test_dispatch_to_a_person_and_a_department(county, make_case):
    case = make_case("accepted")
    event = apply_action(case, "dispatch", county.dispatcher, client_id=None, assignee=county.worker,
                         department=county.departments["TRF"])
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.assignee_id == county.worker.id and case.assigned_at == case.dispatched_at
    assert case.department.code == "TRF" and case.assignee.username == "worker"
    assert event.data["assignee_id"] == county.worker.id and event.data["department"] == "TRF"
    assert "acknowledge" in allowed_actions(case, county.worker)
    assert "acknowledge" in allowed_actions(case, county.staff_trf)
    assert "acknowledge" not in allowed_actions(case, county.staff_san)


def test_dispatch_refuses_residents_as_assignees_and_needs_a_destination(county, make_case):
    with pytest.raises(ApiError) as refused:
        apply_action(make_case("accepted"), "dispatch", county.dispatcher, client_id=None, assignee=county.resident)
    assert refused.value.field == "assignee_id"
    with pytest.raises(ApiError) as refused:
        apply_action(make_case("accepted", department=None), "dispatch", county.dispatcher, client_id=None)
    assert refused.value.code == "department_required"
    with pytest.raises(ApiError) as refused:
        apply_action(make_case("dispatched", assignee=county.worker), "acknowledge", county.worker, client_id=None,
                     assignee=county.other_worker)
    assert refused.value.field == "assignee_id"


def test_messages_say_what_the_case_is_now(county, make_case):
    with pytest.raises(WorkflowError) as refused:
        apply_action(make_case("closed", assignee=county.worker), "acknowledge", county.worker, client_id=None)
    assert refused.value.message == "This case is closed now; it can no longer be acknowledged."
    with pytest.raises(WorkflowError) as refused:
        apply_action(make_case("dispatched", assignee=county.worker), "verify", county.worker, client_id=None)
    assert refused.value.message == "This case is dispatched; it cannot be verified yet."
    with pytest.raises(WorkflowError) as refused:
        apply_action(make_case("in_progress", assignee=county.worker), "acknowledge", county.worker, client_id=None)
    assert "in progress now" in refused.value.message


def test_reassigned_case_says_so(county, make_case):
    case = make_case("dispatched", assignee=county.worker)
    case.assignee = county.other_worker
    db.session.commit()
    with pytest.raises(WorkflowError) as refused:
        apply_action(case, "acknowledge", county.worker, client_id=None)
    assert refused.value.status == 403 and refused.value.code == "forbidden"
    assert refused.value.message == "This case has been reassigned to worker2; you can no longer acknowledge it."


def test_a_level1_chief_verifies_cases_of_the_grids_below(county, make_case):
    county.other_worker.grids.append(county.grids["L1-1"])
    db.session.commit()
    case = make_case("handled", grid="L2-1-4")
    assert allowed_actions(case, county.other_worker) == ["verify", "verify_fail"]
    assert "verify" not in allowed_actions(case, county.worker)  # L2-1-1 is not the case's grid
    apply_action(case, "verify", county.other_worker, client_id=None)
    db.session.commit()
    assert db.session.get(Case, case.id).status == "closed"


def test_inactive_users_may_do_nothing(county, make_case):
    case = make_case("dispatched", assignee=county.worker)
    county.worker.active = False
    db.session.commit()
    assert allowed_actions(case, county.worker) == []


def test_unknown_action_is_422(county, make_case):
    with pytest.raises(ApiError) as refused:
        apply_action(make_case("dispatched"), "teleport", county.admin, client_id=None)
    assert (refused.value.status, refused.value.field) == (422, "action")


def _move_behind_the_sessions_back(case_id, status):
    """Another request changes the case between our read and our write."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE cases SET status = :status WHERE id = :id"), {"status": status, "id": case_id})


def test_a_case_moved_meanwhile_is_decided_again_on_what_it_is_now(county, make_case):
    case = make_case("dispatched", assignee=county.worker)
    assert case.status == "dispatched"  # loaded in this session
    _move_behind_the_sessions_back(case.id, "acknowledged")
    with pytest.raises(WorkflowError) as refused:
        apply_action(case, "acknowledge", county.worker, client_id=None)
    assert refused.value.status == 409 and "acknowledged now" in refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "acknowledge")) == 0  # nothing written


def test_a_case_moved_meanwhile_to_a_status_that_still_allows_it(county, make_case):
    case = make_case("acknowledged", assignee=county.worker, category="E0204")
    assert case.status == "acknowledged"
    _move_behind_the_sessions_back(case.id, "in_progress")
    event = apply_action(case, "handle", county.worker, client_id=None)
    db.session.commit()
    assert (event.from_status, event.to_status) == ("in_progress", "handled")


def test_events_stay_append_only(county, make_case):
    case = make_case("dispatched", assignee=county.worker)
    event = apply_action(case, "acknowledge", county.worker, client_id=None)
    db.session.commit()
    event.note = "changed"
    with pytest.raises(RuntimeError):
        db.session.commit()
    db.session.rollback()


def test_fingerprint_tells_content_apart():
    base = workflow.fingerprint(1, "handle", "ok", datetime(2026, 1, 1), ["a"])
    assert base == workflow.fingerprint(1, "handle", " ok ", datetime(2026, 1, 1), ["a"])
    for other in [workflow.fingerprint(2, "handle", "ok", datetime(2026, 1, 1), ["a"]),
                  workflow.fingerprint(1, "start", "ok", datetime(2026, 1, 1), ["a"]),
                  workflow.fingerprint(1, "handle", "ok!", datetime(2026, 1, 1), ["a"]),
                  workflow.fingerprint(1, "handle", "ok", datetime(2026, 1, 1) + timedelta(seconds=1), ["a"]),
                  workflow.fingerprint(1, "handle", "ok", datetime(2026, 1, 1), ["b"])]:
        assert other != base


# -- return, rework, reopen and extensions ------------------------------------------------

@pytest.mark.parametrize("action", ["return", "verify_fail", "reopen", "request_extension"])
def test_reasoned_actions_need_a_note(county, make_case, action):
    status = sorted(TRANSITIONS[action].from_statuses)[0]
    case = make_case(status, assignee=county.other_worker)
    before = snapshot(case.id)
    inputs = {**inputs_for(action)}
    for note in (None, "", "   "):
        inputs["note"] = note
        with pytest.raises(ApiError) as refused:
            apply_action(db.session.get(Case, case.id), action, county.admin, client_id=None, **inputs)
        db.session.rollback()
        assert (refused.value.status, refused.value.code, refused.value.field) == (422, "note_required", "note")
        assert snapshot(case.id) == before


@pytest.mark.parametrize("status", ["dispatched", "acknowledged", "in_progress"])
def test_return_lands_in_the_dispatchers_queue_again(county, make_case, status):
    case = make_case(status, assignee=county.other_worker)
    event = apply_action(case, "return", county.staff_san, client_id=None, note="不归我们管，应为交通")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.department_id, case.assignee_id, case.assigned_at) == ("accepted", None, None, None)
    assert case.dispatched_at is None and case.acknowledged_at is None
    assert (event.from_status, event.to_status, event.note) == (status, "accepted", "不归我们管，应为交通")
    assert "department_id" in event.data["cleared"]
    # the dispatcher routes it again, to the right department
    assert allowed_actions(case, county.dispatcher) == ["reject", "dispatch", "merge", "set_urgency"]
    apply_action(case, "dispatch", county.dispatcher, client_id=None, department=county.departments["TRF"])
    db.session.commit()
    assert db.session.get(Case, case.id).department_id == county.departments["TRF"].id
    assert "return" not in allowed_actions(db.session.get(Case, case.id), county.staff_san)


def test_verify_fail_sends_the_work_back(county, make_case):
    case = make_case("handled", assignee=county.other_worker)
    event = apply_action(case, "verify_fail", county.resident, client_id=None, note="垃圾还在")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.handled_at, case.assignee_id) == ("in_progress", None, county.other_worker.id)
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        "verify_fail", "handled", "in_progress", county.resident.id)
    assert "handle" in allowed_actions(case, county.other_worker)


def test_reopen_within_the_window_goes_back_to_the_same_people(county, make_case):
    case = make_case("closed", assignee=county.other_worker)
    case.closed_at = utcnow() - timedelta(days=6, hours=23)
    db.session.commit()
    department_id = case.department_id
    event = apply_action(case, "reopen", county.resident, client_id=None, note="又堆起来了")
    db.session.commit()
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.department_id, case.assignee_id) == ("dispatched", department_id,
                                                                   county.other_worker.id)
    assert case.closed_at is None and case.handled_at is None and case.acknowledged_at is None
    assert case.dispatched_at == event.created_at
    assert case.ack_due_at > event.created_at and case.resolve_due_at > case.ack_due_at  # fresh clocks
    assert (event.from_status, event.to_status) == ("closed", "dispatched")
    assert allowed_actions(case, county.other_worker) == ["acknowledge", "return"]


def test_reopen_after_the_window_is_409(county, make_case, app):
    case = make_case("closed", assignee=county.other_worker)
    case.closed_at = utcnow() - timedelta(days=7, minutes=1)
    db.session.commit()
    before = snapshot(case.id)
    assert "reopen" not in allowed_actions(case, county.resident)
    with pytest.raises(WorkflowError) as refused:
        apply_action(db.session.get(Case, case.id), "reopen", county.resident, client_id=None, note="又坏了")
    db.session.rollback()
    assert (refused.value.status, refused.value.code) == (409, "reopen_window_passed")
    assert "within 7 days" in refused.value.message
    assert snapshot(case.id) == before
    app.config["REOPEN_DAYS"] = 10  # configurable
    case = db.session.get(Case, case.id)
    assert "reopen" in allowed_actions(case, county.resident)
    apply_action(case, "reopen", county.resident, client_id=None, note="又坏了")
    db.session.commit()


def test_other_residents_cannot_reopen(county, make_case):
    case = make_case("closed")
    with pytest.raises(WorkflowError) as refused:
        apply_action(case, "reopen", county.resident2, client_id=None, note="x")
    assert refused.value.status == 403


def _requests(case_id):
    db.session.expire_all()
    return db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.case_id == case_id)
                              .order_by(ExtensionRequest.id)).all()


def test_extension_requested_then_approved(county, make_case):
    case = make_case("in_progress", assignee=county.other_worker)
    until = (utcnow() + timedelta(days=5)).replace(microsecond=0)
    event = apply_action(case, "request_extension", county.staff_san, client_id=None, note="等材料", until=until)
    db.session.commit()
    [request] = _requests(case.id)
    assert (request.status, request.until, request.reason, request.requested_by) == (
        "pending", until, "等材料", county.staff_san.id)
    assert (event.from_status, event.to_status) == ("in_progress", "in_progress")
    assert event.data["extension_id"] == request.id and event.data["until"] == isoformat(until)
    case = db.session.get(Case, case.id)
    old_due = case.resolve_due_at
    assert old_due < until
    assert allowed_actions(case, county.supervisor) == ["reroute", "approve_extension", "deny_extension", "set_urgency"]
    assert "request_extension" not in allowed_actions(case, county.staff_san)

    event = apply_action(case, "approve_extension", county.supervisor, client_id=None)
    db.session.commit()
    [request] = _requests(case.id)
    case = db.session.get(Case, case.id)
    assert case.resolve_due_at == until and case.status == "in_progress"
    assert (request.status, request.decided_by, request.decided_at) == ("approved", county.supervisor.id,
                                                                        event.created_at)
    assert event.data["extension_id"] == request.id
    assert "approve_extension" not in allowed_actions(case, county.supervisor)


def test_extension_denied_keeps_the_deadline(county, make_case):
    case = make_case("acknowledged", assignee=county.other_worker)
    due = case.resolve_due_at
    apply_action(case, "request_extension", county.other_worker, client_id=None, note="下雨",
                 until=utcnow() + timedelta(days=2))
    db.session.commit()
    apply_action(db.session.get(Case, case.id), "deny_extension", county.admin, client_id=None, note="尽快处理")
    db.session.commit()
    [request] = _requests(case.id)
    assert request.status == "denied" and request.decided_by == county.admin.id
    assert db.session.get(Case, case.id).resolve_due_at == due
    # a new request may follow a decided one
    apply_action(db.session.get(Case, case.id), "request_extension", county.other_worker, client_id=None,
                 note="还是下雨", until=utcnow() + timedelta(days=3))
    db.session.commit()
    assert [r.status for r in _requests(case.id)] == ["denied", "pending"]


def test_one_pending_extension_per_case(county, make_case):
    case = make_case("in_progress", assignee=county.other_worker)
    apply_action(case, "request_extension", county.staff_san, client_id=None, note="a",
                 until=utcnow() + timedelta(days=2))
    db.session.commit()
    before = snapshot(case.id)
    with pytest.raises(WorkflowError) as refused:
        apply_action(db.session.get(Case, case.id), "request_extension", county.other_worker, client_id=None,
                     note="b", until=utcnow() + timedelta(days=4))
    db.session.rollback()
    assert (refused.value.status, refused.value.code) == (409, "extension_pending")
    assert snapshot(case.id) == before and len(_requests(case.id)) == 1
    # the database says so too (two requests racing past the check)
    db.session.add(ExtensionRequest(case_id=case.id, requested_by=county.staff_san.id,
                                    until=utcnow() + timedelta(days=4), reason="c", status="pending"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("action", ["approve_extension", "deny_extension"])
def test_deciding_without_a_request_is_409(county, make_case, action):
    case = make_case("in_progress", assignee=county.other_worker)
    before = snapshot(case.id)
    with pytest.raises(WorkflowError) as refused:
        apply_action(db.session.get(Case, case.id), action, county.supervisor, client_id=None)
    db.session.rollback()
    assert (refused.value.status, refused.value.code) == (409, "no_pending_extension")
    assert snapshot(case.id) == before


def test_extension_needs_a_later_deadline(county, make_case):
    case = make_case("in_progress", assignee=county.other_worker)
    before = snapshot(case.id)
    for until, code in [(None, "required"), (utcnow() - timedelta(minutes=1), "out_of_range"),
                        (db.session.get(Case, case.id).resolve_due_at, "out_of_range")]:
        with pytest.raises(ApiError) as refused:
            apply_action(db.session.get(Case, case.id), "request_extension", county.staff_san, client_id=None,
                         note="x", until=until)
        db.session.rollback()
        assert (refused.value.status, refused.value.code, refused.value.field) == (422, code, "until")
    with pytest.raises(ApiError) as refused:
        apply_action(db.session.get(Case, case.id), "return", county.staff_san, client_id=None,
                     note="x", until=utcnow() + timedelta(days=3))
    db.session.rollback()
    assert (refused.value.status, refused.value.field) == (422, "until")
    assert snapshot(case.id) == before
