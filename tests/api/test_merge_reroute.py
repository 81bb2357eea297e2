"""Merging a duplicate ("me too", 合并) and re-routing (改派) over
POST /api/v1/cases/<id>/actions: per role, refusals that change nothing, the
audit trail on both cases, and what the duplicate's reporter sees afterwards."""
from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent, CaseFollower
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import new_action, post_action


def snapshot(*case_ids):
    db.session.expire_all()
    rows = []
    for case_id in case_ids:
        case = db.session.get(Case, case_id)
        rows.append((case.status, case.merged_into_id, case.department_id, case.assignee_id, case.updated_at,
                     db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id)),
                     db.session.scalar(select(func.count(Photo.id)).where(Photo.case_id == case_id)),
                     db.session.scalar(select(func.count()).select_from(CaseFollower)
                                       .where(CaseFollower.case_id == case_id))))
    return rows


def add_photo(case, n):
    db.session.add(Photo(case_id=case.id, kind="before", position=n, sha256=f"{case.id:062d}{n:02d}", phash="0" * 16,
                         width=800, height=600, bytes=1000, source_format="jpeg",
                         display_key=f"d/{case.id}-{n}.jpg", thumb_key=f"t/{case.id}-{n}.jpg"))
    db.session.commit()


def test_merge_keeps_every_reporter_and_photo(county, make_case, api_as):
    survivor = make_case("dispatched", reporter=county.resident)
    add_photo(survivor, 0)
    duplicate = make_case("reported", reporter=county.resident2)
    add_photo(duplicate, 0)
    add_photo(duplicate, 1)
    dispatcher = api_as(county.dispatcher)

    response = post_action(dispatcher, duplicate.id, new_action("merge", into=survivor.ref, note="同一处垃圾"))
    assert response.status_code == 201, response.json
    assert response.json["case"]["status"] == "rejected"
    assert response.json["case"]["merged_into"] == {"id": survivor.id, "ref": survivor.ref}
    event = response.json["event"]
    assert event["action"] == "merge" and event["from_status"] == "reported" and event["to_status"] == "rejected"

    db.session.expire_all()
    survivor = db.session.get(Case, survivor.id)
    assert [p.kind for p in survivor.photos] == ["before", "before", "before"]
    assert [p.display_key for p in survivor.photos][1:] == [f"d/{duplicate.id}-0.jpg", f"d/{duplicate.id}-1.jpg"]
    assert len(db.session.get(Case, duplicate.id).photos) == 2  # the duplicate keeps its own
    followers = db.session.scalars(select(CaseFollower).where(CaseFollower.case_id == survivor.id)).all()
    assert [(f.user_id, f.via_case_id) for f in followers] == [(county.resident2.id, duplicate.id)]
    merged_in = survivor.events[-1]
    assert merged_in.action == "merged_in" and merged_in.actor_id == county.dispatcher.id
    assert merged_in.data["from"] == duplicate.ref and merged_in.from_status == merged_in.to_status == "dispatched"

    # The duplicate's reporter follows the surviving case: listed, readable, without the other reporter.
    follower = api_as(county.resident2)
    listed = follower.client.get("/api/v1/reports", headers=follower.headers).json["reports"]
    by_id = {r["id"]: r for r in listed}
    assert set(by_id) == {survivor.id, duplicate.id}
    assert by_id[survivor.id]["following"] is True and by_id[survivor.id]["reported_by_me"] is False
    assert by_id[duplicate.id]["merged_into"]["ref"] == survivor.ref
    seen = follower.client.get(f"/api/v1/cases/{survivor.id}", headers=follower.headers)
    assert seen.status_code == 200 and "reporter" not in seen.json
    assert all(e["actor"] is None for e in seen.json["events"] if e["action"] == "report")
    assert seen.json["allowed_actions"] == []  # following is not verifying
    assert follower.client.get(f"/api/v1/cases/{survivor.id}", headers=api_as(county.resident2).headers) \
        .status_code == 200


def test_a_second_merge_of_the_same_reporter_adds_no_second_follower(county, make_case, api_as):
    survivor = make_case("accepted", reporter=county.resident)
    first = make_case("reported", reporter=county.resident2)
    second = make_case("reported", reporter=county.resident2)
    own = make_case("reported", reporter=county.resident)  # the survivor's own reporter: not a follower
    dispatcher = api_as(county.dispatcher)
    for case in (first, second, own):
        assert post_action(dispatcher, case.id, new_action("merge", into=survivor.ref)).status_code == 201
    followers = db.session.scalars(select(CaseFollower.user_id).where(CaseFollower.case_id == survivor.id)).all()
    assert followers == [county.resident2.id]
    assert [e.action for e in db.session.get(Case, survivor.id).events].count("merged_in") == 3


def test_merge_refusals_change_nothing(county, make_case, api_as):
    survivor = make_case("dispatched")
    closed = make_case("closed")
    duplicate = make_case("reported", reporter=county.resident2)
    before = snapshot(survivor.id, duplicate.id)
    for who in (county.staff_san, county.worker, county.resident2):
        refused = post_action(api_as(who), duplicate.id, new_action("merge", into=survivor.ref))
        assert refused.status_code in (403, 404), (who.username, refused.json)
    dispatcher = api_as(county.dispatcher)
    cases = [
        (new_action("merge"), 422, "into"),
        (new_action("merge", into="NOPE-1"), 422, "into"),
        (new_action("merge", into=duplicate.ref), 422, "into"),
        (new_action("merge", into=closed.ref), 422, "into"),
        (new_action("reject", into=survivor.ref, note="重复"), 422, "into"),
        (new_action("merge", into=12), 422, "into"),
    ]
    for body, status, field in cases:
        response = post_action(dispatcher, duplicate.id, body)
        assert response.status_code == status, (body, response.json)
        assert response.json["error"]["field"] == field, response.json
    # A case already at work is not merged away: it is the one others merge into.
    assert post_action(dispatcher, survivor.id, new_action("merge", into=duplicate.ref)).status_code == 409
    assert snapshot(survivor.id, duplicate.id) == before


def test_merge_replay_answers_once(county, make_case, api_as):
    survivor = make_case("accepted")
    duplicate = make_case("reported", reporter=county.resident2)
    dispatcher = api_as(county.dispatcher)
    body = new_action("merge", into=survivor.ref)
    first = post_action(dispatcher, duplicate.id, body)
    again = post_action(dispatcher, duplicate.id, body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["event"]["id"] == first.json["event"]["id"]
    assert [e.action for e in db.session.get(Case, survivor.id).events].count("merged_in") == 1
    other = post_action(dispatcher, duplicate.id, dict(body, into=make_case("accepted").ref))
    assert other.status_code == 409 and other.json["error"]["code"] == "client_id_conflict"


def test_followers_hear_of_the_surviving_cases_progress(county, make_case, api_as, monkeypatch):
    from civic.push import fanout as push

    told = []
    monkeypatch.setattr(push, "notify_users", lambda users, kind, case, **kw: told.append(
        (kind, sorted(u.id for u in users))))
    for resident in (county.resident, county.resident2):  # residents opt in to hearing of their reports
        api = api_as(resident)
        assert api.client.put("/api/v1/me/notifications", json={"resident_updates": True},
                              headers=api.headers).status_code == 200
    survivor = make_case("handled", reporter=county.resident, assignee=county.worker)
    db.session.add(CaseFollower(case_id=survivor.id, user_id=county.resident2.id))
    db.session.commit()
    assert post_action(api_as(county.worker), survivor.id, new_action("verify")).status_code == 201
    assert told == [("status", sorted([county.resident.id, county.resident2.id]))]


def test_reroute_tells_the_new_department(county, make_case, api_as, monkeypatch):
    from civic.push import fanout as push

    told = []
    monkeypatch.setattr(push, "notify_users", lambda users, kind, case, **kw: told.append(
        (kind, sorted(u.id for u in users))))
    case = make_case("dispatched", reporter=county.worker)
    assert post_action(api_as(county.dispatcher), case.id,
                       new_action("reroute", department="TRF", note="归交通")).status_code == 201
    assert told == [("assignment", [county.staff_trf.id])]


def test_reroute_moves_a_case_at_work_to_another_department(county, make_case, api_as):
    case = make_case("acknowledged", assignee=county.staff_san)
    old_ack_due = db.session.get(Case, case.id).ack_due_at
    dispatcher = api_as(county.dispatcher)
    response = post_action(dispatcher, case.id, new_action("reroute", department="TRF", note="占道停车归交通"))
    assert response.status_code == 201, response.json
    body = response.json["case"]
    assert body["status"] == "dispatched" and body["department"]["code"] == "TRF" and body["assignee"] is None
    case = db.session.get(Case, case.id)
    assert case.acknowledged_at is None and case.ack_due_at > old_ack_due
    event = case.events[-1]
    assert (event.action, event.from_status, event.to_status, event.note) == \
        ("reroute", "acknowledged", "dispatched", "占道停车归交通")
    assert event.data["department"] == "TRF"
    # The old department no longer sees it; the new one acknowledges it.
    assert post_action(api_as(county.staff_san), case.id, new_action("start")).status_code == 404
    assert post_action(api_as(county.staff_trf), case.id, new_action("acknowledge")).status_code == 201


def test_reroute_to_a_person(county, make_case, api_as):
    case = make_case("dispatched")
    response = post_action(api_as(county.dispatcher), case.id,
                           new_action("reroute", assignee_id=county.worker.id, note="网格员就近处理"))
    assert response.status_code == 201, response.json
    assert response.json["case"]["assignee"]["id"] == county.worker.id


def test_reroute_refusals_change_nothing(county, make_case, api_as):
    case = make_case("in_progress")
    other = make_case("reported")
    before = snapshot(case.id, other.id)
    dispatcher = api_as(county.dispatcher)
    for who in (county.staff_san, county.worker, county.resident):
        assert post_action(api_as(who), case.id, new_action("reroute", department="TRF", note="x")).status_code \
            in (403, 404)
    checks = [
        (case.id, new_action("reroute", department="TRF"), 422, "note_required"),
        (case.id, new_action("reroute", note="换部门"), 422, "department_required"),
        (case.id, new_action("reroute", department=case.department.code, note="换部门"), 422, "same_department"),
        (case.id, new_action("reroute", department="NOPE", note="换部门"), 422, "invalid"),
        (other.id, new_action("reroute", department="TRF", note="换部门"), 409, "transition_not_allowed"),
    ]
    for case_id, body, status, code in checks:
        response = post_action(dispatcher, case_id, body)
        assert response.status_code == status and response.json["error"]["code"] == code, (body, response.json)
    assert snapshot(case.id, other.id) == before
