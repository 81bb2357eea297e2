"""cases/access.py: each relation's Python predicate and its SQL clause agree on
every pair of user and case (issue 18, item 2), on both databases; and the lists
built from the clauses (home, reports, tasks) show what the case page allows."""
import itertools

import pytest
from sqlalchemy import select

import civic.models  # noqa: F401  (every model, for the relationships between them)
from civic.accounts.models import User
from civic.cases import access
from civic.cases.models import Case, CaseFollower
from civic.cases.tasks import tasks_for
from civic.extensions import db
from civic.timeutil import utcnow
from tests.conftest import PASSWORD_HASH


@pytest.fixture
def people(county):
    """Every kind of user: the county's, plus staff without a department, a level-1
    grid's worker, a grid worker without grids, a follower, and grid chiefs."""
    def user(name, role, **extra):
        made = User(username=name, role=role, display_name=name, phone=None, password_hash=PASSWORD_HASH, **extra)
        db.session.add(made)
        return made

    extra = {"homeless_staff": user("staff_none", "dept_staff"),
             "level1_worker": user("worker_l1", "grid_worker"),
             "gridless_worker": user("worker_none", "grid_worker"),
             "follower": user("follower", "resident"),
             "road_chief": user("road_chief", "dept_staff"), "area_chief": user("area_chief", "grid_worker")}
    extra["level1_worker"].grids.append(county.grids["L1-1"])
    county.grids["L2-1-1"].chief = extra["road_chief"]   # a street chief of one grid
    county.grids["L1-2"].chief = extra["area_chief"]     # a level-1 grid's chief: its level-2 grids too
    db.session.commit()
    county_people = {name: getattr(county, name) for name in
                     ("admin", "supervisor", "dispatcher", "worker", "other_worker", "staff_san", "staff_trf",
                      "resident", "resident2")}
    return {**county_people, **extra}


@pytest.fixture
def cases(county, make_case, people):
    """Cases in every combination that matters: level-2 grid, level-1 grid, no grid;
    the category's department, another, none; assigned or not; reporters; followed."""
    made = []
    combinations = itertools.product(["L2-1-1", "L2-2-1", "L1-1", None], ["category", county.departments["TRF"], None],
                                     [None, people["worker"], people["staff_san"]],
                                     ["reported", "dispatched", "handled", "closed"])
    for n, (grid, department, assignee, status) in enumerate(combinations):
        if n % 3:  # a third of the 144, spread over every value
            continue
        case = make_case(status, grid="L2-1-2" if grid == "L1-1" else grid, department=department, assignee=assignee,
                         reporter=people["resident2"] if len(made) % 2 else people["resident"])
        if grid == "L1-1":  # a case placed on the level-1 grid itself
            case.grid_id = county.grids["L1-1"].id
        made.append(case)
    for case in made[::4]:
        db.session.add(CaseFollower(case_id=case.id, user_id=people["follower"].id, via_case_id=case.id,
                                    created_at=utcnow()))
    db.session.commit()
    assert len(made) >= 30
    return made


def test_each_predicate_agrees_with_its_clause(people, cases):
    everyone = list(people.values())
    for name, relation in access.RELATIONS.items():
        for user in everyone:
            by_python = {case.id for case in cases if relation.test(user, case)}
            by_sql = set(db.session.scalars(select(Case.id).where(relation.clause(user))))
            assert by_python == by_sql, f"{name} for {user.username}"
    for user in everyone:
        by_python = {case.id for case in cases if access.can_view_case(user, case)}
        by_sql = set(db.session.scalars(select(Case.id).where(access.visible_clause(user))))
        assert by_python == by_sql, f"may see, for {user.username}"


def test_the_disagreements_of_the_old_lists_are_gone(people, cases, county):
    def seen(user):
        return set(db.session.scalars(select(Case.id).where(access.visible_clause(user))))

    # Staff not yet in a department saw every unrouted case on their home list.
    unrouted = {case.id for case in cases if case.department_id is None}
    assert unrouted and not seen(people["homeless_staff"]) & unrouted
    # A level-1 grid's worker missed its level-2 grids' cases.
    children = {case.id for case in cases if case.grid is not None and case.grid.parent_id == county.grids["L1-1"].id}
    assert children and children <= seen(people["level1_worker"])
    # A follower's followed cases were missing.
    followed = set(db.session.scalars(select(CaseFollower.case_id).where(CaseFollower.user_id == people["follower"].id)))
    assert followed and seen(people["follower"]) == followed


def test_the_lists_show_only_what_the_case_page_allows(people, cases, client):
    for user in people.values():
        for case in tasks_for(user):
            assert access.can_view_case(user, case), f"task {case.ref} for {user.username}"


def test_the_home_page_lists_a_level1_workers_child_grid_cases(people, cases, client, county):
    from tests.conftest import PASSWORD

    assert client.post("/auth/login", data={"username": "worker_l1", "password": PASSWORD}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    child_case = next(case for case in cases if case.grid is not None and case.grid.code == "L2-1-1")
    assert child_case.ref in page
