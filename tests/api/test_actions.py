"""GET /api/v1/cases/<id> and POST /api/v1/cases/<id>/actions: the task contract
of the field app, with replays, conflicts, races, photos and refusals."""
import io
import json
import threading
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import new_action, phone_clock, photo_path, post_action


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def files(app):
    return [p for p in Path(app.config["PHOTO_DIR"]).rglob("*") if p.is_file()]


def state(case_id):
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    return case.status, case.updated_at, count(CaseEvent, CaseEvent.case_id == case_id), \
        count(Photo, Photo.case_id == case_id)


# -- reading a case -------------------------------------------------------------------

def test_case_detail_has_events_and_allowed_actions(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    body = api_as(county.worker).get(f"/api/v1/cases/{case.id}").json
    assert body["id"] == case.id and body["status"] == "dispatched" and body["ref"] == case.ref
    assert body["allowed_actions"] == ["acknowledge", "return"]
    assert body["assignee"] == {"id": county.worker.id, "name": "worker"} and body["assigned_to_me"] is True
    assert [e["action"] for e in body["events"]] == ["report", "accept", "dispatch"]
    report, accept = body["events"][:2]
    assert set(report) == {"id", "action", "from_status", "to_status", "note", "at", "actor"}
    assert report["actor"] is None  # a resident's name is not for a grid worker
    assert accept["actor"] == "dispatcher" and accept["to_status"] == "accepted" and accept["at"].endswith("Z")


def test_residents_see_their_own_name_but_never_another_residents(county, make_case, api_as):
    case = make_case("dispatched", reporter=county.resident)
    mine = api_as(county.resident).get(f"/api/v1/cases/{case.id}").json
    assert mine["events"][0]["actor"] == "resident" and mine["allowed_actions"] == []
    assert "reporter" not in mine
    assert api_as(county.resident2).get(f"/api/v1/cases/{case.id}").status_code == 404
    # Oversight sees the reporter (masked) but the trail follows the same rule.
    seen = api_as(county.dispatcher).get(f"/api/v1/cases/{case.id}").json
    assert seen["events"][0]["actor"] is None and seen["reporter"]["phone"] == "138****1234"


def test_the_assignee_may_see_a_case_outside_their_grid(county, make_case, api_as):
    case = make_case("dispatched")  # in L2-1-1; other_worker works L2-2-1
    api = api_as(county.other_worker)
    assert api.get(f"/api/v1/cases/{case.id}").status_code == 404
    case.assignee = county.other_worker
    db.session.commit()
    assert api.get(f"/api/v1/cases/{case.id}").json["allowed_actions"] == ["acknowledge", "return"]


def test_case_needs_login(client, county, make_case):
    case = make_case("dispatched")
    assert client.get(f"/api/v1/cases/{case.id}").status_code == 401
    response = client.post(f"/api/v1/cases/{case.id}/actions", json=new_action("acknowledge"))
    assert response.status_code == 401 and response.json["error"]["code"] == "login_required"


# -- doing things ---------------------------------------------------------------------

def test_acknowledge_then_replay_then_conflict(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    api = api_as(county.worker)
    device_at, device_at_utc = phone_clock()
    body = new_action("acknowledge", note="收到，马上去", at=device_at)
    first = post_action(api, case.id, body)
    assert first.status_code == 201, first.json
    assert set(first.json) == {"event", "case"}
    event, shown = first.json["event"], first.json["case"]
    assert (event["action"], event["from_status"], event["to_status"]) == ("acknowledge", "dispatched", "acknowledged")
    assert event["note"] == "收到，马上去" and event["actor"] == "worker"
    assert shown["status"] == "acknowledged" and shown["events"][-1] == event
    assert shown["allowed_actions"] == ["start", "handle", "add_photo", "return", "request_extension", "request_park"]
    stored = db.session.get(CaseEvent, event["id"])
    assert stored.client_id == body["client_id"] and stored.data["device_at"] == device_at_utc
    assert db.session.get(Case, case.id).acknowledged_at == stored.created_at

    again = post_action(api, case.id, body)
    assert again.status_code == 200 and again.json["event"] == event
    assert again.json["case"]["status"] == "acknowledged"
    assert count(CaseEvent, CaseEvent.action == "acknowledge") == 1

    changed = post_action(api, case.id, dict(body, note="另一句"))
    assert changed.status_code == 409 and changed.json["error"]["code"] == "client_id_conflict"
    assert changed.json["error"]["field"] == "client_id"
    # Replays answer with the case as it is now, after later actions.
    assert post_action(api, case.id, new_action("start")).status_code == 201
    assert post_action(api, case.id, body).json["case"]["status"] == "in_progress"


def test_same_client_id_from_another_user_or_case_is_a_conflict(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    body = new_action("acknowledge")
    assert post_action(api_as(county.worker), case.id, body).status_code == 201
    response = post_action(api_as(county.staff_san), case.id, body)
    assert response.status_code == 409 and response.json["error"]["code"] == "client_id_conflict"
    other = make_case("dispatched", assignee=county.worker)
    assert post_action(api_as(county.worker), other.id, body).status_code == 409


def test_client_id_spelling_does_not_matter(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    api = api_as(county.worker)
    body = new_action("acknowledge")
    assert post_action(api, case.id, body).status_code == 201
    assert post_action(api, case.id, dict(body, client_id=body["client_id"].upper())).status_code == 200


def test_whole_way_from_report_to_close_over_the_api(county, make_case, api_as):
    case = make_case("reported")
    dispatcher, worker = api_as(county.dispatcher), api_as(county.worker)
    assert post_action(dispatcher, case.id, new_action("accept")).status_code == 201
    response = post_action(dispatcher, case.id, new_action("dispatch", assignee_id=county.worker.id))
    assert response.status_code == 201 and response.json["case"]["assigned_to_me"] is False
    assert response.json["case"]["assignee"]["name"] == "worker"
    assert post_action(worker, case.id, new_action("acknowledge")).status_code == 201
    assert post_action(worker, case.id, new_action("start")).status_code == 201
    handled = post_action(worker, case.id, new_action("handle", note="已清理"), [photo_path("gps/DSCN0010.jpg")])
    assert handled.status_code == 201, handled.json
    resident = api_as(county.resident)
    assert resident.get(f"/api/v1/cases/{case.id}").json["allowed_actions"] == ["verify", "verify_fail", "rate"]
    closed = post_action(resident, case.id, new_action("verify"))
    assert closed.status_code == 201 and closed.json["case"]["status"] == "closed"
    assert closed.json["case"]["allowed_actions"] == ["reopen", "rate"]  # verified, and still to be rated
    assert [e["action"] for e in closed.json["case"]["events"]] == [
        "report", "accept", "dispatch", "acknowledge", "start", "handle", "verify"]


def test_handle_needs_an_after_photo_and_takes_one(app, county, make_case, api_as, client):
    case = make_case("in_progress", assignee=county.worker)
    api = api_as(county.worker)
    before = state(case.id)
    refused = post_action(api, case.id, new_action("handle"))
    assert refused.status_code == 422
    assert (refused.json["error"]["code"], refused.json["error"]["field"]) == ("after_photo_required", "photo")
    assert state(case.id) == before

    response = post_action(api, case.id, new_action("handle", note="已清理"), [photo_path("gps/DSCN0010.jpg")])
    assert response.status_code == 201, response.json
    [photo] = response.json["case"]["photos"]
    assert photo["kind"] == "after"
    served = client.get(photo["url"])
    assert served.status_code == 200 and b"GPS" not in served.data
    assert not Image.open(io.BytesIO(served.data)).getexif()
    assert db.session.get(CaseEvent, response.json["event"]["id"]).data["photos"] == 1
    assert len(files(app)) == 2


def test_a_photo_added_earlier_is_enough_to_handle(county, make_case, api_as):
    case = make_case("acknowledged", assignee=county.worker)
    api = api_as(county.worker)
    added = post_action(api, case.id, new_action("add_photo"), [photo_path("plain/no_exif.jpg")])
    assert added.status_code == 201 and added.json["case"]["status"] == "acknowledged"
    assert post_action(api, case.id, new_action("handle")).status_code == 201


def test_photo_replay_keeps_one_set_of_files(app, county, make_case, api_as):
    case = make_case("in_progress", assignee=county.worker)
    api = api_as(county.worker)
    body = new_action("add_photo")
    assert post_action(api, case.id, body, [photo_path("plain/no_exif.jpg")]).status_code == 201
    assert post_action(api, case.id, body, [photo_path("plain/no_exif.jpg")]).status_code == 200
    other = post_action(api, case.id, body, [photo_path("plain/Canon_40D.jpg")])
    assert other.status_code == 409
    assert count(Photo) == 1 and len(files(app)) == 2


def test_reassigned_case_is_403_with_the_case(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    case.assignee = county.other_worker
    db.session.commit()
    before = state(case.id)
    response = post_action(api_as(county.worker), case.id, new_action("acknowledge"))
    assert response.status_code == 403
    error = response.json["error"]
    assert error["code"] == "forbidden" and "reassigned to worker2" in error["message"]
    assert error["case"]["id"] == case.id and error["case"]["assigned_to_me"] is False
    assert error["case"]["allowed_actions"] == [] and error["case"]["events"]
    assert state(case.id) == before


def test_closed_case_is_409_with_the_case_and_a_clear_message(county, make_case, api_as):
    case = make_case("closed", assignee=county.worker)
    before = state(case.id)
    response = post_action(api_as(county.worker), case.id, new_action("acknowledge"))
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["message"] == "This case is closed now; it can no longer be acknowledged."
    assert error["case"]["status"] == "closed" and error["field"] is None
    assert state(case.id) == before


def test_someone_who_cannot_see_the_case_gets_404(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    assert post_action(api_as(county.resident2), case.id, new_action("acknowledge")).status_code == 404
    assert post_action(api_as(county.staff_trf), case.id, new_action("acknowledge")).status_code == 404


def test_a_resident_who_may_see_but_not_act_gets_403_without_change(county, make_case, api_as):
    case = make_case("dispatched", reporter=county.resident)
    response = post_action(api_as(county.resident), case.id, new_action("acknowledge"))
    assert response.status_code == 403 and response.json["error"]["case"]["id"] == case.id


def test_session_writes_need_the_csrf_token(app, county, make_case):
    from tests.conftest import PASSWORD

    case = make_case("dispatched", assignee=county.worker)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"username": "worker", "password": PASSWORD, "csrf_token": token})
    url = f"/api/v1/cases/{case.id}/actions"
    assert client.post(url, json=new_action("acknowledge")).status_code == 400
    assert client.post(url, json=new_action("acknowledge"), headers={"X-CSRFToken": token}).status_code == 201


# -- bad input ------------------------------------------------------------------------

BAD = [
    ("client_id missing", {"action": "acknowledge"}, 422, "required", "client_id"),
    ("client_id not uuid", {"client_id": "abc", "action": "acknowledge"}, 422, "invalid", "client_id"),
    ("client_id number", {"client_id": 7, "action": "acknowledge"}, 422, "invalid", "client_id"),
    ("action missing", {"action": None}, 422, "required", "action"),
    ("action unknown", {"action": "teleport"}, 422, "unknown_action", "action"),
    ("action number", {"action": 3}, 422, "invalid", "action"),
    ("note not text", {"note": ["a"]}, 422, "invalid", "note"),
    ("note too long", {"note": "字" * 2001}, 422, "too_long", "note"),
    ("note with NUL", {"note": "a\x00b"}, 422, "invalid", "note"),
    ("at garbage", {"at": "yesterday"}, 422, "invalid", "at"),
    ("at number", {"at": 1700000000}, 422, "invalid", "at"),
    ("at in the future", {"at": "2999-01-01T00:00:00Z"}, 422, "out_of_range", "at"),
    ("at before year 1 in UTC", {"at": "0001-01-01T00:00:00+14:00"}, 422, "invalid", "at"),
    ("assignee with acknowledge", {"assignee_id": 1}, 422, "invalid", "assignee_id"),
    ("assignee bool", {"assignee_id": True}, 422, "invalid", "assignee_id"),
    ("department unknown", {"department": "NOPE"}, 422, "invalid", "department"),
]


@pytest.mark.parametrize("label, fields, status, code, field", BAD, ids=[row[0] for row in BAD])
def test_bad_actions_are_clear_errors_and_change_nothing(app, county, make_case, api_as, label, fields, status,
                                                         code, field):
    case = make_case("dispatched", assignee=county.worker)
    before = state(case.id)
    body = new_action("acknowledge")
    body.update(fields)
    body = {k: v for k, v in body.items() if not (k in fields and fields[k] is None)}
    if label == "client_id missing":
        body.pop("client_id")
    response = post_action(api_as(county.worker), case.id, body)
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert (error["code"], error["field"]) == (code, field) and error["message"]
    assert state(case.id) == before and not files(app)


@pytest.mark.parametrize("raw, code", [("{not json", "invalid_json"), ("[1]", "invalid_json")])
def test_broken_meta_is_400(county, make_case, api_as, raw, code):
    case = make_case("dispatched", assignee=county.worker)
    response = post_action(api_as(county.worker), case.id, raw_meta=raw)
    assert response.status_code == 400 and response.json["error"]["code"] == code


def test_photos_with_an_action_that_takes_none_are_refused(app, county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    before = state(case.id)
    response = post_action(api_as(county.worker), case.id, new_action("acknowledge"), [photo_path("plain/no_exif.jpg")])
    assert response.status_code == 422 and response.json["error"]["code"] == "photos_not_allowed"
    assert state(case.id) == before and not files(app)


def test_bad_and_too_many_photos(app, county, make_case, api_as):
    case = make_case("in_progress", assignee=county.worker)
    api = api_as(county.worker)
    before = state(case.id)
    response = post_action(api, case.id, new_action("add_photo"), [(b"not an image", "x.jpg")])
    assert response.status_code == 415 and response.json["error"]["field"] == "photo"
    response = post_action(api, case.id, new_action("add_photo"), [photo_path("plain/no_exif.jpg")] * 4)
    assert response.status_code == 422 and response.json["error"]["code"] == "too_many_photos"
    assert state(case.id) == before and not files(app)


def test_wrong_content_type_is_415(county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    api = api_as(county.worker)
    response = api.client.post(f"/api/v1/cases/{case.id}/actions", data="x", headers=api.headers,
                               content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize("status, code", [(507, "storage_full"), (503, "storage_unavailable")])
def test_full_or_missing_photo_storage_writes_nothing(app, county, make_case, api_as, monkeypatch, status, code):
    from civic.photos.storage import StorageUnavailable, get_storage

    storage = get_storage(app)
    real_save, calls = storage.save, []

    def save(key, data):
        calls.append(key)
        if len(calls) == 2:  # the display copy is written, then the store fails
            raise StorageUnavailable(status, "no room")
        real_save(key, data)

    monkeypatch.setattr(storage, "save", save)
    case = make_case("in_progress", assignee=county.worker)
    before = state(case.id)
    response = post_action(api_as(county.worker), case.id, new_action("add_photo"), [photo_path("plain/no_exif.jpg")])
    assert response.status_code == status and response.json["error"]["code"] == code
    assert state(case.id) == before and not files(app)

    calls.clear()
    from tests.conftest import new_meta

    response = api_as(county.worker).post_report(new_meta(address="x"), [photo_path("plain/no_exif.jpg")])
    assert response.status_code == status and response.json["error"]["code"] == code
    assert count(Case) == 1 and not files(app)


# -- races ------------------------------------------------------------------------------

def _race(app, api, case_id, bodies, photo=None):
    barrier = threading.Barrier(len(bodies))
    results = []

    def post(body):
        client = app.test_client()
        barrier.wait()
        url = f"/api/v1/cases/{case_id}/actions"
        if photo is None:
            response = client.post(url, headers=api.headers, json=body)
        else:
            response = client.post(url, headers=api.headers, content_type="multipart/form-data",
                                   data={"meta": json.dumps(body), "photo": (io.BytesIO(photo), "p.jpg")})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == len(bodies)
    db.session.expire_all()
    return results


def test_concurrent_identical_posts_make_one_event(app, county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    api = api_as(county.worker)
    results = _race(app, api, case.id, [new_action("acknowledge")] * 12)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 11, results
    assert len({body["event"]["id"] for _, body in results}) == 1
    assert count(CaseEvent, CaseEvent.action == "acknowledge") == 1


def test_concurrent_identical_photo_posts_keep_one_set_of_files(app, county, make_case, api_as):
    case = make_case("in_progress", assignee=county.worker)
    api = api_as(county.worker)
    photo = photo_path("plain/no_exif.jpg").read_bytes()
    results = _race(app, api, case.id, [new_action("add_photo")] * 8, photo=photo)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 7, results
    assert count(CaseEvent, CaseEvent.action == "add_photo") == 1 and count(Photo) == 1
    assert len(files(app)) == 2  # the losers removed theirs


def test_concurrent_different_actions_never_both_apply(app, county, make_case, api_as):
    case = make_case("dispatched", assignee=county.worker)
    api = api_as(county.worker)
    results = _race(app, api, case.id, [new_action("acknowledge") for _ in range(8)])
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(409) == 7, results
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "transition_not_allowed"
            assert body["error"]["case"]["status"] == "acknowledged"
    assert count(CaseEvent, CaseEvent.action == "acknowledge") == 1


def test_dispatch_and_reject_at_once_only_one_wins(app, county, make_case, api_as):
    case = make_case("accepted")
    api = api_as(county.dispatcher)
    results = _race(app, api, case.id, [new_action("dispatch"), new_action("reject", note="重复")])
    assert sorted(status for status, _ in results) == [201, 409], results
    assert db.session.get(Case, case.id).status in ("dispatched", "rejected")
    assert count(CaseEvent, CaseEvent.case_id == case.id, CaseEvent.action.in_(["dispatch", "reject"])) == 1
