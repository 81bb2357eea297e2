"""Shared handling (主办/协办) on a frozen clock: a dispatcher names a lead and
assisting departments; each assisting department signs for and reports its part
on its own clocks; the lead handles the case once the parts are in, or goes on
without them with a reason; each department is evaluated on its own part."""
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from civic import models as _schema  # noqa: F401  (every table known before the task list's loads are built)
from civic.accounts.models import User
from civic.cases.models import Case, CaseStage
from civic.cases.steps import WorkflowError
from civic.cases.tasks import tasks_for
from civic.cases.workflow import allowed_actions
from civic.errors import ApiError
from civic.extensions import db
from civic.stats.evaluation import evaluate
from tests.cases.test_stages import act, case_json, file_report, iso, local, rebuilt_rows, stage_rows
from tests.cases.test_stages import clock as stage_clock  # noqa: F401
from tests.conftest import PASSWORD_HASH, post_action


@pytest.fixture
def clock(stage_clock, monkeypatch):  # noqa: F811
    """The stages' frozen clock, read by parking too."""
    from civic.cases import parking

    monkeypatch.setattr(parking, "utcnow", lambda: stage_clock.now)
    return stage_clock


@pytest.fixture
def mun(county):
    """Staff of a third department, 市政 (MUN)."""
    user = User(username="staff_mun", role="dept_staff", display_name="staff_mun", phone="13800000009",
                password_hash=PASSWORD_HASH, department=county.departments["MUN"])
    db.session.add(user)
    db.session.commit()
    return user


def refused(case, action, actor, **kw):
    with pytest.raises((WorkflowError, ApiError)) as error:
        act(db.session.get(Case, case.id), action, actor, **kw)
    db.session.rollback()
    return error.value.status, error.value.code


def shared_case(api_as, county):
    """Reported 09:00 Monday; dispatched at once to SAN, assisted by TRF and MUN."""
    case = file_report(api_as, county.resident, "L2-2-1")
    d = county.departments
    act(case, "dispatch", county.dispatcher, department=d["SAN"], assisting=[d["TRF"], d["MUN"]])
    return db.session.get(Case, case.id)


def parts(api_as, who, case):
    return {p["department"]["code"]: p for p in case_json(api_as, who, case)["assists"]}


def test_each_assisting_department_works_its_part_on_its_own_clock_before_the_lead_handles(
        app, county, api_as, clock, mun):
    case = shared_case(api_as, county)
    shown = parts(api_as, county.dispatcher, case)
    assert set(shown) == {"TRF", "MUN"}
    assert shown["TRF"]["status"] == "waiting" and shown["TRF"]["handle"] is None
    assert shown["TRF"]["acknowledge"]["started_at"] == iso("2026-11-23T09:00")
    assert shown["TRF"]["acknowledge"]["due_at"] is not None
    # The case's six stages stay the lead's.
    assert case_json(api_as, county.dispatcher, case)["stages"][2]["owner"]["name"] == county.departments["SAN"].name

    # The assisting departments see the case and have it in their tasks; others do not.
    assert case.id in [c.id for c in tasks_for(county.staff_trf)]
    assert case.id in [c.id for c in tasks_for(mun)]
    assert allowed_actions(case, county.staff_trf) == ["assist_acknowledge"]
    assert parts(api_as, county.staff_trf, case)["TRF"]["mine"] is True
    # An assisting department cannot do the lead's work.
    assert refused(case, "acknowledge", county.staff_trf)[:2] == (403, "forbidden")
    assert refused(case, "return", county.staff_trf, note="不归我们")[:2] == (403, "forbidden")
    assert refused(case, "assist_report", county.staff_trf, note="已处理")[:2] == (409, "part_not_acknowledged")
    assert refused(case, "assist_acknowledge", county.staff_san)[:2] == (403, "forbidden")

    clock.at("2026-11-23T09:05")
    act(case, "acknowledge", county.staff_san)
    act(case, "assist_acknowledge", county.staff_trf)
    assert refused(case, "assist_acknowledge", county.staff_trf)[:2] == (409, "part_acknowledged")
    # The lead cannot mark it handled while a part is open.
    assert refused(case, "handle", county.staff_san, note="已清理")[:2] == (409, "assists_pending")
    assert "handle" not in allowed_actions(db.session.get(Case, case.id), county.staff_san)
    assert "waive_assists" in allowed_actions(db.session.get(Case, case.id), county.staff_san)

    clock.at("2026-11-23T10:00")
    act(case, "assist_report", county.staff_trf, note="已设置临时围挡")
    clock.at("2026-11-23T10:10")
    act(case, "assist_acknowledge", mun)
    clock.at("2026-11-23T11:00")
    act(case, "assist_report", mun, note="井盖已更换")
    shown = {p["department"]["code"]: p for p in case_json(api_as, county.staff_san, case)["assists"]}
    assert shown["TRF"]["status"] == shown["MUN"]["status"] == "reported"
    assert shown["TRF"]["note"] == "已设置临时围挡"
    assert shown["MUN"]["handle"]["done_at"] == iso("2026-11-23T11:00")
    assert shown["MUN"]["handle"]["on_time"] is True
    # Their part done, it leaves their tasks but they still see it.
    assert case.id not in [c.id for c in tasks_for(county.staff_trf)]
    assert case_json(api_as, county.staff_trf, case)["status"] == "acknowledged"

    act(case, "handle", county.staff_san, note="已清理")
    assert db.session.get(Case, case.id).status == "handled"

    # Each department's evaluation counts its own part.
    rows = {row["key"]: row for row in evaluate(date(2026, 11, 23), date(2026, 11, 23), "department")["rows"]}
    d = county.departments
    for code in ("SAN", "TRF", "MUN"):
        figures = rows[d[code].id]["figures"]
        assert figures["acknowledged"] == 1 and figures["handled"] == 1, (code, figures)


def test_the_lead_goes_on_without_a_late_part_with_a_reason_and_that_part_counts_late(
        app, county, api_as, clock, mun):
    case = shared_case(api_as, county)
    act(case, "acknowledge", county.staff_san)
    act(case, "assist_acknowledge", county.staff_trf)
    clock.at("2026-11-26T09:00")  # days later: both parts are late
    assert refused(case, "waive_assists", county.staff_san)[:2] == (422, "note_required")
    assert refused(case, "waive_assists", county.staff_trf, note="x")[:2] == (403, "forbidden")
    act(case, "waive_assists", county.staff_san, note="交警迟迟未到场，已自行处理")
    shown = parts(api_as, county.dispatcher, case)
    assert shown["TRF"]["status"] == shown["MUN"]["status"] == "waived"
    assert shown["TRF"]["handle"]["on_time"] is False
    assert refused(case, "waive_assists", county.staff_san, note="again")[:2] == (409, "no_assists_pending")
    assert refused(case, "assist_report", county.staff_trf, note="来晚了")[:2] == (403, "forbidden")
    act(case, "handle", county.staff_san, note="已清理")
    rows = {row["key"]: row for row in evaluate(date(2026, 11, 23), date(2026, 11, 26), "department")["rows"]}
    trf = rows[county.departments["TRF"].id]["figures"]
    assert trf["handled"] == 1 and trf["handled_on_time"] == 0  # waived when overdue: a late part
    assert rows[county.departments["MUN"].id]["figures"]["acknowledged_on_time"] == 0


def test_a_return_withdraws_the_parts_and_a_reroute_keeps_them_unless_it_names_others(
        app, county, api_as, clock, mun):
    d = county.departments
    case = shared_case(api_as, county)
    act(case, "reroute", county.dispatcher, department=d["ENF"], note="归执法")
    assert {code: p["status"] for code, p in parts(api_as, county.dispatcher, case).items()} == \
        {"TRF": "waiting", "MUN": "waiting"}
    act(case, "reroute", county.dispatcher, department=d["SAN"], assisting=[d["MUN"]], note="回环卫")
    assert {code: p["status"] for code, p in parts(api_as, county.dispatcher, case).items()} == \
        {"TRF": "withdrawn", "MUN": "waiting"}
    act(case, "return", county.staff_san, note="不归我们")
    assert {code: p["status"] for code, p in parts(api_as, county.dispatcher, case).items()} == \
        {"TRF": "withdrawn", "MUN": "withdrawn"}
    assert case.id not in [c.id for c in tasks_for(mun)]

    # The rebuild from the events makes the same rows.
    live = stage_rows()
    assert rebuilt_rows() == live


def test_parking_stops_the_parts_and_the_resumption_starts_them_where_they_were(app, county, api_as, clock, mun):
    case = shared_case(api_as, county)
    act(case, "acknowledge", county.staff_san)
    act(case, "assist_acknowledge", county.staff_trf)
    act(case, "request_park", county.staff_san, note="需预算", needs="预算", until=local("2026-12-01T09:00"))
    act(case, "approve_park", county.supervisor)
    assert {code: p["status"] for code, p in parts(api_as, county.dispatcher, case).items()} == \
        {"TRF": "parked", "MUN": "parked"}
    clock.at("2026-11-24T09:00")
    act(case, "resume", county.staff_san)
    assert {code: p["status"] for code, p in parts(api_as, county.dispatcher, case).items()} == \
        {"TRF": "working", "MUN": "waiting"}
    assert parts(api_as, county.dispatcher, case)["TRF"]["handle"]["started_at"] == iso("2026-11-24T09:00")

    live = stage_rows(case.id)
    assert rebuilt_rows(case.id) == live


def test_naming_assisting_departments_is_checked(app, county, api_as, clock):
    d = county.departments
    case = file_report(api_as, county.resident, "L2-2-1")
    assert refused(case, "dispatch", county.dispatcher, department=d["SAN"], assisting=[d["SAN"]]) == \
        (422, "invalid")
    assert refused(case, "dispatch", county.dispatcher, department=d["SAN"], assisting=[d["TRF"], d["TRF"]]) == \
        (422, "invalid")
    assert refused(case, "accept", county.dispatcher, assisting=[d["TRF"]]) == (422, "invalid")
    many = [d[code] for code in ("TRF", "MUN", "ENF", "MKT", "HOU", "PWR")]
    assert refused(case, "dispatch", county.dispatcher, department=d["SAN"], assisting=many) == (422, "too_many")

    api = api_as(county.dispatcher)

    def dispatch(assisting, client_id=None):
        meta = {"client_id": client_id or str(uuid.uuid4()), "action": "dispatch", "department": "SAN",
                "assisting": assisting}
        return post_action(api, case.id, meta)

    for bad in ("TRF", [1], ["NOPE"], [""]):
        response = dispatch(bad)
        assert response.status_code == 422 and response.get_json()["error"]["field"] == "assisting", bad
    client_id = str(uuid.uuid4())
    first = dispatch(["TRF"], client_id)
    assert first.status_code == 201, first.get_json()
    assert dispatch(["TRF"], client_id).status_code == 200  # a replay
    assert dispatch(["MUN"], client_id).status_code == 409  # the same client_id, other departments
    assert len(db.session.scalars(select(CaseStage).where(CaseStage.stage == "assist_ack")).all()) == 1


def test_a_part_report_keeps_its_photos_apart_from_the_lead_s_after_photos(app, county, api_as, clock):
    from civic.photos.models import Photo

    d = county.departments
    case = file_report(api_as, county.resident, "L2-2-1")
    act(case, "dispatch", county.dispatcher, department=d["SAN"], assisting=[d["TRF"]])
    act(case, "assist_acknowledge", county.staff_trf)
    n = uuid.uuid4().int % 10**9
    photo = Photo(kind="after", position=0, sha256=f"{n:064x}", phash="0" * 16, width=4, height=3, bytes=10,
                  source_format="JPEG", display_key=f"as/{n}.jpg", thumb_key=f"as/{n}_t.jpg")
    act(case, "assist_report", county.staff_trf, note="已疏导交通", photos=[photo])
    kinds = [p["kind"] for p in case_json(api_as, county.dispatcher, case)["photos"]]
    assert "assist" in kinds and "after" not in kinds
    assert parts(api_as, county.dispatcher, case)["TRF"]["photos"] == 1


def test_the_case_page_names_assisting_departments_and_each_works_its_part_there(client, county, make_case):
    from tests.conftest import photo_path
    from tests.test_case_forms import client_id_of, reload
    from tests.test_pages import login

    case = make_case("reported")
    login(client, "dispatcher")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert 'name="assisting" value="TRF"' in page
    response = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": client_id_of(page), "action": "dispatch", "department": "SAN", "assisting_given": "1",
        "assisting": ["TRF"]})
    assert response.status_code == 303
    assert [p["department"]["code"] for p in parts_of(reload(case.id), county.dispatcher)] == ["TRF"]
    client.post("/auth/logout")

    login(client, "staff_trf")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert 'data-part="TRF"' in page and 'data-action="assist_acknowledge"' in page
    assert 'data-action="acknowledge"' not in page
    client.post(f"/cases/{case.ref}/actions", data={"client_id": client_id_of(page), "action": "assist_acknowledge"})
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert 'data-step="assist_report"' in page
    refused = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": client_id_of(page), "action": "assist_report", "note": " "})
    assert refused.status_code == 422
    done = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": client_id_of(page), "action": "assist_report", "note": "已疏导交通",
        "photo": (photo_path("gps/DSCN0010.jpg").open("rb"), "part.jpg")}, content_type="multipart/form-data")
    assert done.status_code == 303, done.get_data(as_text=True)[:300]
    assert [p.kind for p in reload(case.id).photos] == ["assist"]
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert "已疏导交通" in page and 'class="actions' not in page  # its part is done; nothing more to do
    client.post("/auth/logout")

    # A re-route that unticks every box withdraws the parts.
    login(client, "dispatcher")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    client.post(f"/cases/{case.ref}/actions", data={
        "client_id": client_id_of(page), "action": "reroute", "department": "ENF", "note": "归执法",
        "assisting_given": "1"})
    assert reload(case.id).department.code == "ENF"


def parts_of(case, who):
    from civic.cases.assists import parts_to_dict

    return parts_to_dict(case, who)


def test_a_late_part_is_chased_on_its_own_clock_once(app, county, api_as, clock, mun):
    from civic.cases.chasing import chase
    from civic.cases.models import CaseEvent

    case = shared_case(api_as, county)  # 09:00 Monday: everyone acknowledges within 30 working minutes
    act(case, "acknowledge", county.staff_san)
    act(case, "assist_acknowledge", county.staff_trf)  # TRF's report runs on the handling limit now
    assert chase(local("2026-11-23T09:15")) == {"remind": 0, "escalate": 0}
    # 09:40: MUN has not signed for its part: escalated (督办) to the supervisors, once.
    assert chase(local("2026-11-23T09:40")) == {"remind": 0, "escalate": 1}
    assert chase(local("2026-11-23T09:41")) == {"remind": 0, "escalate": 0}
    [event] = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.action == "escalate")).all()
    assert event.data["part_department_id"] == county.departments["MUN"].id and event.data["clock"] == "ack"
    assert county.supervisor.id in event.data["notified"]
    # TRF's report is due at 13:00 (4 working hours from 09:00): reminded before, to TRF's staff.
    counts = chase(local("2026-11-23T12:50"))
    reminded = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.action == "remind")).all()
    assert counts["remind"] >= 1
    assert any(e.data.get("part_department_id") == county.departments["TRF"].id
               and county.staff_trf.id in e.data["notified"] for e in reminded)
    # A part reported is chased no more.
    act(case, "assist_report", county.staff_trf, note="已疏导")
    act(case, "assist_acknowledge", mun)
    act(case, "assist_report", mun, note="已更换")
    later = chase(local("2026-11-23T16:00"))
    parts_chased = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                              CaseEvent.action.in_(["remind", "escalate"]),
                                                              CaseEvent.created_at == local("2026-11-23T16:00")))
    assert not [e for e in parts_chased if "part_department_id" in (e.data or {})], later
