"""Evaluation (考核评价) on a frozen clock: a small county's two days, played through
the workflow, and every figure of every evaluation checked against what happened,
counted here by hand from the story; then a case left out of the scores."""
from datetime import date

import pytest
from sqlalchemy import select

from civic.admin.models import AuditEntry
from civic.cases.models import Case
from civic.extensions import db
from civic.stats import evaluation
from tests.cases.test_stages import act, file_report
from tests.cases.test_stages import clock as stage_clock  # noqa: F401
from tests.test_pages import login

DAYS = (date(2026, 11, 23), date(2026, 11, 24))  # Monday and Tuesday


@pytest.fixture
def clock(stage_clock):  # noqa: F811
    return stage_clock


@pytest.fixture
def story(app, county, api_as, clock):
    """Monday 23 November 2026 from 09:00 (暴露垃圾: accept and dispatch within a working
    hour, acknowledge within 30 working minutes, handle within 4 working hours,
    verify within a working day):

    A  a resident in L2-2-1 at 09:00; dispatched 09:05, SAN acknowledges 09:10, handles
       10:00, worker2 (the grid's) verifies 10:30; the resident is satisfied.
    B  worker (L2-1-1) finds it at 09:00; dispatched only at 14:00 (accepted late);
       SAN acknowledges 15:00 (late), handles Tuesday 16:00 (late, due 10:00); worker
       fails the check 16:30; SAN handles again 17:00; worker verifies 17:10.
    C  a resident in L2-2-1 at 09:00; dispatched to TRF 09:20, which returns it 09:30;
       dispatched to SAN 09:40, acknowledged 09:50; still being handled.
    D  a resident in L2-1-1 at 09:00, rejected 09:30 as a duplicate.
    Every step of the dispatchers is county.dispatcher's."""
    san, trf = county.departments["SAN"], county.departments["TRF"]
    a = file_report(api_as, county.resident, "L2-2-1")
    b = file_report(api_as, county.worker, "L2-1-1")
    c = file_report(api_as, county.resident, "L2-2-1")
    d = file_report(api_as, county.resident, "L2-1-1")
    clock.at("2026-11-23T09:05")
    act(a, "dispatch", county.dispatcher)
    clock.at("2026-11-23T09:10")
    act(a, "acknowledge", county.staff_san)
    clock.at("2026-11-23T09:20")
    act(c, "dispatch", county.dispatcher, department=trf)
    clock.at("2026-11-23T09:30")
    act(c, "return", county.staff_trf, note="不是交通的")
    act(d, "reject", county.dispatcher, note="重复上报")
    clock.at("2026-11-23T09:40")
    act(c, "dispatch", county.dispatcher, department=san)
    clock.at("2026-11-23T09:50")
    act(c, "acknowledge", county.staff_san)
    clock.at("2026-11-23T10:00")
    act(a, "handle", county.staff_san)
    clock.at("2026-11-23T10:30")
    act(a, "verify", county.other_worker)
    act(a, "rate", county.resident, rating="satisfied")
    clock.at("2026-11-23T14:00")
    act(b, "dispatch", county.dispatcher)
    clock.at("2026-11-23T15:00")
    act(b, "acknowledge", county.staff_san)
    clock.at("2026-11-24T16:00")
    act(b, "handle", county.staff_san)
    clock.at("2026-11-24T16:30")
    act(b, "verify_fail", county.worker, note="没扫干净")
    clock.at("2026-11-24T17:00")
    act(b, "handle", county.staff_san)
    clock.at("2026-11-24T17:10")
    act(b, "verify", county.worker)
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id}


def rows(by):
    return {row["key"]: row for row in evaluation.evaluate(*DAYS, by)["rows"]}


def test_every_figure_is_what_happened(app, county, story):
    s = story
    san, trf = county.departments["SAN"].id, county.departments["TRF"].id
    departments = rows("department")
    assert departments[san]["figures"] == {
        "received": 3, "acknowledged": 3, "acknowledged_on_time": 2,      # A, C in time; B late
        "handled": 2, "handled_on_time": 1,    # A in time; B late (its first round: the rework's in time does not undo it)
        "reworked": 1, "rated": 1, "satisfied": 1,
        "acknowledge_on_time_rate": 2 / 3, "handle_on_time_rate": 0.5, "first_time_fixed_rate": 0.5,
        "kept_rate": 1.0, "satisfaction_rate": 1.0,
        "by_urgency": {"normal": {"acknowledged": 3, "acknowledged_on_time": 2, "handled": 2,
                                  "handled_on_time": 1}}}
    # Weights 20/40/10/10/20 over 2/3, 1/2, 1/2, 1, 1: 66.7 → pass.
    assert departments[san]["score"] == round(100 * (20 * 2 / 3 + 40 * 0.5 + 10 * 0.5 + 10 + 20) / 100, 1)
    assert departments[san]["grade"] == "pass"
    assert departments[trf]["figures"]["returned"] == 1 and departments[trf]["figures"]["kept_rate"] == 0.0
    assert departments[trf]["score"] == 0.0 and departments[trf]["grade"] == "fail"  # only the return counts

    dispatchers = rows("dispatcher")
    figures = dispatchers[county.dispatcher.id]["figures"]
    # Accept stages ended by the dispatcher: A, B, C (straight dispatches) and D (the rejection); B's late.
    assert (figures["accepted"], figures["accepted_on_time"]) == (4, 3)
    # Dispatch stages: A, B, C twice (after the return): all dispatched at once from their start.
    assert (figures["dispatched"], figures["dispatched_on_time"]) == (3, 3)
    assert (figures["dispatched_cases"], figures["right_first_time"]) == (3, 2)  # C was returned
    assert set(dispatchers) == {county.dispatcher.id}

    grids = rows("grid")
    l211, l221 = county.grids["L2-1-1"].id, county.grids["L2-2-1"].id
    assert {k: grids[l211]["figures"].get(k) for k in ("problems", "found_by_workers", "complaints", "handled")} == \
        {"problems": 2, "found_by_workers": 1, "complaints": 1, "handled": 1}
    assert {k: grids[l221]["figures"].get(k) for k in ("problems", "found_by_workers", "complaints", "handled",
                                                        "handled_on_time", "satisfied")} == \
        {"problems": 2, "found_by_workers": None, "complaints": 2, "handled": 1, "handled_on_time": 1,
         "satisfied": 1}

    workers = rows("worker")
    worker, worker2 = workers[county.worker.id]["figures"], workers[county.other_worker.id]["figures"]
    assert (worker["reports"], worker["valid"], worker["missed"]) == (1, 1, 1)  # D was a resident's, in L2-1-1
    # One case checked (B): the failed check and the passing one, both in time; a case counts once.
    assert (worker["verified"], worker["verified_on_time"]) == (1, 1)
    assert (worker2.get("reports"), worker2["missed"], worker2["verified"]) == (None, 2, 1)  # A and C were residents'
    assert workers[county.other_worker.id]["score"] == round(100 * (40 * 1 + 30 * 0) / 70, 1)

    # The cases behind a figure are the ones counted.
    assert evaluation.cases_behind(*DAYS, "department", san, "acknowledged_on_time") == sorted([s["a"], s["c"]])
    assert evaluation.cases_behind(*DAYS, "dispatcher", county.dispatcher.id, "right_first_time") == \
        sorted([s["a"], s["b"]])


def test_a_case_left_out_counts_nowhere_and_shows(app, client, county, story):
    san = county.departments["SAN"].id
    b = db.session.get(Case, story["b"])
    login(client, "dispatcher")
    assert client.post("/dashboard/evaluation/exclude", data={"ref": b.ref, "reason": "x"}).status_code == 403
    client.post("/auth/logout")
    login(client, "supervisor")
    assert client.post("/dashboard/evaluation/exclude", data={"ref": b.ref, "reason": ""}).status_code == 303
    assert rows("department")[san]["excluded"] == []  # no reason, nothing left out
    done = client.post("/dashboard/evaluation/exclude", data={"ref": b.ref, "reason": "投诉人反复无理投诉"})
    assert done.status_code == 303
    department = rows("department")[san]
    assert department["excluded"] == [b.ref]
    assert (department["figures"]["acknowledged"], department["figures"]["acknowledged_on_time"],
            department["figures"]["handled"], department["figures"].get("reworked", 0)) == (2, 2, 1, 0)
    assert department["grade"] == "excellent"
    assert rows("dispatcher")[county.dispatcher.id]["figures"]["accepted_on_time"] == 3  # of 3
    assert county.worker.id not in {k for k, r in rows("worker").items() if r["figures"].get("verified")}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "evaluation.exclude")).one()
    assert entry.target_label == b.ref and entry.after == {"reason": "投诉人反复无理投诉"}

    data = client.get("/dashboard/evaluation.json?start=2026-11-23&end=2026-11-24&by=department").get_json()
    assert data["by"] == "department" and data["period"] == "2026-11-23–2026-11-24"
    shown = {row["key"]: row for row in data["rows"]}
    assert set(shown[san]) >= {"key", "name", "score", "grade", "figures", "excluded"}
    assert shown[san]["excluded"] == [b.ref]
    page = client.get("/dashboard/evaluation?start=2026-11-23&end=2026-11-24&by=department")
    assert page.status_code == 200 and b.ref in page.get_data(as_text=True)
    xlsx = client.get("/dashboard/evaluation.xlsx?start=2026-11-23&end=2026-11-24&by=worker")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    cases = client.get(f"/dashboard/evaluation/cases?start=2026-11-23&end=2026-11-24&by=department&key={san}"
                       "&figure=acknowledged").get_data(as_text=True)
    assert db.session.get(Case, story["a"]).ref in cases and b.ref not in cases
    assert client.post("/dashboard/evaluation/include", data={"ref": b.ref}).status_code == 303
    assert rows("department")[san]["figures"]["acknowledged"] == 3


def test_periods_and_settings_are_checked(app, client, county):
    login(client, "supervisor")
    for query in ("period=2026-13", "period=soon", "start=2026-11-24&end=2026-11-23", "by=everyone"):
        assert client.get(f"/dashboard/evaluation.json?{query}").status_code == 400, query
    assert client.get("/dashboard/evaluation.json?period=2026-11").get_json()["rows"] == []
    with pytest.raises(ValueError, match="department.speed"):
        evaluation.build_table({"department": {"speed": 10}})
    with pytest.raises(ValueError, match="excellent ≥ good ≥ pass"):
        evaluation.build_table({"grades": {"pass": 95}})
    assert evaluation.build_table({"department": {"handle_on_time": 50}})["weights"]["department"][
        "handle_on_time"] == 50
