"""The case page's workflow forms and the dispatcher's queue with bulk steps:
the same rules as the API, per role, refusals that keep what was typed and write
nothing, and a resubmitted page that applies once."""
import io
import re

from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent, CaseFollower
from civic.extensions import db
from tests.conftest import photo_path
from tests.test_pages import login


def client_id_of(page):
    return re.search(r'name="client_id" value="([0-9a-f-]{36})"', page).group(1)


def events(case_id):
    return db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case_id))


def reload(case_id):
    db.session.expire_all()
    return db.session.get(Case, case_id)


def test_each_role_sees_its_own_steps(client, county, make_case):
    reported = make_case("reported")
    dispatched = make_case("dispatched")
    login(client, "dispatcher")
    page = client.get(f"/cases/{reported.ref}").get_data(as_text=True)
    for step in ('data-action="accept"', 'data-step="dispatch"', 'data-step="merge"', 'data-step="reject"'):
        assert step in page
    assert 'data-step="reroute"' in client.get(f"/cases/{dispatched.ref}").get_data(as_text=True)
    client.post("/auth/logout")

    login(client, "staff_san")
    page = client.get(f"/cases/{dispatched.ref}").get_data(as_text=True)
    assert 'data-action="acknowledge"' in page and 'data-step="return"' in page
    assert 'data-step="reroute"' not in page and 'data-step="merge"' not in page
    client.post("/auth/logout")

    login(client, "resident")  # the reporter follows progress; nothing to do while it is worked on
    assert 'class="actions' not in client.get(f"/cases/{dispatched.ref}").get_data(as_text=True)


def test_dispatch_from_the_page_applies_once(client, county, make_case):
    case = make_case("reported")
    login(client, "dispatcher")
    client_id = client_id_of(client.get(f"/cases/{case.ref}").get_data(as_text=True))
    form = {"client_id": client_id, "action": "dispatch", "department": "TRF"}
    response = client.post(f"/cases/{case.ref}/actions", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.ref}")
    assert reload(case.id).status == "dispatched" and reload(case.id).department.code == "TRF"
    count = events(case.id)
    again = client.post(f"/cases/{case.ref}/actions", data=form)  # back button, send again
    assert again.status_code == 303 and events(case.id) == count


def test_a_refusal_keeps_what_was_typed_and_writes_nothing(client, county, make_case):
    case = make_case("reported")
    login(client, "dispatcher")
    before = events(case.id)
    response = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a01", "action": "reroute", "department": "TRF",
        "note": "<script>alert(1)</script>写了一半"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "不再适用" in page and "<script>alert(1)" not in page
    empty_note = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a02", "action": "reject", "note": "  "})
    assert empty_note.status_code == 422 and "请说明原因" in empty_note.get_data(as_text=True)
    bad_until = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a03", "action": "request_extension", "until": "tomorrow"})
    assert bad_until.status_code == 422
    unknown = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a04", "action": "merge", "into": "NOPE-17"})
    assert unknown.status_code == 422 and 'value="NOPE-17"' in unknown.get_data(as_text=True)
    no_id = client.post(f"/cases/{case.ref}/actions", data={"action": "accept"})
    assert no_id.status_code == 422
    assert events(case.id) == before and reload(case.id).status == "reported"


def test_merge_from_the_page(client, county, make_case):
    survivor = make_case("dispatched")
    duplicate = make_case("reported", reporter=county.resident2)
    login(client, "dispatcher")
    page = client.get(f"/cases/{duplicate.ref}").get_data(as_text=True)
    assert f'value="{survivor.ref}"' in page  # suggested: same category, same place
    response = client.post(f"/cases/{duplicate.ref}/actions", data={
        "client_id": client_id_of(page), "action": "merge", "into": survivor.ref})
    assert response.status_code == 303
    assert reload(duplicate.id).merged_into_id == survivor.id
    assert db.session.get(CaseFollower, (survivor.id, county.resident2.id)) is not None
    merged = client.get(f"/cases/{survivor.ref}").get_data(as_text=True)
    assert "合并了一条重复上报" in merged


def test_staff_acknowledge_handle_with_photo_and_return(client, county, make_case):
    case = make_case("dispatched")
    login(client, "staff_san")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert client.post(f"/cases/{case.ref}/actions", data={"client_id": client_id_of(page),
                                                           "action": "acknowledge"}).status_code == 303
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    response = client.post(f"/cases/{case.ref}/actions", data={
        "client_id": client_id_of(page), "action": "handle", "note": "已清理",
        "photo": (photo_path("gps/DSCN0010.jpg").open("rb"), "after.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    case = reload(case.id)
    assert case.status == "handled" and [p.kind for p in case.photos] == ["after"]

    other = make_case("acknowledged")
    page = client.get(f"/cases/{other.ref}").get_data(as_text=True)
    bad_photo = client.post(f"/cases/{other.ref}/actions", data={
        "client_id": client_id_of(page), "action": "add_photo",
        "photo": (io.BytesIO(photo_path("mobile/jolla.jpg").read_bytes()[:200_000]), "x.jpg")},
        content_type="multipart/form-data")
    assert bad_photo.status_code == 422 and reload(other.id).photos == []
    returned = client.post(f"/cases/{other.ref}/actions", data={
        "client_id": client_id_of(page), "action": "return", "note": "应由交通部门处理"})
    assert returned.status_code == 303 and returned.headers["Location"].endswith("/")  # no longer theirs
    assert reload(other.id).status == "accepted"


def test_forms_need_the_csrf_token(app, client, county, make_case):
    case = make_case("reported")
    login(client, "dispatcher")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/cases/{case.ref}/actions", data={
            "client_id": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a14", "action": "accept"})
        assert response.status_code == 400
        assert client.post("/dashboard/queue", data={"action": "accept", "case": [case.id]}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert reload(case.id).status == "reported"


def test_others_cannot_post_steps(client, county, make_case):
    case = make_case("reported")
    login(client, "resident2")
    assert client.post(f"/cases/{case.ref}/actions", data={
        "client_id": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a05", "action": "accept"}).status_code == 404
    client.post("/auth/logout")
    login(client, "staff_trf")
    assert client.post("/dashboard/queue", data={"action": "accept", "case": [case.id],
                                                 "batch": "8d7c1c33-3f0e-4d38-9a51-3c6f4f0b0a06"}).status_code == 403
    assert reload(case.id).status == "reported" and events(case.id) == 1


def test_bulk_dispatch_from_the_queue(client, county, make_case):
    routed = [make_case("reported", grid=g) for g in ("L2-1-1", "L2-1-2", "L2-2-1")]
    unrouted = make_case("reported", department=None)
    login(client, "dispatcher")
    page = client.get("/dashboard/queue").get_data(as_text=True)
    assert "<svg" in page and all(c.ref in page for c in routed + [unrouted])
    batch = re.search(r'name="batch" value="([0-9a-f-]{36})"', page).group(1)
    form = {"batch": batch, "action": "dispatch", "case": [c.id for c in routed + [unrouted]]}
    response = client.post("/dashboard/queue", data=form)
    assert response.status_code == 303
    for case in routed:
        case = reload(case.id)
        assert case.status == "dispatched" and case.department_id == case.category.department_id
    assert reload(unrouted.id).status == "reported"  # nothing to dispatch it to: refused, shown
    flashes = client.get("/dashboard/queue").get_data(as_text=True)
    assert unrouted.ref in flashes and "请选择" in flashes
    counts = [events(c.id) for c in routed]
    client.post("/dashboard/queue", data=form)  # the same page sent again
    assert [events(c.id) for c in routed] == counts


def test_bulk_reject_needs_a_reason(client, county, make_case):
    cases = [make_case("reported"), make_case("accepted")]
    login(client, "dispatcher")
    batch = "2f0a9a4e-5a55-4c8a-9d9e-0d7f3f6b1c11"
    client.post("/dashboard/queue", data={"batch": batch, "action": "reject", "case": [c.id for c in cases]})
    assert [reload(c.id).status for c in cases] == ["reported", "accepted"]
    client.post("/dashboard/queue", data={"batch": "2f0a9a4e-5a55-4c8a-9d9e-0d7f3f6b1c12", "action": "reject",
                                          "note": "不属于城市管理范围", "case": [c.id for c in cases]})
    assert [reload(c.id).status for c in cases] == ["rejected", "rejected"]
    assert client.post("/dashboard/queue", data={"batch": "nope", "action": "accept",
                                                 "case": [cases[0].id]}).status_code == 400


def test_a_supervisor_decides_more_time_from_the_page(client, county, make_case, api_as):
    from datetime import timedelta

    from civic.timeutil import isoformat, utcnow
    from tests.conftest import new_action, post_action

    case = make_case("in_progress")
    until = (utcnow() + timedelta(days=4)).replace(microsecond=0)
    assert post_action(api_as(county.staff_san), case.id, new_action(
        "request_extension", note="等待配件", until=isoformat(until))).status_code == 201
    login(client, "supervisor")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert "等待配件" in page and 'data-action="approve_extension"' in page
    assert client.post(f"/cases/{case.ref}/actions", data={"client_id": client_id_of(page),
                                                           "action": "approve_extension"}).status_code == 303
    assert reload(case.id).resolve_due_at == until


def test_the_case_page_counts_down_to_its_deadlines(client, county, make_case):
    from datetime import timedelta

    from civic.timeutil import utcnow

    case = make_case("dispatched")
    case.ack_due_at = utcnow() - timedelta(minutes=20, seconds=30)
    case.resolve_due_at = utcnow() + timedelta(hours=3, minutes=10, seconds=30)
    db.session.commit()
    login(client, "staff_san")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert '<span class="deadline overdue">超时 20分钟</span>' in page
    assert '<span class="deadline">剩 3小时10分</span>' in page
