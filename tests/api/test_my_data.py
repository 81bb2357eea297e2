"""A resident's own data: GET /api/v1/me/export and DELETE /api/v1/me."""
import json

import pytest
from sqlalchemy import func, select

from civic.accounts.models import DeviceToken, User
from civic.cases.models import Case, CaseEvent, CaseFollower, Rating
from civic.extensions import db
from civic.push.models import PushSubscription
from civic.rewards.models import PointEntry, Redemption, RewardItem
from tests.conftest import PASSWORD, new_meta, photo_path

SECRET_TEXT = "垃圾堆在门口，联系我13812341234"


def count(model, *where):
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def history(county, api_as, make_case):
    """The resident's report (with a photo), a case they follow, a rating, points and a redemption."""
    api = api_as(county.resident)
    body = api.post_report(new_meta(description=SECRET_TEXT, address="人民路1号"),
                           [photo_path("plain/no_exif.jpg")]).json
    reported = db.session.get(Case, body["id"])
    followed = make_case("closed", reporter=county.resident2)
    item = RewardItem(code="SALT", name="食盐一袋", cost=5, stock=3)
    db.session.add(item)
    db.session.flush()
    redemption = Redemption(user_id=county.resident.id, item_id=item.id, client_id="c-1", code="R7Q2K9", cost=5)
    db.session.add(redemption)
    db.session.flush()
    db.session.add_all([
        CaseFollower(case_id=followed.id, user_id=county.resident.id),
        Rating(case_id=followed.id, user_id=county.resident.id, score="unsatisfied", comment="打13812341234", round=1),
        PointEntry(user_id=county.resident.id, case_id=reported.id, kind="report_valid", points=10),
        PointEntry(user_id=county.resident.id, redemption_id=redemption.id, kind="redeem", points=-5),
        PushSubscription(user_id=county.resident.id, endpoint="https://push.example/1", endpoint_hash="h1",
                         p256dh="k", auth="a"),
        CaseEvent(case_id=followed.id, actor_id=county.resident.id, action="rate", note="不满意，请回电13812341234"),
    ])
    db.session.commit()
    return api, reported.id, followed.id, reported.ref, followed.ref


def test_export_is_a_download_of_everything_about_me(history, county):
    api, _, _, reported_ref, followed_ref = history
    response = api.get("/api/v1/me/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="civic-grid-my-data-')
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.data)
    assert data["account"]["phone"] == "13812341234" and data["account"]["username"] == "resident"
    assert data["account"]["created_at"]
    [report] = data["reports"]
    assert report["ref"] == reported_ref and report["description"] == SECRET_TEXT
    assert report["category"]["code"] == "E0102" and report["location"]["address"] == "人民路1号"
    assert report["status"] == "reported" and report["reported_at"]
    [photo] = report["photos"]
    assert photo["url"].startswith("http://") and "/photos/" in photo["url"]
    assert data["ratings"] == [{"case": followed_ref, "score": "unsatisfied", "comment": "打13812341234", "round": 1,
                                "at": data["ratings"][0]["at"]}]
    assert [f["case"] for f in data["following"]] == [followed_ref]
    assert data["points"]["balance"] == 5
    assert [e["kind"] for e in data["points"]["entries"]] == ["report_valid", "redeem"]
    assert data["points"]["entries"][0]["case"] == reported_ref
    assert data["redemptions"][0]["code"] == "R7Q2K9" and data["redemptions"][0]["item"] == "食盐一袋"
    assert len(data["devices"]) == 1
    # Nothing of anyone else's.
    assert "resident2" not in response.get_data(as_text=True)


def test_export_needs_a_login(client):
    assert client.get("/api/v1/me/export").status_code == 401


def delete_me(api, password=PASSWORD):
    return api.client.delete("/api/v1/me", json={"password": password}, headers=api.headers)


def test_deleting_my_account_keeps_the_cases_anonymised(history, county, api_as, client):
    api, reported, followed, _, _ = history
    uid = county.resident.id
    response = delete_me(api)
    assert response.status_code == 200 and response.json == {"deleted": True}
    db.session.remove()
    case = db.session.get(Case, reported)
    assert case is not None and case.reporter_id is None
    assert "13812341234" not in case.description and "138****1234" in case.description
    assert len(case.photos) == 1
    rating = db.session.scalar(select(Rating).where(Rating.case_id == followed))
    assert rating.user_id is None and rating.score == "unsatisfied" and "13812341234" not in rating.comment
    for model in (CaseFollower, PointEntry, Redemption, DeviceToken, PushSubscription):
        assert count(model, model.user_id == uid) == 0, model
    user = db.session.get(User, uid)
    assert (user.username, user.phone, user.display_name, user.active) == (f"deleted-{uid}", None, "", False)
    assert user.deleted_at is not None and not user.check_password(PASSWORD)
    # The report event still names the (anonymised) row: the trail stays whole,
    # with the numbers in their own notes masked.
    assert db.session.scalar(select(CaseEvent.actor_id).where(CaseEvent.case_id == case.id)) == uid
    assert db.session.scalar(select(CaseEvent.note).where(CaseEvent.action == "rate")) == "不满意，请回电138****1234"
    # The token is gone, and neither name nor phone logs in.
    assert api.get("/api/v1/me").status_code == 401
    for login in ("resident", "13812341234", f"deleted-{uid}"):
        assert client.post("/api/v1/auth/token", json={"username": login, "password": PASSWORD}).status_code == 401


def test_after_deletion_nobody_sees_who_reported(history, county, api_as, client):
    api, reported, _, _, _ = history
    delete_me(api)
    for viewer in (county.dispatcher, county.staff_san):
        body = api_as(viewer).get(f"/api/v1/cases/{reported}").json
        assert "reporter" not in body and body["reported_by_me"] is False
        assert all(event["actor"] is None for event in body["events"] if event["action"] == "report")
    assert api_as(county.resident2).get(f"/api/v1/cases/{reported}").status_code == 404
    case = db.session.get(Case, reported)
    case.status = "accepted"  # screened: on the public board now
    db.session.commit()
    page = client.get(f"/board/{case.ref}")
    assert page.status_code == 200
    assert "13812341234" not in page.get_data(as_text=True) and "resident" not in page.get_data(as_text=True)


def test_the_phone_can_register_again_after_deletion(history, app, county, client):
    api = history[0]
    delete_me(api)
    client.post("/api/v1/auth/codes", json={"phone": "13812341234", "purpose": "register"})
    from civic.push.jobs import push_state

    code = push_state(app).sms.sent[-1][1].split("验证码 ")[1][:6]
    response = client.post("/api/v1/auth/register", json={"phone": "13812341234", "code": code,
                                                           "password": "a-long-password"})
    assert response.status_code == 201 and response.json["user"]["id"] != county.resident.id


def test_a_wrong_password_deletes_nothing(history, county):
    api, reported, _, _, _ = history
    uid = county.resident.id
    response = delete_me(api, "not-my-password")
    assert response.status_code == 403 and response.json["error"]["field"] == "password"
    assert api.client.delete("/api/v1/me", json={}, headers=api.headers).status_code == 422
    assert api.client.delete("/api/v1/me", headers=api.headers).status_code == 400
    assert count(PointEntry, PointEntry.user_id == uid) == 2
    assert db.session.get(Case, reported).reporter_id == uid


@pytest.mark.parametrize("role", ["worker", "dispatcher", "admin"])
def test_staff_accounts_are_not_deleted_this_way(county, api_as, role):
    api = api_as(getattr(county, role))
    response = delete_me(api)
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert db.session.get(User, getattr(county, role).id).active
