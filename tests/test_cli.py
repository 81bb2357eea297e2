"""The flask commands: users, seed-demo, photos gc."""
from sqlalchemy import func, select

from civic.accounts.models import User
from civic.cases.models import Case, CaseEvent, Status
from civic.cases.duplicates import suggest
from civic.demo.seed import QUEUE_REPORTS
from civic.extensions import db
from civic.grids.models import Department, Grid


def test_users_create(runner, county):
    result = runner.invoke(args=["users", "create", "zhang", "--role", "grid_worker", "--password", "s3cret!",
                                 "--grid", "L2-1-2", "--phone", "13700001111"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "zhang"))
    assert user.role == "grid_worker" and [g.code for g in user.grids] == ["L2-1-2"]
    assert user.check_password("s3cret!") and "s3cret!" not in user.password_hash
    assert user.phone_masked == "137****1111"


def test_users_create_refuses_bad_role_grid_department_and_duplicates(runner, county):
    for args, message in [
        (["--role", "mayor"], "unknown role"),
        (["--role", "grid_worker", "--grid", "NOPE"], "no grid"),
        (["--role", "dept_staff", "--department", "NOPE"], "no department"),
    ]:
        result = runner.invoke(args=["users", "create", "li", "--password", "x", *args])
        assert result.exit_code != 0 and message in result.output
    result = runner.invoke(args=["users", "create", "worker", "--role", "resident", "--password", "x"])
    assert result.exit_code != 0 and "exists" in result.output


def test_seed_demo_small_builds_a_county_in_every_state(app, runner):
    result = runner.invoke(args=["seed-demo", "--size", "small"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Grid.id)).where(Grid.level == 2)) == 8
    assert db.session.scalar(select(func.count(Department.id))) >= 20
    assert db.session.scalar(select(func.count(Case.id))) == 60 + QUEUE_REPORTS
    # The dispatcher's queue: fresh reports, "me too" reports with a suggested duplicate, one outside every grid.
    waiting = db.session.scalars(select(Case).where(Case.status == "reported")).all()
    assert len(waiting) >= QUEUE_REPORTS
    assert sum(1 for c in waiting if suggest(c)) >= 2
    assert any(c.grid_id is None and c.department_id is None for c in waiting)
    assert db.session.scalar(select(func.count(CaseEvent.id))) > 60
    refs = db.session.scalars(select(Case.ref)).all()
    assert all(ref and ref.startswith("CG-") for ref in refs)
    assert_demo_worker_has_tasks()
    again = runner.invoke(args=["seed-demo", "--size", "small", "--if-empty"])
    assert again.exit_code == 0 and "not seeding" in again.output
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code != 0


def test_full_demo_county_shape(app, runner):
    """The full county: 12 level-1, 120 level-2 grids that tile the town, ~2000 cases in every state."""
    from geoalchemy2.shape import to_shape
    from shapely.ops import unary_union

    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    level1 = db.session.scalars(select(Grid).where(Grid.level == 1)).all()
    level2 = db.session.scalars(select(Grid).where(Grid.level == 2)).all()
    assert (len(level1), len(level2)) == (12, 120)
    assert len({g.street for g in level1}) == 3
    shapes = [to_shape(g.polygon) for g in level2]
    town = unary_union(shapes)
    assert abs(sum(s.area for s in shapes) - town.area) < 1e-9  # no overlaps
    assert abs(town.centroid.y - 36.58) < 0.01 and abs(town.centroid.x - 116.25) < 0.01
    statuses = set(db.session.scalars(select(Case.status).distinct()))
    assert statuses == {s.value for s in Status}
    assert db.session.scalar(select(func.count(Case.id))) == 2000 + QUEUE_REPORTS
    assert_demo_worker_has_tasks()
    # A share of the cases at work in each grid is assigned to that grid's worker.
    working = db.session.scalars(select(Case).where(Case.status.in_(["dispatched", "acknowledged", "in_progress"]))).all()
    assigned = [c for c in working if c.assignee is not None]
    assert 0.2 < len(assigned) / len(working) < 0.7
    assert all(c.assignee.grids == [c.grid] and c.assigned_at == c.dispatched_at for c in assigned)
    assert_demo_rewards()


def assert_demo_rewards():
    """Residents earned points for accepted reports, rated closed ones (mostly
    satisfied, some rechecks), exchanged some; no balance below zero."""
    from civic.cases.models import Rating, Recheck
    from civic.rewards.models import PointEntry, Redemption, RewardItem

    assert db.session.scalar(select(func.count(RewardItem.id))) >= 3
    balances = db.session.execute(select(PointEntry.user_id, func.sum(PointEntry.points))
                                  .group_by(PointEntry.user_id)).all()
    assert len(balances) > 20 and all(total >= 0 for _, total in balances)
    scores = dict(db.session.execute(select(Rating.score, func.count(Rating.id)).group_by(Rating.score)).all())
    assert scores["satisfied"] > scores.get("basic", 0) > 0 and scores.get("unsatisfied", 0) > 0
    assert db.session.scalar(select(func.count(Recheck.id))) == scores["unsatisfied"]
    assert set(db.session.scalars(select(Redemption.status).distinct())) == {"issued", "used"}


def test_photos_gc_removes_only_orphans(app, runner, county, api_as):
    from pathlib import Path

    from tests.conftest import new_meta, photo_path

    api_as(county.worker).post_report(new_meta(address="x"), [photo_path("plain/no_exif.jpg")])
    import os
    import time

    orphan = Path(app.config["PHOTO_DIR"]) / "ab" / "abandoned.jpg"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    # A file written a moment ago may be an upload whose row is not committed yet: it stays.
    in_flight = Path(app.config["PHOTO_DIR"]) / "cd" / "uploading.jpg"
    in_flight.parent.mkdir(parents=True, exist_ok=True)
    in_flight.write_bytes(b"an upload under way")
    # Written now by the app's clock: the file system stamps the machine's, which the suite's clock
    # (CIVIC_TEST_NOW) may be days away from.
    os.utime(in_flight, (time.time(), time.time()))
    result = runner.invoke(args=["photos", "gc"])
    assert "1 orphan files deleted" in result.output
    assert not orphan.exists() and in_flight.exists()
    assert len(list(Path(app.config["PHOTO_DIR"]).rglob("*.jpg"))) == 3
    result = runner.invoke(args=["photos", "gc", "--min-age", "0"])
    assert "1 orphan files deleted" in result.output and not in_flight.exists()


def assert_demo_worker_has_tasks():
    """worker001 finds open tasks in the field app, three or more to acknowledge."""
    from civic.cases.tasks import tasks_for
    from civic.cases.workflow import allowed_actions

    worker = db.session.scalar(select(User).where(User.username == "worker001"))
    tasks = tasks_for(worker)
    to_acknowledge = [c for c in tasks if c.status == "dispatched" and "acknowledge" in allowed_actions(c, worker)]
    assert len(to_acknowledge) >= 3
    for case in to_acknowledge:
        assert case.assignee_id == worker.id and case.assigned_at == case.dispatched_at
        assert [e.action for e in case.events] == ["report", "accept", "dispatch"]
        assert case.events[-1].data == {"assignee_id": worker.id}
