"""The workflow's side paths over POST /api/v1/cases/<id>/actions: return (退回),
rework (verify_fail), reopen, and extensions (延期) with `until`; per role, with
refusals that change nothing and the audit trail."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent, ExtensionRequest
from civic.extensions import db
from civic.timeutil import isoformat, utcnow
from tests.conftest import new_action, post_action


def state(case_id):
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id))
    requests = db.session.scalar(select(func.count(ExtensionRequest.id)).where(ExtensionRequest.case_id == case_id))
    return (case.status, case.updated_at, case.department_id, case.assignee_id, case.resolve_due_at,
            case.closed_at, events, requests)


def iso(value):
    return isoformat(value.replace(microsecond=0))


def test_return_then_redispatch(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    staff = api_as(county.staff_san)
    before = state(case.id)
    refused = post_action(staff, case.id, new_action("return"))
    assert refused.status_code == 422 and refused.json["error"]["code"] == "note_required"
    assert state(case.id) == before
    forbidden = post_action(api_as(county.staff_trf), case.id, new_action("return", note="不是我们的"))
    assert forbidden.status_code in (403, 404) and state(case.id) == before  # not theirs: not even shown

    body = new_action("return", note="应由交通部门处理")
    response = post_action(staff, case.id, body)
    assert response.status_code == 201, response.json
    assert response.json["case"]["status"] == "accepted"
    assert response.json["event"]["action"] == "return" and response.json["event"]["note"] == "应由交通部门处理"
    case = db.session.get(Case, case.id)
    assert case.department_id is None and case.assignee_id is None
    again = post_action(staff, case.id, new_action("return", note="再退"))
    assert again.status_code == 404 and state(case.id)[0] == "accepted"  # no longer theirs
    replay = post_action(staff, case.id, body)  # the phone did not get the answer and sends it again
    assert replay.status_code == 200 and replay.json["event"]["id"] == response.json["event"]["id"]

    routed = post_action(api_as(county.dispatcher), case.id, new_action("dispatch", department="TRF"))
    assert routed.status_code == 201, routed.json
    assert routed.json["case"]["status"] == "dispatched"
    assert post_action(api_as(county.staff_trf), case.id, new_action("acknowledge")).status_code == 201


def test_verify_fail_by_the_reporter(county, make_case, api_as):
    case = make_case("handled", assignee=county.worker)
    before = state(case.id)
    assert post_action(api_as(county.resident2), case.id, new_action("verify_fail", note="没修好")).status_code \
        in (403, 404)
    assert state(case.id) == before
    response = post_action(api_as(county.resident), case.id, new_action("verify_fail", note="垃圾还在"))
    assert response.status_code == 201, response.json
    assert response.json["case"]["status"] == "in_progress"
    assert response.json["case"]["events"][-1]["action"] == "verify_fail"


def test_reopen_window(county, make_case, api_as):
    case = make_case("closed", assignee=county.worker)
    case.closed_at = utcnow() - timedelta(days=8)
    db.session.commit()
    before = state(case.id)
    resident = api_as(county.resident)
    late = post_action(resident, case.id, new_action("reopen", note="又坏了"))
    assert late.status_code == 409 and late.json["error"]["code"] == "reopen_window_passed"
    assert "7 days" in late.json["error"]["message"] and late.json["error"]["case"]["status"] == "closed"
    assert state(case.id) == before

    case = db.session.get(Case, case.id)
    case.closed_at = utcnow() - timedelta(days=2)
    db.session.commit()
    response = post_action(resident, case.id, new_action("reopen", note="又坏了"))
    assert response.status_code == 201, response.json
    assert response.json["case"]["status"] == "dispatched"
    case = db.session.get(Case, case.id)
    assert case.assignee_id == county.worker.id and case.closed_at is None


def test_extension_over_the_api(county, make_case, api_as):
    case = make_case("in_progress", assignee=county.worker)
    worker = api_as(county.worker)
    due = db.session.get(Case, case.id).resolve_due_at
    before = state(case.id)
    for until, code in [(None, "required"), ("tomorrow", "invalid"), (iso(utcnow() - timedelta(hours=1)), "out_of_range"),
                        (iso(due), "out_of_range")]:
        body = new_action("request_extension", note="材料未到")
        if until is not None:
            body["until"] = until
        refused = post_action(worker, case.id, body)
        assert refused.status_code == 422, (until, refused.json)
        assert (refused.json["error"]["code"], refused.json["error"]["field"]) == (code, "until")
    wrong = post_action(worker, case.id, new_action("start", until=iso(utcnow() + timedelta(days=3))))
    assert wrong.status_code in (409, 422)
    assert state(case.id) == before

    until = (utcnow() + timedelta(days=4)).replace(microsecond=0)
    body = new_action("request_extension", note="材料未到", until=isoformat(until))
    asked = post_action(worker, case.id, body)
    assert asked.status_code == 201, asked.json
    assert asked.json["case"]["status"] == "in_progress"
    assert post_action(worker, case.id, body).status_code == 200  # a replay
    other = dict(body, until=isoformat(until + timedelta(days=1)))
    assert post_action(worker, case.id, other).json["error"]["code"] == "client_id_conflict"
    twice = post_action(worker, case.id, new_action("request_extension", note="x",
                                                    until=isoformat(until + timedelta(days=1))))
    assert twice.status_code == 409 and twice.json["error"]["code"] == "extension_pending"

    for who in ("worker", "staff_san", "dispatcher", "resident"):
        snapshot = state(case.id)
        response = post_action(api_as(getattr(county, who)), case.id, new_action("approve_extension"))
        assert response.status_code in (403, 404), who
        assert state(case.id) == snapshot
    supervisor = api_as(county.supervisor)
    assert supervisor.get(f"/api/v1/cases/{case.id}").json["allowed_actions"] == [
        "reroute", "approve_extension", "deny_extension", "set_urgency"]
    approved = post_action(supervisor, case.id, new_action("approve_extension", note="同意"))
    assert approved.status_code == 201, approved.json
    assert db.session.get(Case, case.id).resolve_due_at == until
    again = post_action(supervisor, case.id, new_action("deny_extension"))
    assert again.status_code == 409 and again.json["error"]["code"] == "no_pending_extension"
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    assert [(e.action, e.actor_id) for e in events[-2:]] == [("request_extension", county.worker.id),
                                                            ("approve_extension", county.supervisor.id)]
    assert events[-1].data["until"] == isoformat(until)


@pytest.mark.parametrize("action", ["deny_extension"])
def test_deny_keeps_the_deadline(county, make_case, api_as, action):
    case = make_case("acknowledged", assignee=county.worker)
    due = db.session.get(Case, case.id).resolve_due_at
    asked = post_action(api_as(county.staff_san), case.id, new_action(
        "request_extension", note="等配件", until=isoformat((utcnow() + timedelta(days=3)).replace(microsecond=0))))
    assert asked.status_code == 201, asked.json
    denied = post_action(api_as(county.admin), case.id, new_action(action, note="不同意"))
    assert denied.status_code == 201
    assert db.session.get(Case, case.id).resolve_due_at == due
    assert db.session.scalar(select(ExtensionRequest.status).where(ExtensionRequest.case_id == case.id)) == "denied"
