"""Disputed returns (退回 ping-pong): the first return goes back to the dispatchers,
the second to a supervisor, whose decision (仲裁) is final for that case; the
figures count each department's returns."""
import uuid

import pytest
from sqlalchemy import func, select

from civic.cases import stages
from civic.cases.models import Case, CaseEvent, CaseStage
from civic.cases.steps import WorkflowError
from civic.cases.workflow import allowed_actions
from civic.errors import ApiError
from civic.extensions import db
from civic.push.models import PushDelivery
from civic.stats.models import DailyCaseStats
from tests.cases.test_stages import act, file_report
from tests.cases.test_stages import clock as stage_clock  # noqa: F401  (the frozen clock fixture)


@pytest.fixture
def clock(stage_clock):  # noqa: F811
    return stage_clock


def refused(case, action, actor, **kw):
    with pytest.raises((WorkflowError, ApiError)) as error:
        act(db.session.get(Case, case.id), action, actor, **kw)
    db.session.rollback()
    return error.value.status, error.value.code


def test_a_second_return_goes_to_a_supervisor_whose_decision_is_final(app, county, api_as, clock):
    trf, san = county.departments["TRF"], county.departments["SAN"]
    case = file_report(api_as, county.resident, "L2-2-1")
    act(case, "dispatch", county.dispatcher, department=trf)
    clock.at("2026-11-23T09:10")
    act(case, "return", county.staff_trf, note="不是交通的")
    case = db.session.get(Case, case.id)
    assert (case.status, case.dispute) == ("accepted", None)  # the first return: the dispatchers route it again
    assert "dispatch" in allowed_actions(case, county.dispatcher)

    clock.at("2026-11-23T09:20")
    act(case, "dispatch", county.dispatcher, department=san)
    clock.at("2026-11-23T09:30")
    act(case, "return", county.staff_san, note="不是环卫的")
    case = db.session.get(Case, case.id)
    assert (case.status, case.dispute, case.department_id) == ("accepted", "arbitration", None)
    second = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "return")
                                .order_by(CaseEvent.id)).all()[-1]
    assert second.data["arbitration"] is True
    told = db.session.scalars(select(PushDelivery).where(PushDelivery.case_id == case.id,
                                                         PushDelivery.kind == "escalation")).all()
    assert {d.user_id for d in told} == {county.supervisor.id}
    assert told[0].payload["title"].startswith("仲裁")

    # The dispatchers cannot send it round again; only a supervisor decides.
    assert "dispatch" not in allowed_actions(case, county.dispatcher)
    assert "arbitrate" in allowed_actions(case, county.supervisor)
    assert "arbitrate" not in allowed_actions(case, county.dispatcher)
    assert refused(case, "dispatch", county.dispatcher, department=trf) == (409, "arbitration_pending")
    assert refused(case, "arbitrate", county.dispatcher, department=trf, note="归交通") == (403, "forbidden")
    assert refused(case, "arbitrate", county.supervisor, department=trf) == (422, "note_required")
    assert refused(case, "arbitrate", county.supervisor, note="归交通") == (422, "department_required")

    clock.at("2026-11-23T10:00")
    act(case, "arbitrate", county.supervisor, department=trf, note="占道经营归交通")
    case = db.session.get(Case, case.id)
    assert (case.status, case.dispute, case.department_id) == ("dispatched", "decided", trf.id)
    assert case.dispatched_at is not None
    staff = db.session.scalars(select(PushDelivery).where(PushDelivery.case_id == case.id,
                                                          PushDelivery.kind == "assignment")).all()
    assert county.staff_trf.id in {d.user_id for d in staff}  # the department hears of it as of a dispatch
    # The department decided on acknowledges on a fresh clock and can no longer return it.
    assert "return" not in allowed_actions(case, county.staff_trf)
    assert refused(case, "return", county.staff_trf, note="还是不是我们的") == (409, "department_decided")
    acknowledge = db.session.scalars(select(CaseStage).where(CaseStage.case_id == case.id,
                                                             CaseStage.stage == "acknowledge")
                                     .order_by(CaseStage.round)).all()
    assert [(s.round, s.owner_id, s.outcome) for s in acknowledge] == [(1, trf.id, "returned"), (2, san.id, "returned"),
                                                                        (3, trf.id, None)]
    assert acknowledge[-1].started_at == clock.now
    act(case, "acknowledge", county.staff_trf)

    # Returns are counted against the department that returned; three arrivals at a department.
    rows = db.session.scalars(select(DailyCaseStats)).all()
    returned = {}
    for row in rows:
        returned[row.department_id] = returned.get(row.department_id, 0) + row.returned
    assert {k: v for k, v in returned.items() if v} == {trf.id: 1, san.id: 1}
    assert sum(row.dispatched for row in rows) == 3

    live = sorted((r.stage, r.round, r.owner_id, r.due_at, r.outcome) for r in db.session.scalars(
        select(CaseStage).where(CaseStage.case_id == case.id)))
    stages.rebuild()
    db.session.commit()
    db.session.expire_all()
    assert sorted((r.stage, r.round, r.owner_id, r.due_at, r.outcome) for r in db.session.scalars(
        select(CaseStage).where(CaseStage.case_id == case.id))) == live


def test_arbitration_only_for_a_case_returned_twice(app, county, api_as, clock):
    case = file_report(api_as, county.resident, "L2-2-1")
    act(case, "accept", county.dispatcher)
    assert "arbitrate" not in allowed_actions(db.session.get(Case, case.id), county.supervisor)
    assert refused(case, "arbitrate", county.supervisor, department=county.departments["TRF"],
                   note="归交通") == (409, "no_arbitration_pending")
    assert db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)) == 2


def test_over_the_api_a_supervisor_arbitrates_once(app, county, api_as, clock):
    case = file_report(api_as, county.resident, "L2-2-1")
    for department, staff in (("TRF", county.staff_trf), ("SAN", county.staff_san)):
        act(db.session.get(Case, case.id), "dispatch", county.dispatcher, department=county.departments[department])
        act(db.session.get(Case, case.id), "return", staff, note="不是我们的")
    api = api_as(county.supervisor)
    body = {"client_id": str(uuid.uuid4()), "action": "arbitrate", "department": "SAN", "note": "归环卫"}
    first = api.post(f"/api/v1/cases/{case.id}/actions", json=body)
    assert first.status_code == 201, first.get_json()
    assert api.post(f"/api/v1/cases/{case.id}/actions", json=body).status_code == 200  # a replay
    data = api.get(f"/api/v1/cases/{case.id}").get_json()
    assert data["status"] == "dispatched" and data["department"]["code"] == "SAN"
