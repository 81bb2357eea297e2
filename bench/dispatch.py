"""Route and dispatch 100,000 reports in the demo county, each way measured
against a naive way of doing the same work in the same run.

Routing (point → level-2 grid → department, by the category's default or a
per-grid override): ours is what the intake does, `GridIndex.locate` (an
in-memory STRtree) then `routing.route`. The baseline is what one writes
first: a spatial SQL query per report (PostGIS uses its GiST index by itself;
SpatiaLite uses its R*Tree only when asked, and the first query does not ask),
then the grid's rules loaded as ORM objects (routing.route as it was first
written). A third line, the SQL query followed by today's `route`, tells the
two gains apart. Both baselines route a sample (--baseline-reports),
extrapolated to --reports; all three must agree on every grid and department.

Transitions: accept and dispatch (and acknowledge with --acknowledge) through
the real `workflow.apply_action` (conditional UPDATE, one event each, push and
group notifications queued in the same transaction), as the dispatcher, the
department's staff or the grid worker it is assigned to. Ours takes --batch
cases at a time: loads them (with their stage rows) and the people once, applies the actions with
autoflush off (each action's event waits for the commit instead of being
flushed alone by the next action's UPDATE) and commits once. The baseline is
a request per transition, as the action API does it without HTTP: a new
session, the case and the actor loaded, `apply_action`, commit; on a sample of
other cases (--baseline-cases), extrapolated. A third line, the same batches
with autoflush on, on as many cases as the baseline, shows what the
per-action flush costs.

    .venv/bin/python bench/dispatch.py [--reports 100000] [--batch 500] [--acknowledge]
                                       [--baseline-reports 10000] [--baseline-cases 1000]

Set-up, not timed: the full demo county (civic.demo.seed: 120 level-2 grids,
84 categories, 24 departments, 2000 past cases), 26 per-grid routing
overrides, random points over the county's bounding box and 2.5 % beyond each
side (so some fall outside every grid), random categories; then one case per
report, status "reported", with the grid and department the routing chose,
inserted in bulk. Reporters as in the demo: the grid's worker, a resident or
the hotline. 35 % of the dispatches name the grid's worker; the rest go to
the department (what nobody owns, or what lies outside every grid, to the
law-enforcement bureau). The notifications queued are not sent: sending
happens after the commit, in the background, and is push_fanout.py's subject.
"""
import argparse
import logging
import random
import time
import uuid
from datetime import timedelta

from _common import make_app

from civic.jobs import Runner

CHANNELS = (["grid_worker", "resident", "hotline", "qr"], [60, 22, 10, 8])  # as the demo's cases
ASSIGNED_SHARE = 0.35  # dispatched to the grid's own worker, as in the demo; the rest to the department
FALLBACK_DEPARTMENT = "ENF"  # where the dispatcher sends what no rule routes (and what is outside every grid)


class _Capture(Runner):
    """A runner that only keeps the ids handed over after the commit: nothing is sent."""

    def __init__(self):
        super().__init__(app=None, channel=None)
        self.ids = []

    def submit(self, ids):
        self.ids.extend(ids)


# -- set-up --------------------------------------------------------------------------------

def add_overrides(rng):
    """谁主管谁负责 overrides: one category in each level-1 grid and in every 10th
    level-2 grid, and every category in two level-2 grids (a road chief's group)."""
    from sqlalchemy import select

    from civic.extensions import db
    from civic.grids.models import Category, Department, Grid, RoutingRule

    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    categories = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)).all()
    level1 = db.session.scalars(select(Grid).where(Grid.level == 1).order_by(Grid.code)).all()
    level2 = db.session.scalars(select(Grid).where(Grid.level == 2).order_by(Grid.code)).all()
    rules = [RoutingRule(grid=grid, category=rng.choice(categories), department=rng.choice(departments))
             for grid in level1 + level2[::10]]
    rules += [RoutingRule(grid=grid, category=None, department=rng.choice(departments), liaison_group="路长群")
              for grid in level2[5::60]]
    db.session.add_all(rules)
    db.session.commit()
    return len(rules)


def make_reports(index, categories, count, rng, margin=0.025):
    """(lat, lng, category) over the county's bounding box, `margin` wider on each side."""
    import shapely

    min_x, min_y, max_x, max_y = shapely.total_bounds(index._geometries)
    dx, dy = (max_x - min_x) * margin, (max_y - min_y) * margin
    return [(round(rng.uniform(min_y - dy, max_y + dy), 6), round(rng.uniform(min_x - dx, max_x + dx), 6),
             rng.choice(categories)) for _ in range(count)]


# -- routing -------------------------------------------------------------------------------

def route_ours(app, reports):
    """What intake.submit_report does for a report's place: the in-memory index, then the rules."""
    from civic.grids.lookup import get_index
    from civic.grids.routing import route

    index = get_index(app)
    out = []
    for lat, lng, category in reports:
        hit = index.locate(lat, lng)
        destination = route(category, hit.id if hit else None, hit.parent_id if hit else None)
        out.append((hit.id if hit else None, destination.department.id if destination.department else None))
    return out


def route_first_written(category, grid_id, parent_grid_id=None):
    """routing.route as it was first written (53533dc): a new ORM query per report
    loading every rule of the two grids as objects."""
    from sqlalchemy import select

    from civic.extensions import db
    from civic.grids.models import RoutingRule
    from civic.grids.routing import Route

    grid_ids = [g for g in (grid_id, parent_grid_id) if g is not None]
    if grid_ids:
        rules = db.session.scalars(select(RoutingRule).where(RoutingRule.grid_id.in_(grid_ids))).all()
        for gid in grid_ids:
            for category_id in (category.id, None):
                for rule in rules:
                    if rule.grid_id == gid and rule.category_id == category_id:
                        return Route(rule.department, rule.liaison_group or rule.department.liaison_group)
    department = category.department
    if department is None or not department.active:
        return Route(None, None)
    return Route(department, department.liaison_group)


def route_in_sql(reports, route):
    """Ask the database which grid contains the point, then `route`."""
    from sqlalchemy import text

    from civic.extensions import db

    if db.session.get_bind().dialect.name == "sqlite":
        sql = text("SELECT id, parent_id FROM grids WHERE level = 2 "
                   "AND ST_Intersects(polygon, MakePoint(:lng, :lat, 4326)) = 1 ORDER BY code LIMIT 1")
    else:
        sql = text("SELECT id, parent_id FROM grids WHERE level = 2 "
                   "AND ST_Intersects(polygon, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)) ORDER BY code LIMIT 1")
    out = []
    for lat, lng, category in reports:
        row = db.session.execute(sql, {"lat": lat, "lng": lng}).first()
        destination = route(category, row.id if row else None, row.parent_id if row else None)
        out.append((row.id if row else None, destination.department.id if destination.department else None))
    return out


# -- cases ---------------------------------------------------------------------------------

def load_people():
    from sqlalchemy import select

    from civic.accounts.models import Role, User
    from civic.extensions import db
    from civic.grids.models import Department, grid_members

    workers = dict(db.session.execute(
        select(grid_members.c.grid_id, grid_members.c.user_id).join(User, User.id == grid_members.c.user_id)
        .where(User.username.like("worker%"))).all())
    staff = {}
    for department_id, user_id in db.session.execute(
            select(User.department_id, User.id).where(User.role == Role.DEPT_STAFF.value).order_by(User.id)):
        staff.setdefault(department_id, user_id)

    def one(username):
        return db.session.scalar(select(User.id).where(User.username == username))

    return {"workers": workers, "staff": staff, "dispatcher": one("dispatcher"), "admin": one("admin"),
            "residents": list(db.session.scalars(select(User.id).where(User.role == Role.RESIDENT.value))),
            "fallback": db.session.scalar(select(Department.id).where(Department.code == FALLBACK_DEPARTMENT))}


def insert_cases(app, reports, routes, people, rng):
    """One case per report, status "reported", with its "report" event, in bulk. Returns the ids."""
    from sqlalchemy import func, insert, select, text

    from civic.cases.deadlines import clock_for
    from civic.cases.models import Case, CaseEvent
    from civic.extensions import db
    from civic.timeutil import utcnow

    clock = clock_for(app)
    now = utcnow().replace(microsecond=0)
    first = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    deadlines, cases, events = {}, [], []
    for n, ((lat, lng, category), (grid_id, department_id)) in enumerate(zip(reports, routes)):
        case_id = first + n
        received = now - timedelta(minutes=rng.randint(1, 120))
        if (category.id, received) not in deadlines:
            deadlines[category.id, received] = clock.deadlines(received, category)
        ack_due, resolve_due = deadlines[category.id, received]
        channel = rng.choices(*CHANNELS)[0]
        if channel == "grid_worker" and grid_id in people["workers"]:
            reporter = people["workers"][grid_id]
        elif channel in ("resident", "qr"):
            reporter = rng.choice(people["residents"])
        else:
            channel, reporter = "hotline", people["dispatcher"]
        cases.append({"id": case_id, "ref": f"CG-{received.year}-{case_id:06d}",
                      "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                      "content_hash": "bench-dispatch", "channel": channel, "reporter_id": reporter,
                      "category_id": category.id, "description": category.name_zh, "lat": lat, "lng": lng,
                      "location_source": "device", "accuracy_m": 10.0, "grid_id": grid_id,
                      "department_id": department_id, "status": "reported", "captured_at": received,
                      "received_at": received, "ack_due_at": ack_due, "resolve_due_at": resolve_due,
                      "updated_at": received})
        events.append({"case_id": case_id, "actor_id": reporter, "action": "report", "to_status": "reported",
                       "data": {"channel": channel, "photos": 0}, "created_at": received})
    for start in range(0, len(cases), 5000):
        db.session.execute(insert(Case.__table__), cases[start:start + 5000])
        db.session.execute(insert(CaseEvent.__table__), events[start:start + 5000])
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
    db.session.commit()
    return [case["id"] for case in cases]


class Walker:
    """Takes one case through accept → dispatch (→ acknowledge) with apply_action, as the
    dispatcher and then the assignee or the department's staff would. `get_case`,
    `get_user` and `get_department` give the objects for each step; `after` runs after
    each step (a request per transition commits there)."""

    def __init__(self, people, acknowledge, seed):
        self.people, self.acknowledge, self.rng = people, acknowledge, random.Random(seed)
        self.steps = 3 if acknowledge else 2

    def walk(self, get_case, get_user, get_department, after):
        from civic.cases.workflow import apply_action

        people = self.people
        apply_action(get_case(), "accept", get_user(people["dispatcher"]), client_id=str(uuid.uuid4()))
        after()
        case = get_case()
        worker = people["workers"].get(case.grid_id)
        assigned = worker is not None and self.rng.random() < ASSIGNED_SHARE
        department_id = people["fallback"] if case.department_id is None else None
        apply_action(case, "dispatch", get_user(people["dispatcher"]), client_id=str(uuid.uuid4()),
                     assignee=get_user(worker) if assigned else None,
                     department=get_department(department_id) if department_id else None)
        after()
        if self.acknowledge:
            case = get_case()
            doer = worker if assigned else people["staff"].get(case.department_id, people["admin"])
            apply_action(case, "acknowledge", get_user(doer), client_id=str(uuid.uuid4()))
            after()


def transitions_batched(ids, walker, batch, autoflush=False):
    """Ours: a batch of cases and the people loaded once, every action applied, one commit."""
    from contextlib import nullcontext

    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from civic.accounts.models import User
    from civic.cases.models import Case
    from civic.extensions import db
    from civic.grids.models import Department

    for start in range(0, len(ids), batch):
        users = {user.id: user for user in db.session.scalars(select(User).options(selectinload(User.grids)))}
        departments = {department.id: department for department in db.session.scalars(select(Department))}
        cases = db.session.scalars(select(Case).where(Case.id.in_(ids[start:start + batch])).order_by(Case.id)
                                   .options(selectinload(Case.photos), selectinload(Case.stages))).all()
        with nullcontext() if autoflush else db.session.no_autoflush:
            for case in cases:
                walker.walk(lambda: case, users.__getitem__, departments.__getitem__, lambda: None)
        db.session.commit()


def transitions_one_by_one(ids, walker):
    """A request per transition: a new session, the case and the actor loaded, apply_action, commit."""
    from civic.accounts.models import User
    from civic.cases.models import Case
    from civic.extensions import db
    from civic.grids.models import Department

    def end_request():
        db.session.commit()
        db.session.remove()

    for case_id in ids:
        walker.walk(lambda: db.session.get(Case, case_id), lambda user_id: db.session.get(User, user_id),
                    lambda department_id: db.session.get(Department, department_id), end_request)


# -- the run -------------------------------------------------------------------------------

def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="cases per commit (ours)")
    parser.add_argument("--acknowledge", action="store_true", help="acknowledge too (a third transition per case)")
    parser.add_argument("--baseline-reports", type=int, default=10_000,
                        help="reports routed each naive way (at most --reports), extrapolated")
    parser.add_argument("--baseline-cases", type=int, default=1_000,
                        help="cases walked a request per transition (at most --reports), extrapolated")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from sqlalchemy import func, select

    from civic.cases.models import Case, CaseEvent
    from civic.demo.seed import seed
    from civic.extensions import db
    from civic.grids.lookup import get_index
    from civic.grids.models import Category
    from civic.grids.routing import route
    from civic.notify.jobs import notify_state
    from civic.notify.models import WebhookDelivery
    from civic.photos.storage import get_storage
    from civic.push.jobs import push_state
    from civic.push.models import PushDelivery

    n = args.reports
    n_route = min(args.baseline_reports, n)
    n_cases = min(args.baseline_cases, n)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    app = make_app()
    push_state(app)._runner = _Capture()  # queued notifications are written with the actions, not sent
    notify_state(app)._runner = _Capture()
    with app.app_context():
        dialect = db.engine.dialect.name
        seed(app, get_storage(app), "full")
        rules = add_overrides(rng)
        index = get_index(app)
        index.rebuild()
        categories = db.session.scalars(select(Category).where(Category.active.is_(True))
                                        .order_by(Category.code)).all()
        for category in categories:
            category.department  # noqa: B018  (the catalogue in the session, as in a warm process)
        reports = make_reports(index, categories, n + 2 * n_cases, rng)
        setup = time.perf_counter() - started

        # -- routing
        for way in (lambda r: route_ours(app, r), lambda r: route_in_sql(r, route_first_written),
                    lambda r: route_in_sql(r, route)):
            way(reports[:200])  # warm up: statement caches, the index
        routes, ours_route = timed(route_ours, app, reports[:n])
        first_routes, first_route = timed(route_in_sql, reports[:n_route], route_first_written)
        sql_routes, sql_route = timed(route_in_sql, reports[:n_route], route)
        assert first_routes == sql_routes == routes[:n_route], "the ways of routing disagree"
        outside = sum(1 for grid_id, _ in routes if grid_id is None)
        unowned = sum(1 for _, department_id in routes if department_id is None)
        routes += route_ours(app, reports[n:])  # for the baselines' cases

        # -- cases (not timed)
        people = load_people()
        ids, insert = timed(insert_cases, app, reports, routes, people, rng)
        ours_ids, base_ids, flush_ids = ids[:n], ids[n:n + n_cases], ids[n + n_cases:]
        db.session.remove()

        # -- transitions
        events_before = db.session.scalar(select(func.count(CaseEvent.id)))
        walker = Walker(people, args.acknowledge, args.seed)
        _, ours_walk = timed(transitions_batched, ours_ids, walker, args.batch)
        db.session.remove()
        _, base_walk = timed(transitions_one_by_one, base_ids, Walker(people, args.acknowledge, args.seed + 1))
        _, flush_walk = timed(transitions_batched, flush_ids, Walker(people, args.acknowledge, args.seed + 2),
                              args.batch, autoflush=True)
        db.session.remove()

        status = "acknowledged" if args.acknowledge else "dispatched"
        moved = db.session.scalar(select(func.count(Case.id)).where(Case.content_hash == "bench-dispatch",
                                                                    Case.status == status))
        events = db.session.scalar(select(func.count(CaseEvent.id))) - events_before
        pushes = db.session.scalar(select(func.count(PushDelivery.id)))
        hooks = db.session.scalar(select(func.count(WebhookDelivery.id)))
        assert moved == len(ids) and events == walker.steps * len(ids), (moved, events, len(ids))

    steps = walker.steps
    actions = "accept + dispatch" + (" + acknowledge" if args.acknowledge else "")
    ours_rps, first_rps, sql_rps = n / ours_route, n_route / first_route, n_route / sql_route
    ours_tps = steps * n / ours_walk
    base_tps, flush_tps = steps * n_cases / base_walk, steps * n_cases / flush_walk
    print(f"dispatch: {n:,} reports in the demo county ({dialect}; {len(index)} level-2 grids, "
          f"{len(categories)} categories, {rules} routing overrides); set-up {setup:.0f} s, "
          f"{len(ids):,} cases inserted in {insert:.0f} s")
    print(f"  routing ({100 * outside / n:.1f} % outside every grid, {100 * unowned / n:.1f} % owned by nobody):")
    print(f"    ours: STRtree + route                  : {ours_rps:8,.0f} reports/s ({1e6 / ours_rps:5.0f} µs each; "
          f"{ours_route:.1f} s for {n:,})")
    print(f"    SQL point-in-polygon + ORM rules query : {first_rps:8,.0f} reports/s ({1e6 / first_rps:5.0f} µs each; "
          f"{n_route:,} routed -> {n / first_rps:.1f} s for {n:,}, extrapolated)")
    print(f"    ratio                                  : {ours_rps / first_rps:8.1f}x")
    print(f"    (SQL point-in-polygon + route          : {sql_rps:8,.0f} reports/s ({1e6 / sql_rps:5.0f} µs each); "
          f"ours {ours_rps / sql_rps:.1f}x)")
    print(f"  transitions, {actions} through apply_action ({pushes:,} push and {hooks:,} group notifications "
          f"queued in all):")
    print(f"    {f'ours: a commit every {args.batch} cases':<39}: {ours_tps:8,.0f} transitions/s "
          f"({ours_walk:.1f} s for {steps * n:,}; {n / ours_walk:,.0f} cases/s)")
    print(f"    a request per transition (commit each) : {base_tps:8,.0f} transitions/s "
          f"({base_walk:.1f} s for {steps * n_cases:,} -> {steps * n / base_tps:.0f} s for {steps * n:,}, "
          "extrapolated)")
    print(f"    ratio                                  : {ours_tps / base_tps:8.1f}x")
    print(f"    (the same batches with autoflush on    : {flush_tps:8,.0f} transitions/s on {steps * n_cases:,}; "
          f"ours {ours_tps / flush_tps:.1f}x)")


if __name__ == "__main__":
    main()
