"""Residents rate the result of their report (满意 / 基本满意 / 不满意); unsatisfied
opens a recheck (复核) by someone other than the handling department, which can
reopen the case; and the points API (balance, catalogue, redeem, staff use)."""
import uuid

from sqlalchemy import select

from civic.cases.models import Case, Rating, Recheck
from civic.extensions import db
from civic.rewards.models import PointEntry, RewardItem
from tests.conftest import new_action, photo_path, post_action

AFTER = photo_path("gps/DSCN0010.jpg")


def handle(api, case_id, note="已清理"):
    for action in ("acknowledge", "start"):
        response = post_action(api, case_id, new_action(action))
        assert response.status_code == 201, response.json
    response = post_action(api, case_id, new_action("handle", note=note), [AFTER])
    assert response.status_code == 201, response.json
    return response


def test_unsatisfied_recheck_reopen_handled_again_closed(county, make_case, api_as):
    case = make_case("dispatched", department=county.departments["SAN"])
    resident, staff, worker = api_as(county.resident), api_as(county.staff_san), api_as(county.worker)
    handle(staff, case.id)
    detail = resident.get(f"/api/v1/cases/{case.id}").json
    assert "rate" in detail["allowed_actions"] and detail["my_rating"] is None and detail["round"] == 1

    refused = post_action(resident, case.id, new_action("rate", rating="unsatisfied"))
    assert refused.status_code == 422 and refused.json["error"]["field"] == "note"  # say what is wrong
    unsatisfied = post_action(resident, case.id, new_action("rate", rating="unsatisfied", note="垃圾还在"))
    assert unsatisfied.status_code == 201
    body = unsatisfied.json["case"]
    assert body["status"] == "handled" and body["recheck_pending"] is True
    assert body["my_rating"]["score"] == "unsatisfied" and "rate" not in body["allowed_actions"]
    assert "verify" not in body["allowed_actions"]  # the recheck decides now

    # Not the department that did the work; and verifying waits for the recheck.
    assert post_action(staff, case.id, new_action("recheck_reopen", note="我们已处理")).status_code == 403
    blocked = post_action(api_as(county.dispatcher), case.id, new_action("verify"))
    assert (blocked.status_code, blocked.json["error"]["code"]) == (409, "recheck_pending")
    assert "recheck_reopen" in worker.get(f"/api/v1/cases/{case.id}").json["allowed_actions"]
    reopened = post_action(worker, case.id, new_action("recheck_reopen", note="现场核实：垃圾未清"))
    assert reopened.status_code == 201, reopened.json
    assert reopened.json["case"]["status"] == "dispatched" and reopened.json["case"]["recheck_pending"] is False
    db.session.expire_all()
    again = db.session.get(Case, case.id)
    assert again.department_id == county.departments["SAN"].id and again.handled_at is None
    assert again.ack_due_at > again.dispatched_at  # fresh deadlines
    recheck = db.session.scalar(select(Recheck))
    assert (recheck.status, recheck.decided_by, recheck.department_id) == (
        "reopened", county.worker.id, county.departments["SAN"].id)

    handle(staff, case.id, note="已彻底清理")
    detail = resident.get(f"/api/v1/cases/{case.id}").json
    assert detail["round"] == 2 and detail["my_rating"] is None and "rate" in detail["allowed_actions"]
    closed = post_action(resident, case.id, new_action("rate", rating="satisfied", note="干净了"))
    assert closed.status_code == 201 and closed.json["case"]["status"] == "closed"
    ratings = [(r.score, r.round, r.department_id) for r in db.session.scalars(select(Rating).order_by(Rating.id))]
    assert ratings == [("unsatisfied", 1, county.departments["SAN"].id), ("satisfied", 2, county.departments["SAN"].id)]
    actions = [e["action"] for e in closed.json["case"]["events"]]
    assert actions[-6:] == ["rate", "recheck_reopen", "acknowledge", "start", "handle", "rate"]
    # Staff see the ratings, without the resident's name.
    seen = api_as(county.staff_san).get(f"/api/v1/cases/{case.id}").json
    assert [r["score"] for r in seen["ratings"]] == ["unsatisfied", "satisfied"]
    assert all(e["actor"] is None for e in seen["events"] if e["action"] == "rate")


def test_unsatisfied_after_closing_and_the_recheck_upholds(county, make_case, api_as):
    case = make_case("closed")
    resident = api_as(county.resident)
    assert post_action(resident, case.id, new_action("rate", rating="unsatisfied", note="又脏了")).status_code == 201
    upheld = post_action(api_as(county.dispatcher), case.id, new_action("recheck_uphold", note="已按标准处置"))
    assert upheld.status_code == 201 and upheld.json["case"]["status"] == "closed"
    assert db.session.scalar(select(Recheck.status)) == "upheld"
    nothing = post_action(api_as(county.dispatcher), case.id, new_action("recheck_uphold", note="再次"))
    assert (nothing.status_code, nothing.json["error"]["code"]) == (409, "no_pending_recheck")


def test_rating_is_once_per_round_by_the_reporter_only(county, make_case, api_as):
    case = make_case("handled")
    resident = api_as(county.resident)
    bad = post_action(resident, case.id, new_action("rate", rating="great"))
    assert (bad.status_code, bad.json["error"]["field"]) == (422, "rating")
    assert post_action(resident, case.id, new_action("rate")).status_code == 422
    assert post_action(resident, case.id, new_action("rate", rating="basic")).status_code == 201
    twice = post_action(resident, case.id, new_action("rate", rating="satisfied"))
    assert twice.status_code == 409  # closed now; and rated already
    assert post_action(api_as(county.resident2), case.id, new_action("rate", rating="unsatisfied",
                                                                      note="x")).status_code == 404
    assert post_action(api_as(county.staff_san), case.id, new_action("rate", rating="satisfied")).status_code == 403
    # A replay of the same rating answers with the event already written.
    body = new_action("rate", rating="satisfied")
    other = make_case("handled")
    assert post_action(resident, other.id, body).status_code == 201
    assert post_action(resident, other.id, body).status_code == 200
    assert db.session.scalar(select(db.func.count(Rating.id))) == 2


def test_points_api(county, make_case, api_as):
    salt = RewardItem(code="SALT", name="食盐一袋", cost=10, stock=3)
    db.session.add(salt)
    db.session.add(PointEntry(user_id=county.resident.id, kind="adjust", points=25, reason="test"))
    db.session.commit()
    resident, worker = api_as(county.resident), api_as(county.worker)
    points = resident.get("/api/v1/me/points").json
    assert points["balance"] == 25 and points["entries"][0]["points"] == 25 and points["redemptions"] == []
    assert worker.get("/api/v1/me/points").status_code == 403
    assert resident.get("/api/v1/rewards").json["items"][0]["name"] == "食盐一袋"

    body = {"client_id": str(uuid.uuid4()), "item_id": salt.id}
    made = resident.client.post("/api/v1/rewards/redemptions", json=body, headers=resident.headers)
    assert made.status_code == 201 and made.json["balance"] == 15
    code = made.json["redemption"]["code"]
    replay = resident.client.post("/api/v1/rewards/redemptions", json=body, headers=resident.headers)
    assert replay.status_code == 200 and replay.json["redemption"]["code"] == code and replay.json["balance"] == 15
    bad = resident.client.post("/api/v1/rewards/redemptions", json={"client_id": str(uuid.uuid4()), "item_id": "x"},
                               headers=resident.headers)
    assert bad.status_code == 422

    # Residents cannot mark codes used; staff can, once, and never see whose code it is.
    assert resident.client.post("/api/v1/rewards/redemptions/use", json={"code": code},
                                headers=resident.headers).status_code == 403
    looked = worker.get(f"/api/v1/rewards/redemptions/{code}")
    assert looked.status_code == 200 and looked.json["redemption"]["status"] == "issued"
    assert "code" not in looked.json["redemption"] and "user" not in looked.json["redemption"]
    used = worker.client.post("/api/v1/rewards/redemptions/use", json={"code": code}, headers=worker.headers)
    assert used.status_code == 200 and used.json["redemption"]["status"] == "used"
    again = worker.client.post("/api/v1/rewards/redemptions/use", json={"code": code}, headers=worker.headers)
    assert (again.status_code, again.json["error"]["code"]) == (409, "code_used")
    assert resident.get("/api/v1/me/points").json["redemptions"][0]["status"] == "used"


def test_leaderboard_shows_only_residents_who_opted_in_masked(county, api_as):
    county.resident.display_name = "张小明"
    for user, points in ((county.resident, 30), (county.resident2, 50)):
        db.session.add(PointEntry(user_id=user.id, kind="report_valid", points=points))
    db.session.commit()
    resident = api_as(county.resident)
    assert resident.get("/api/v1/rewards/leaderboard").json["leaders"] == []
    opted = resident.client.put("/api/v1/me/leaderboard", json={"on_leaderboard": True}, headers=resident.headers)
    assert opted.status_code == 200
    leaders = api_as(county.resident2).get("/api/v1/rewards/leaderboard").json["leaders"]
    assert leaders == [{"rank": 1, "name": "张**", "points": 30}]
