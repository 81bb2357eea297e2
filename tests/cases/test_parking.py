"""Parking (挂账) on a frozen clock: a department asks, a supervisor decides; a
parked case runs no clock, is never overdue or chased, is listed apart, and comes
back on its review date with a reminder and a fresh handling clock."""
import uuid

import pytest
from sqlalchemy import select

from civic import models as _schema  # noqa: F401  (every table known before the task list's loads are built)
from civic.cases import parking, stages
from civic.cases.chasing import chase
from civic.cases.models import Case, CaseEvent, CaseStage, ParkRequest
from civic.cases.steps import WorkflowError
from civic.cases.tasks import tasks_for
from civic.cases.workflow import allowed_actions
from civic.errors import ApiError
from civic.extensions import db
from civic.stats import queries
from tests.cases.test_stages import act, by_stage, case_json, file_report, iso, local
from tests.cases.test_stages import clock as stage_clock  # noqa: F401


@pytest.fixture
def clock(stage_clock, monkeypatch):  # noqa: F811
    monkeypatch.setattr(parking, "utcnow", lambda: stage_clock.now)
    return stage_clock


def refused(case, action, actor, **kw):
    with pytest.raises((WorkflowError, ApiError)) as error:
        act(db.session.get(Case, case.id), action, actor, **kw)
    db.session.rollback()
    return error.value.status, error.value.code, error.value.field


def acknowledged_case(api_as, county, clock):
    case = file_report(api_as, county.resident, "L2-2-1")  # 09:00 Monday 23 November
    act(case, "dispatch", county.dispatcher)
    clock.at("2026-11-23T09:10")
    act(case, "acknowledge", county.staff_san)  # handle by 14:40 (4 working hours)
    return db.session.get(Case, case.id)


def test_parked_on_approval_never_overdue_and_back_on_the_review_date(app, county, api_as, clock):
    case = acknowledged_case(api_as, county, clock)
    clock.at("2026-11-23T10:00")
    review = local("2026-12-01T09:00")
    ask = {"note": "护栏需整段更换", "needs": "维修预算 (年底批)", "until": review}
    assert refused(case, "request_park", county.staff_san, **{**ask, "needs": None}) == (422, "required", "needs")
    assert refused(case, "request_park", county.staff_san, **{**ask, "until": None}) == (422, "required", "until")
    assert refused(case, "request_park", county.staff_san, **{**ask, "until": local("2026-11-23T09:00")})[1] == \
        "out_of_range"
    assert refused(case, "request_park", county.staff_san, **{**ask, "until": local("2028-01-01T09:00")})[1] == \
        "out_of_range"
    assert refused(case, "request_park", county.staff_san, **{**ask, "note": None})[1] == "note_required"
    act(case, "request_park", county.staff_san, **ask)
    assert refused(case, "request_park", county.staff_san, **ask)[:2] == (409, "park_pending")
    assert db.session.get(Case, case.id).status == "acknowledged"  # asking changes nothing yet
    assert "approve_park" not in allowed_actions(db.session.get(Case, case.id), county.staff_san)
    assert refused(case, "approve_park", county.staff_san)[:2] == (403, "forbidden")
    assert {"approve_park", "deny_park"} <= set(allowed_actions(db.session.get(Case, case.id), county.supervisor))

    clock.at("2026-11-23T10:30")
    act(case, "approve_park", county.supervisor)
    case = db.session.get(Case, case.id)
    assert (case.status, case.parked_until) == ("parked", review)
    request = db.session.scalars(select(ParkRequest).where(ParkRequest.case_id == case.id)).one()
    assert (request.status, request.decided_by, request.needs) == ("approved", county.supervisor.id,
                                                                   "维修预算 (年底批)")
    stage = by_stage(case_json(api_as, county.dispatcher, case))
    assert (stage["handle"]["done_at"], stage["handle"]["on_time"]) == (iso("2026-11-23T10:30"), True)
    assert stages.running_stage(case) is None  # no clock runs

    # Past the old deadline (14:40) and for a week: never overdue, never chased, listed apart.
    for moment in ("2026-11-23T15:00", "2026-11-30T17:00"):
        now = local(moment)
        assert queries.overdue_counts(now, "department") == {}
        assert queries.listed_cases(now, "overdue") == []
        assert chase(now) == {"remind": 0, "escalate": 0}
        assert parking.resume_due(now) == 0
    assert case.id not in {c.id for c in tasks_for(county.staff_san)}  # not among the department's work
    assert queries.open_counts(local("2026-11-30T17:00"), by="department")[case.department_id] == \
        {"open": 1, "overdue": 0}
    assert allowed_actions(case, county.staff_san) == ["resume"]

    clock.at("2026-12-01T09:00")
    assert parking.resume_due(local("2026-12-01T09:00")) == 1
    assert parking.resume_due(local("2026-12-01T09:01")) == 0  # once
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.status, case.parked_until) == ("in_progress", None)
    back = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                      CaseEvent.action == "resume")).one()
    assert (back.actor_id, back.from_status, back.to_status) == (None, "parked", "in_progress")
    # A fresh handling clock from the review date: 4 working hours from Tuesday 09:00.
    assert case.resolve_due_at == local("2026-12-01T14:30")
    handle = db.session.scalars(select(CaseStage).where(CaseStage.case_id == case.id, CaseStage.stage == "handle")
                                .order_by(CaseStage.round)).all()
    assert [(h.round, h.outcome, h.started_at, h.due_at) for h in handle] == [
        (1, "parked", local("2026-11-23T09:10"), local("2026-11-23T14:40")),
        (2, None, local("2026-12-01T09:00"), local("2026-12-01T14:30"))]
    remind = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.action == "remind")).one()
    assert remind.data["reason"] == "review_date" and county.staff_san.id in remind.data["notified"]
    assert remind.data["due_at"] == iso("2026-12-01T14:30")
    assert db.session.get(ParkRequest, request.id).status == "resumed"
    assert case.id in {c.id for c in tasks_for(county.staff_san)}

    live = sorted((r.stage, r.round, r.started_at, r.due_at, r.done_at, r.outcome) for r in db.session.scalars(
        select(CaseStage).where(CaseStage.case_id == case.id)))
    stages.rebuild()
    db.session.commit()
    db.session.expire_all()
    assert sorted((r.stage, r.round, r.started_at, r.due_at, r.done_at, r.outcome) for r in db.session.scalars(
        select(CaseStage).where(CaseStage.case_id == case.id))) == live


def test_a_refusal_needs_a_reason_and_the_case_runs_on(app, county, api_as, clock):
    case = acknowledged_case(api_as, county, clock)
    act(case, "request_park", county.staff_san, note="等雨季过去", needs="天气", until=local("2026-12-10T09:00"))
    assert refused(case, "deny_park", county.supervisor)[1] == "note_required"
    act(case, "deny_park", county.supervisor, note="先做临时围挡")
    case = db.session.get(Case, case.id)
    assert case.status == "acknowledged" and case.parked_until is None
    assert db.session.scalars(select(ParkRequest.status).where(ParkRequest.case_id == case.id)).all() == ["denied"]
    assert stages.running_stage(case).stage == "handle"  # its clock never stopped
    assert "request_park" in allowed_actions(case, county.staff_san)  # may ask again
    assert refused(case, "approve_park", county.supervisor)[:2] == (409, "no_pending_park")


def test_the_department_resumes_early_and_the_api_takes_the_request(app, county, api_as, clock):
    case = acknowledged_case(api_as, county, clock)
    api = api_as(county.staff_san)
    body = {"client_id": str(uuid.uuid4()), "action": "request_park", "note": "需要交警配合",
            "needs": "交警部门封路许可", "until": "2026-12-07T09:00:00+08:00"}
    first = api.post(f"/api/v1/cases/{case.id}/actions", json=body)
    assert first.status_code == 201, first.get_json()
    assert api.post(f"/api/v1/cases/{case.id}/actions", json=body).status_code == 200  # a replay
    assert db.session.scalars(select(ParkRequest).where(ParkRequest.case_id == case.id)).one().needs == \
        "交警部门封路许可"
    sent_with_needs = api.post(f"/api/v1/cases/{case.id}/actions",
                               json={"client_id": str(uuid.uuid4()), "action": "start", "needs": "x"})
    assert sent_with_needs.status_code == 422 and sent_with_needs.get_json()["error"]["field"] == "needs"
    act(db.session.get(Case, case.id), "approve_park", county.supervisor)
    clock.at("2026-11-25T10:00")  # the permit came early
    act(db.session.get(Case, case.id), "resume", county.staff_san)
    case = db.session.get(Case, case.id)
    assert (case.status, case.parked_until) == ("in_progress", None)
    assert case.resolve_due_at == local("2026-11-25T15:30")  # 4 working hours from Wednesday 10:00
    data = case_json(api_as, county.resident, case)  # the reporter follows it; parked was a status like others
    assert data["status"] == "in_progress"


def test_the_parked_list_shows_each_their_own(app, county, api_as, clock, client):
    from tests.test_pages import login

    case = acknowledged_case(api_as, county, clock)
    act(case, "request_park", county.staff_san, note="等预算", needs="维修预算", until=local("2026-12-10T09:00"))
    act(db.session.get(Case, case.id), "approve_park", county.supervisor)
    other = file_report(api_as, county.resident, "L2-2-1")
    act(other, "dispatch", county.dispatcher, department=county.departments["TRF"])
    act(other, "acknowledge", county.staff_trf)
    act(other, "request_park", county.staff_trf, note="等交警", needs="封路许可", until=local("2026-12-10T09:00"))

    login(client, "supervisor")
    page = client.get("/dashboard/parked").get_data(as_text=True)
    assert case.ref in page and other.ref in page and "维修预算" in page and "封路许可" in page
    client.post("/auth/logout")
    login(client, "staff_san")
    page = client.get("/dashboard/parked").get_data(as_text=True)
    assert case.ref in page and other.ref not in page  # another department's request is not theirs to see
    client.post("/auth/logout")
    login(client, "resident")
    assert client.get("/dashboard/parked").status_code == 403


def test_two_requests_at_the_same_moment_the_second_is_told_not_a_500(app, county, api_as, clock, monkeypatch):
    """Two members of staff ask to park the same case at once: both pass the check
    before either has written; the one pending request per case (a unique index)
    lets one in, and the other gets the 409 it would have had a moment later."""
    from civic.cases import workflow

    case = acknowledged_case(api_as, county, clock)
    real = workflow.check_park
    calls = []

    def twin_wrote_between_check_and_write(rule, case_, until, needs):
        calls.append(rule.action)
        if len(calls) == 2:  # the twin's request is committed right after this one's last check, before its write
            db.session.add(ParkRequest(case_id=case_.id, requested_by=county.staff_san.id, reason="同时申请",
                                       needs="预算", review_at=local("2026-12-10T09:00"), status="pending"))
            db.session.commit()
        if len(calls) <= 2:  # the checks before the write saw no pending request
            return None
        return real(rule, case_, until, needs)

    monkeypatch.setattr(workflow, "check_park", twin_wrote_between_check_and_write)
    response = api_as(county.staff_san).post(f"/api/v1/cases/{case.id}/actions", json={
        "client_id": str(uuid.uuid4()), "action": "request_park", "note": "需要整段更换", "needs": "维修预算",
        "until": "2026-12-10T09:00:00+08:00"})
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "park_pending"
    assert len(calls) == 3  # the write met the unique index, and the request was decided again
    assert db.session.scalars(select(ParkRequest.reason).where(ParkRequest.case_id == case.id)).all() == ["同时申请"]
