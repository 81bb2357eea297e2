"""GET /api/v1/tasks: what each role finds on the phone, most urgent first, with an ETag."""
from datetime import timedelta

import pytest

from civic.extensions import db
from tests.conftest import new_action, post_action


def task_ids(api):
    response = api.get("/api/v1/tasks")
    assert response.status_code == 200, response.json
    return [task["id"] for task in response.json["tasks"]]


@pytest.fixture
def board(county, make_case):
    """Cases in every situation the task rules tell apart."""
    c = county
    b = type("Board", (), {})()
    b.worker_dispatched = make_case("dispatched", assignee=c.worker, resolve_in=timedelta(hours=6))
    b.worker_in_progress = make_case("in_progress", assignee=c.worker, resolve_in=timedelta(hours=3))
    b.worker_closed = make_case("closed", assignee=c.worker)
    b.worker_rejected = make_case("rejected", assignee=c.worker)
    b.handled_in_grid = make_case("handled", grid="L2-1-1", resolve_in=timedelta(hours=9))
    b.handled_next_grid = make_case("handled", grid="L2-1-2")
    b.dispatched_in_grid_unassigned = make_case("dispatched", grid="L2-1-1")
    b.other_worker_task = make_case("dispatched", grid="L2-2-1", assignee=c.other_worker)
    b.san_reported = make_case("reported")
    b.san_accepted = make_case("accepted")
    b.san_acknowledged = make_case("acknowledged", resolve_in=None)
    b.san_handled = make_case("handled", grid="L2-2-2")
    b.trf_dispatched = make_case("dispatched", category="E0505", grid="L2-2-1")
    b.staff_trf_assigned = make_case("acknowledged", assignee=c.staff_trf)  # a SAN case named to a TRF person
    b.dispatcher_assigned = make_case("accepted", assignee=c.dispatcher)
    return b


def test_grid_worker_tasks(county, board, api_as):
    ids = task_ids(api_as(county.worker))
    # Assigned open cases and handled cases of the grid; most urgent first, no deadline last.
    assert ids == [board.worker_in_progress.id, board.worker_dispatched.id, board.handled_in_grid.id]


def test_a_level1_chief_verifies_the_grids_below(county, board, api_as):
    county.other_worker.grids.append(county.grids["L1-1"])
    db.session.commit()
    ids = set(task_ids(api_as(county.other_worker)))
    assert ids == {board.other_worker_task.id, board.handled_in_grid.id, board.handled_next_grid.id}


def test_department_staff_tasks(county, board, api_as):
    ids = set(task_ids(api_as(county.staff_san)))
    working_san = {board.worker_dispatched.id, board.worker_in_progress.id, board.dispatched_in_grid_unassigned.id,
                   board.other_worker_task.id, board.san_acknowledged.id, board.staff_trf_assigned.id}
    assert ids == working_san
    assert set(task_ids(api_as(county.staff_trf))) == {board.trf_dispatched.id, board.staff_trf_assigned.id}


def test_oversight_sees_what_is_assigned_to_them(county, board, api_as):
    assert task_ids(api_as(county.dispatcher)) == [board.dispatcher_assigned.id]
    assert task_ids(api_as(county.supervisor)) == []


def test_residents_get_no_tasks(county, board, api_as):
    assert task_ids(api_as(county.resident)) == []


def test_tasks_carry_what_the_user_can_do(county, board, api_as):
    tasks = {t["id"]: t for t in api_as(county.worker).get("/api/v1/tasks").json["tasks"]}
    assert tasks[board.worker_dispatched.id]["allowed_actions"] == ["acknowledge", "return"]
    assert tasks[board.worker_in_progress.id]["allowed_actions"] == ["handle", "add_photo", "return", "request_extension", "request_park"]
    assert tasks[board.handled_in_grid.id]["allowed_actions"] == ["verify", "verify_fail"]
    assert tasks[board.worker_dispatched.id]["assigned_to_me"] is True
    assert "events" not in tasks[board.worker_dispatched.id]


def test_etag_and_304_until_something_changes(county, board, api_as):
    api = api_as(county.worker)
    first = api.get("/api/v1/tasks")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "private, no-cache"
    same = api.client.get("/api/v1/tasks", headers={**api.headers, "If-None-Match": etag})
    assert same.status_code == 304 and same.data == b"" and same.headers["ETag"] == etag
    weak = api.client.get("/api/v1/tasks", headers={**api.headers, "If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    assert post_action(api, board.worker_dispatched.id, new_action("acknowledge")).status_code == 201
    changed = api.client.get("/api/v1/tasks", headers={**api.headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # Another user's list has another tag even when it holds the same cases.
    assert api_as(county.other_worker).get("/api/v1/tasks").headers["ETag"] != etag


def test_a_new_assignment_changes_the_etag(county, board, make_case, api_as):
    api = api_as(county.other_worker)
    etag = api.get("/api/v1/tasks").headers["ETag"]
    case = make_case("dispatched", grid="L2-2-1", assignee=county.other_worker)
    response = api.client.get("/api/v1/tasks", headers={**api.headers, "If-None-Match": etag})
    assert response.status_code == 200 and case.id in [t["id"] for t in response.json["tasks"]]


def test_tasks_need_login(client):
    assert client.get("/api/v1/tasks").status_code == 401


def test_at_most_200_tasks(county, make_case):
    from civic.cases.tasks import TASK_LIMIT, tasks_for

    for _ in range(3):
        make_case("dispatched", assignee=county.worker)
    assert TASK_LIMIT == 200 and len(tasks_for(county.worker)) == 3
    assert len(tasks_for(county.worker, limit=2)) == 2
