"""The stages of a case, each with its own owner and clock (issue 21), on a frozen
clock: the department's acknowledge window runs from the dispatch, a late
acceptance counts against the dispatchers, and each urgency level runs on its
own kind of clock across holidays and make-up working days."""
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from civic.cases import services as case_services
from civic.cases import stages, urgency, workflow
from civic.cases.deadlines import WorkingClock
from civic.cases.models import Case, CaseStage
from civic.cases.workflow import apply_action
from civic.extensions import db
from civic.intake import reports
from civic.photos.models import Photo
from civic.stats.models import DailyCaseStats
from tests.conftest import new_meta, point_in

TZ = ZoneInfo("Asia/Shanghai")
CLOCK = WorkingClock("Asia/Shanghai", "08:30-12:00,13:30-17:30")


def local(text):
    """A Beijing wall-clock time as naive UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(timezone.utc).replace(tzinfo=None)


def iso(text):
    return local(text).isoformat() + "Z"


class Clock:
    """The server's clock as the intake and the workflow read it."""

    def __init__(self, monkeypatch, start):
        self.now = start
        for module in (workflow, case_services, reports):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)

    def at(self, text):
        self.now = local(text)
        return self


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch, local("2026-11-23T09:00"))  # a Monday, a working day


def file_report(api_as, who, grid="L2-1-1", category="E0102"):
    lat, lng = point_in(grid)
    api = api_as(who)
    response = api.client.post("/api/v1/reports", json=new_meta(lat=lat, lng=lng, category=category),
                               headers=api.headers)
    assert response.status_code == 201, response.get_json()
    return db.session.get(Case, response.get_json()["id"])


def act(case, action, actor, **kw):
    if action == "handle":
        n = uuid.uuid4().int % 10**9
        kw.setdefault("photos", [Photo(kind="after", position=0, sha256=f"{n:064x}", phash="0" * 16, width=4,
                                       height=3, bytes=10, source_format="JPEG", display_key=f"sg/{n}.jpg",
                                       thumb_key=f"sg/{n}_t.jpg")])
    event = apply_action(case, action, actor, client_id=str(uuid.uuid4()), **kw)
    db.session.commit()
    return event


def case_json(api_as, who, case):
    response = api_as(who).get(f"/api/v1/cases/{case.id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by_stage(data):
    return {stage["stage"]: stage for stage in data["stages"]}


def stage_rows(case_id=None):
    """Every stage row (or a case's) as plain tuples, read afresh."""
    db.session.expire_all()
    query = select(CaseStage) if case_id is None else select(CaseStage).where(CaseStage.case_id == case_id)
    return sorted((r.case_id, r.stage, r.round, r.owner_kind, r.owner_id, r.urgency, r.started_at, r.due_at,
                   r.done_at, r.on_time, r.outcome) for r in db.session.scalars(query))


def rebuilt_rows(case_id=None):
    """The same after `stages.rebuild()` made them again from the events."""
    stages.rebuild()
    db.session.commit()
    return stage_rows(case_id)


def test_a_late_dispatch_leaves_the_department_its_window_and_counts_against_the_dispatchers(
        app, county, api_as, clock):
    case = file_report(api_as, county.resident, "L2-2-1")  # 09:00; accept within 1 working hour: 10:00
    clock.at("2026-11-23T14:00")  # the dispatchers take five hours
    act(case, "dispatch", county.dispatcher, department=county.departments["SAN"])
    clock.at("2026-11-23T14:05")
    act(case, "acknowledge", county.staff_san)  # "收到" at once

    data = case_json(api_as, county.dispatcher, case)
    stage = by_stage(data)
    assert [s["stage"] for s in data["stages"]] == list(stages.STAGES)
    assert data["urgency"] == "normal"
    assert stage["accept"] == {"stage": "accept", "owner": {"kind": "dispatch", "id": None, "name": "指挥中心"},
                               "started_at": iso("2026-11-23T09:00"), "due_at": iso("2026-11-23T10:00"),
                               "done_at": iso("2026-11-23T14:00"), "on_time": False, "outcome": "done"}
    assert stage["dispatch"]["on_time"] is True and stage["dispatch"]["done_at"] == iso("2026-11-23T14:00")
    # 暴露垃圾: acknowledged within 30 working minutes of the dispatch, not of the report.
    assert stage["acknowledge"]["owner"] == {"kind": "department", "id": county.departments["SAN"].id,
                                             "name": county.departments["SAN"].name}
    assert stage["acknowledge"]["started_at"] == iso("2026-11-23T14:00")
    assert stage["acknowledge"]["due_at"] == iso("2026-11-23T14:30") and stage["acknowledge"]["on_time"] is True
    # Handled within 4 working hours of the acknowledgement: 14:05 + 3 h 25 min today, 35 min tomorrow.
    assert stage["handle"]["started_at"] == iso("2026-11-23T14:05") and stage["handle"]["done_at"] is None
    assert stage["handle"]["due_at"] == iso("2026-11-24T09:05")
    assert data["deadlines"] == {"acknowledge": iso("2026-11-23T14:30"), "resolve": iso("2026-11-24T09:05")}
    assert stage["verify"] == {"stage": "verify", "owner": None, "started_at": None, "due_at": None,
                               "done_at": None, "on_time": None, "outcome": None}

    day = db.session.scalars(select(DailyCaseStats)).all()
    total = {name: sum(getattr(row, name) for row in day)
             for name in ("acknowledged", "acknowledged_on_time", "accept_stages", "accept_stages_on_time",
                          "dispatch_stages", "dispatch_stages_on_time")}
    assert total == {"acknowledged": 1, "acknowledged_on_time": 1, "accept_stages": 1, "accept_stages_on_time": 0,
                     "dispatch_stages": 1, "dispatch_stages_on_time": 1}


def test_the_verification_belongs_to_the_grid_worker_and_the_case_closes(app, county, api_as, clock):
    case = file_report(api_as, county.worker)  # a grid worker of L2-1-1 files it: they check it too
    clock.at("2026-11-23T09:20")
    act(case, "accept", county.dispatcher)
    clock.at("2026-11-23T09:30")
    act(case, "dispatch", county.dispatcher)
    act(case, "acknowledge", county.staff_san)
    clock.at("2026-11-23T11:00")
    act(case, "handle", county.staff_san)
    stage = by_stage(case_json(api_as, county.dispatcher, case))
    assert stage["verify"]["owner"] == {"kind": "user", "id": county.worker.id, "name": county.worker.display_name}
    assert stage["verify"]["due_at"] == iso("2026-11-24T11:00")  # one working day
    clock.at("2026-11-23T11:30")
    act(case, "verify", county.worker)
    stage = by_stage(case_json(api_as, county.dispatcher, case))
    assert stage["verify"]["on_time"] is True
    assert stage["close"]["done_at"] == iso("2026-11-23T11:30") and stage["close"]["on_time"] is True
    assert all(s["done_at"] for s in stage.values())

    other = file_report(api_as, county.resident, "L2-2-1")  # county.other_worker's grid
    act(other, "dispatch", county.dispatcher)
    act(other, "acknowledge", county.staff_san)
    act(other, "handle", county.staff_san)
    assert by_stage(case_json(api_as, county.dispatcher, other))["verify"]["owner"]["id"] == county.other_worker.id
    # A resident following the progress sees that a grid worker checks it, not who.
    public = by_stage(case_json(api_as, county.resident, other))
    assert public["verify"]["owner"] in ({"kind": "user", "id": county.other_worker.id,
                                          "name": county.other_worker.display_name},
                                         {"kind": "user", "id": None, "name": None})


def test_a_return_and_a_reroute_start_new_rounds_on_fresh_clocks(app, county, api_as, clock):
    case = file_report(api_as, county.resident, "L2-2-1")
    act(case, "dispatch", county.dispatcher, department=county.departments["TRF"])
    clock.at("2026-11-23T09:10")
    act(case, "return", county.staff_trf, note="不是我们的")
    clock.at("2026-11-23T09:40")
    act(case, "dispatch", county.dispatcher, department=county.departments["SAN"])
    clock.at("2026-11-23T15:00")
    act(case, "reroute", county.dispatcher, department=county.departments["TRF"], note="改派")
    rows = db.session.scalars(select(CaseStage).where(CaseStage.case_id == case.id)
                              .order_by(CaseStage.stage, CaseStage.round)).all()
    summary = [(r.stage, r.round, r.owner_kind, r.owner_id, r.outcome, r.on_time) for r in rows]
    trf, san = county.departments["TRF"].id, county.departments["SAN"].id
    assert summary == [
        ("accept", 1, "dispatch", None, "done", True),
        ("acknowledge", 1, "department", trf, "returned", True),
        ("acknowledge", 2, "department", san, "rerouted", False),  # not acknowledged by its 10:10 deadline
        ("acknowledge", 3, "department", trf, None, None),
        ("dispatch", 1, "dispatch", None, "done", True),
        ("dispatch", 2, "dispatch", None, "done", True),
    ]
    assert by_stage(case_json(api_as, county.dispatcher, case))["acknowledge"]["due_at"] == iso("2026-11-23T15:30")


def level_category(level="normal"):
    """A category whose own level is not `level`, so the table's limits apply."""
    return SimpleNamespace(urgency="complex" if level != "complex" else "normal", ack_minutes=30, resolve_limit=4,
                           resolve_unit="working_hours")


@pytest.mark.parametrize(("level", "handle_due"), [
    # Acknowledged at 17:00 on 30 September 2025, the day before the National Day holidays
    # (1–8 October); Saturday 11 October is a make-up working day (调休).
    ("emergency", "2025-09-30T19:00"),  # 2 hours, round the clock
    ("urgent", "2025-10-01T17:00"),     # 24 hours, round the clock
    ("normal", "2025-10-16T17:00"),     # 7 working days: 9, 10, 11 (Saturday), 13, 14, 15, 16 October
    ("complex", "2025-10-28T17:00"),    # 15 working days
])
def test_each_level_runs_on_its_own_clock_across_a_holiday_and_a_make_up_day(app, level, handle_due):
    with app.app_context():
        limit = urgency.limit_for("handle", level_category(level), level)
    assert limit.calendar == (level in ("emergency", "urgent"))
    assert CLOCK.due(local("2025-09-30T17:00"), limit) == local(handle_due)


def test_working_days_count_the_make_up_day_and_skip_the_holiday():
    # One working day from 30 September 17:00 is 9 October 17:00 (1–8 October off);
    # two are 10 October; three are Saturday 11 October, a make-up working day.
    day = urgency.Limit(1, "working_days")
    start = local("2025-09-30T17:00")
    assert CLOCK.due(start, day) == local("2025-10-09T17:00")
    assert CLOCK.due(start, urgency.Limit(3, "working_days")) == local("2025-10-11T17:00")


def test_an_emergency_category_runs_its_own_limits_on_calendar_time(app, county, api_as, clock):
    county.categories["E0102"].urgent = True  # 紧急 now: its own 30 minutes and 4 hours, round the clock
    db.session.commit()
    clock.at("2026-11-28T23:00")  # a Saturday night
    case = file_report(api_as, county.resident)
    assert case.urgency == "emergency"
    stage = by_stage(case_json(api_as, county.dispatcher, case))
    assert stage["accept"]["due_at"] == iso("2026-11-28T23:15")  # the emergency table: 15 minutes
    clock.at("2026-11-28T23:10")
    act(case, "dispatch", county.dispatcher)
    data = case_json(api_as, county.dispatcher, case)
    assert data["deadlines"] == {"acknowledge": iso("2026-11-28T23:40"), "resolve": iso("2026-11-29T03:10")}


def test_the_time_limits_file_replaces_cells_and_refuses_mistakes(tmp_path):
    table = urgency.build_table({"normal": {"handle": "5 working_days"}})
    assert table["normal"]["handle"] == urgency.Limit(5, "working_days")
    assert table["complex"]["handle"] == urgency.Limit(15, "working_days")
    for bad, words in (({"sometime": {}}, "unknown urgency level"), ({"normal": {"lunch": "1 calendar_hours"}},
                                                                     "unknown stage"),
                       ({"normal": {"handle": "soon"}}, "normal.handle"), ({"normal": {"handle": "0 working_days"}},
                                                                             "more than nothing")):
        with pytest.raises(ValueError, match=words):
            urgency.build_table(bad)
    path = tmp_path / "limits.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="CIVIC_TIME_LIMITS"):
        urgency.load_table(str(path))


def test_the_rebuild_from_the_events_makes_the_rows_the_workflow_wrote(app, county, api_as, clock):
    first = file_report(api_as, county.worker)
    act(first, "accept", county.dispatcher)
    act(first, "dispatch", county.dispatcher)
    clock.at("2026-11-23T10:00")
    act(first, "acknowledge", county.staff_san)
    act(first, "handle", county.staff_san)
    act(first, "verify_fail", county.worker, note="没扫干净")
    clock.at("2026-11-24T10:00")
    act(first, "handle", county.staff_san)
    act(first, "verify", county.worker)
    second = file_report(api_as, county.resident, "L2-2-1")
    act(second, "reject", county.dispatcher, note="重复上报")

    live = stage_rows()
    assert rebuilt_rows() == live
    assert ("handle", 2) in {(r[1], r[2]) for r in live if r[0] == first.id}


def test_a_dispatcher_sets_another_urgency_with_a_reason_and_the_running_stages_are_timed_again(
        app, county, api_as, clock):
    case = file_report(api_as, county.resident, "L2-2-1")  # 暴露垃圾, normal: 4 working hours to handle
    act(case, "dispatch", county.dispatcher)
    clock.at("2026-11-23T09:10")
    act(case, "acknowledge", county.staff_san)
    assert by_stage(case_json(api_as, county.dispatcher, case))["handle"]["due_at"] == iso("2026-11-23T14:40")

    api = api_as(county.dispatcher)
    url = f"/api/v1/cases/{case.id}/actions"
    for body, code, field in (({"urgency": "emergency"}, "note_required", "note"),
                              ({"note": "学校门口"}, "required", "urgency"),
                              ({"note": "学校门口", "urgency": "soon"}, "invalid", "urgency"),
                              ({"note": "学校门口", "urgency": "normal"}, "same_urgency", "urgency")):
        refused = api.post(url, json={"client_id": str(uuid.uuid4()), "action": "set_urgency", **body})
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == code, refused.get_json()
        assert refused.get_json()["error"]["field"] == field
    with_other = api.post(url, json={"client_id": str(uuid.uuid4()), "action": "start", "urgency": "urgent"})
    assert with_other.status_code in (403, 422)  # the dispatcher may not start it; nobody sends a level with it
    staff = api_as(county.staff_san).post(url, json={"client_id": str(uuid.uuid4()), "action": "set_urgency",
                                                     "urgency": "emergency", "note": "快"})
    assert staff.status_code == 403  # the department does not set its own clock

    clock.at("2026-11-23T09:30")
    body = {"client_id": str(uuid.uuid4()), "action": "set_urgency", "urgency": "emergency",
            "note": "学校门口, 上学时间"}
    done = api.post(url, json=body)
    assert done.status_code == 201, done.get_json()
    assert api.post(url, json=body).status_code == 200  # a replay applies once
    data = case_json(api_as, county.dispatcher, case)
    stage = by_stage(data)
    assert data["urgency"] == "emergency"
    # The handling started at 09:10: emergency is 2 hours round the clock from then.
    assert stage["handle"]["due_at"] == iso("2026-11-23T11:10")
    assert data["deadlines"]["resolve"] == iso("2026-11-23T11:10")
    assert stage["acknowledge"]["on_time"] is True  # ended stages keep their clock
    event = db.session.scalars(select(workflow.CaseEvent).where(workflow.CaseEvent.case_id == case.id,
                                                                workflow.CaseEvent.action == "set_urgency")).one()
    assert (event.note, event.data["urgency"], event.from_status, event.to_status) == (
        "学校门口, 上学时间", "emergency", "acknowledged", "acknowledged")

    clock.at("2026-11-23T11:30")
    act(case, "handle", county.staff_san)
    assert by_stage(case_json(api_as, county.dispatcher, case))["handle"]["on_time"] is False
    live = sorted((r.stage, r.round, r.urgency, r.due_at, r.on_time) for r in db.session.scalars(
        select(CaseStage).where(CaseStage.case_id == case.id)))
    stages.rebuild()
    db.session.commit()
    db.session.expire_all()
    assert sorted((r.stage, r.round, r.urgency, r.due_at, r.on_time) for r in db.session.scalars(
        select(CaseStage).where(CaseStage.case_id == case.id))) == live


def test_a_level_set_before_the_dispatch_gives_the_department_that_level(app, county, api_as, clock):
    case = file_report(api_as, county.resident, "L2-2-1")
    act(case, "set_urgency", county.dispatcher, urgency="complex", note="需多部门")
    stage = by_stage(case_json(api_as, county.dispatcher, case))
    assert stage["accept"]["due_at"] == iso("2026-11-23T10:00")  # complex accepts within a working hour too
    clock.at("2026-11-23T09:30")
    act(case, "dispatch", county.dispatcher)
    act(case, "acknowledge", county.staff_san)
    # Complex: 15 working days from the acknowledgement (Monday 23 November → Monday 14 December).
    assert by_stage(case_json(api_as, county.dispatcher, case))["handle"]["due_at"] == iso("2026-12-14T09:30")
