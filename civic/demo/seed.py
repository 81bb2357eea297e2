"""`flask seed-demo`: a county like the ones this product follows.

Around 36.58 N, 116.25 E: 3 streets (街道), 12 level-1 grids (communities),
120 level-2 grids, the department and category catalogue, users for every
role, and about 2000 past cases over 60 days in every state, each with its
events, so that lists and dashboards have something true to show.
"""
import hashlib
import io
import random
from dataclasses import dataclass
from datetime import timedelta

import click
from geoalchemy2.shape import from_shape
from PIL import Image, ImageDraw
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from ..accounts.models import Role, User
from ..devices.shell import shell_version
from ..cases.deadlines import clock_for
from ..cases.models import Case, CaseEvent, Status
from ..cases.replies import seed_defaults as seed_replies
from ..cases.services import make_ref, set_location
from ..devices.demo import seed_devices
from ..extensions import db
from ..grids.catalogue import load_catalogue
from ..grids.models import Grid
from ..photos.models import Photo
from ..posters.demo import seed_posters
from ..rewards.demo import seed_rewards
from ..spatial import as_multi
from ..stats.rollups import rebuild as rebuild_rollups
from ..timeutil import utcnow
from . import geometry

CENTER = (36.58, 116.25)
COUNTY_CODE = "371523"
DEMO_PASSWORD = "demo1234"
STREETS = ["振兴街道", "信发街道", "温陈街道"]
COMMUNITIES = ["府前社区", "文化社区", "新华社区", "振华社区", "金牛社区", "湖滨社区",
               "东苑社区", "西苑社区", "南苑社区", "北苑社区", "育才社区", "光明社区"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "强", "霞", "平", "刚", "桂英", "建华", "秀兰", "海燕", "志强"]
# Categories grid workers meet most, weighted; the rest share what is left.
COMMON = {"E0102": 14, "E0505": 12, "E0506": 8, "E0605": 8, "E0201": 7, "E0504": 6, "E0507": 6,
          "E0104": 5, "E0601": 4, "E0602": 4, "C0305": 4, "C0118": 4, "E0306": 3, "E0111": 2}
DESCRIPTIONS = {
    "E0102": ["路边有一堆暴露垃圾，无人清理", "小区门口垃圾散落，味道很大"],
    "E0505": ["机动车占用人行道停放", "车辆堵在小区出入口"],
    "E0506": ["非机动车乱停放堵塞盲道", "电动车在门口乱放"],
    "E0605": ["垃圾箱满溢，周围散落垃圾", "分类垃圾桶已满未清运"],
    "E0201": ["电线杆上贴满小广告", "墙面喷涂办证小广告"],
    "E0601": ["消防通道被私家车占用", "杂物堆放堵塞消防通道"],
    "E0602": ["小区内犬只未牵绳，吓到老人孩子", "遛狗不牵绳"],
    "C0118": ["路灯不亮，夜间行人不便", "路灯灯杆倾斜"],
    "E0306": ["路面坑洼，雨天积水", "人行道砖破损翘起"],
}
SIZES = {
    "full": {"streets": 3, "blocks": 4, "cells_x": 5, "cells_y": 2, "cases": 2000, "residents": 60},
    "small": {"streets": 1, "blocks": 2, "cells_x": 2, "cells_y": 2, "cases": 60, "residents": 5},
}


@dataclass
class Demo:
    departments: dict
    categories: dict
    level1: list
    level2: list
    workers_by_grid: dict
    residents: list
    staff_by_department: dict
    dispatcher: User
    supervisor: User


def county_is_empty():
    return db.session.scalar(select(func.count(Grid.id))) == 0


def _name(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(n):
    return f"139{n:08d}"


def _build_grids(size, rng):
    level1, level2 = [], []
    for s, b, cells in geometry.town(CENTER, streets=size["streets"], blocks_per_street=size["blocks"],
                                     cells_x=size["cells_x"], cells_y=size["cells_y"]):
        street_code = f"{s + 1:03d}"
        community = COMMUNITIES[(s * size["blocks"] + b) % len(COMMUNITIES)]
        parent = Grid(code=f"{COUNTY_CODE}{street_code}{b + 1:03d}", name=community, level=1,
                      street=STREETS[s], polygon=from_shape(geometry.union(cells), srid=4326))
        db.session.add(parent)
        level1.append(parent)
        for n, polygon in enumerate(cells, start=1):
            child = Grid(code=f"{parent.code}{n:02d}", name=f"{community}第{n}网格", level=2, parent=parent,
                         street=STREETS[s], polygon=from_shape(as_multi(polygon), srid=4326))
            child.shape = polygon  # kept in memory for placing demo cases
            db.session.add(child)
            level2.append(child)
    return level1, level2


def _build_users(size, level1, level2, departments, rng):
    pw = generate_password_hash(DEMO_PASSWORD)  # one hash for all demo users: hashing is slow on purpose
    serial = iter(range(1, 10**6))

    def user(username, role, **extra):
        u = User(username=username, role=role.value, display_name=extra.pop("display_name", None) or _name(rng),
                 phone=_phone(next(serial)), password_hash=pw, **extra)
        db.session.add(u)
        return u

    user("admin", Role.ADMIN, display_name="系统管理员")
    supervisor = user("supervisor", Role.SUPERVISOR, display_name="指挥中心主任")
    dispatcher = user("dispatcher", Role.DISPATCHER, display_name="值班派遣员")
    staff = {code: [user(f"staff_{code.lower()}", Role.DEPT_STAFF, department=dept)]
             for code, dept in departments.items()}
    workers = {}
    for n, grid in enumerate(level1, start=1):
        chief = user(f"chief{n:02d}", Role.GRID_WORKER)
        chief.grids.append(grid)
        grid.chief = chief
    for n, grid in enumerate(level2, start=1):
        worker = user(f"worker{n:03d}", Role.GRID_WORKER)
        worker.grids.append(grid)
        grid.chief = worker
        workers[grid.code] = worker
    residents = [user(f"resident{n:02d}", Role.RESIDENT) for n in range(1, size["residents"] + 1)]
    return staff, workers, residents, dispatcher, supervisor


def _demo_photos(storage, count=12):
    """Placeholder pictures (drawn, marked 示例/DEMO), shared by seeded cases."""
    rng = random.Random(3)
    keys = []
    for n in range(count):
        image = Image.new("RGB", (960, 720))
        draw = ImageDraw.Draw(image)
        sky, ground = (rng.randint(120, 200), rng.randint(160, 220), 235), (rng.randint(90, 140),) * 3
        draw.rectangle((0, 0, 960, 400), fill=sky)
        draw.rectangle((0, 400, 960, 720), fill=ground)
        for _ in range(6):
            x, y = rng.randint(0, 860), rng.randint(300, 620)
            draw.rectangle((x, y, x + rng.randint(40, 140), y + rng.randint(30, 100)),
                           fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
        draw.text((24, 24), f"DEMO {n + 1}", fill=(255, 255, 255))
        pair = []
        for max_side in (960, 320):
            copy = image.copy()
            copy.thumbnail((max_side, max_side))
            out = io.BytesIO()
            copy.save(out, "JPEG", quality=80)
            key = storage.new_key() if max_side == 960 else storage.new_key("_t.jpg")
            storage.save(key, out.getvalue())
            pair.append(key)
        keys.append(tuple(pair))
    return keys


# The main line of the workflow: (action, status after it, typical minutes after the previous step)
MAIN_LINE = [
    ("accept", Status.ACCEPTED, (3, 40)),
    ("dispatch", Status.DISPATCHED, (2, 30)),
    ("acknowledge", Status.ACKNOWLEDGED, None),  # against the acknowledge deadline
    ("start", Status.IN_PROGRESS, (5, 90)),
    ("handle", Status.HANDLED, None),  # against the resolve deadline
    ("verify", Status.CLOSED, (20, 600)),
]

# The case column that records when each step happened ("start" has none).
STEP_TIMESTAMPS = {"accept": "accepted_at", "dispatch": "dispatched_at", "acknowledge": "acknowledged_at",
                   "handle": "handled_at", "verify": "closed_at"}


def _received_time(now, rng):
    """Daytime-heavy, over the last 60 days."""
    day = now - timedelta(days=rng.uniform(0, 60))
    local_hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 9, 6, 8, 10, 10, 9, 8, 6, 4, 3, 2, 1, 1])[0]
    # Local (UTC+8) hour → UTC
    moment = day.replace(hour=(local_hour - 8) % 24, minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0)
    return min(moment, now - timedelta(minutes=5))


def _simulate(case, demo, actors, now, rng, assignee=None, fresh_task=False):
    """Walk a case along the workflow from its report until now, writing events.
    `assignee`: the grid worker the dispatcher names, who then does the work on
    site. `fresh_task`: a case dispatched a little while ago, not acknowledged yet."""
    events = [CaseEvent(case=case, actor=case.reporter, action="report", to_status=Status.REPORTED.value,
                        created_at=case.received_at, data={"channel": case.channel})]
    if not fresh_task and rng.random() < 0.06:
        at = case.received_at + timedelta(minutes=rng.randint(5, 120))
        if at < now:
            case.status = Status.REJECTED.value
            events.append(CaseEvent(case=case, actor=demo.dispatcher, action="reject", from_status="reported",
                                    to_status="rejected", note=rng.choice(["重复上报", "不属于受理范围", "信息不实"]), created_at=at))
        return events
    at, status = case.received_at, Status.REPORTED
    # Some cases get stuck before work starts or before it is done: these become the overdue ones;
    # some handled ones wait for their check ("verify"), so the demo has handled cases at any
    # hour (otherwise only those handled in the last few hours, none after a night).
    stalls_before = "acknowledge" if fresh_task else (rng.choice(["start", "handle", "verify"])
                                                      if rng.random() < 0.08 else None)
    for action, next_status, spread in MAIN_LINE:
        if action == stalls_before:
            break
        if action == "acknowledge":
            window = (case.ack_due_at - at).total_seconds() / 60
            at = at + timedelta(minutes=max(1, window * (rng.uniform(0.1, 0.9) if rng.random() < 0.93 else rng.uniform(1.1, 3))))
        elif action == "handle":
            window = (case.resolve_due_at - at).total_seconds() / 60
            at = at + timedelta(minutes=max(5, window * (rng.uniform(0.2, 0.95) if rng.random() < 0.9 else rng.uniform(1.05, 2.5))))
        else:
            at = at + timedelta(minutes=rng.randint(*spread))
        if at >= now:
            break
        actor = actors.get(action) or case.reporter
        if action in ("acknowledge", "start", "handle") and case.department is not None:
            actor = assignee or demo.staff_by_department[case.department.code][0]
        if action == "dispatch" and case.department is None:
            break  # nobody owns it: it waits in the dispatcher's queue
        data = None
        if action == "dispatch" and assignee is not None:
            case.assignee, case.assigned_at = assignee, at
            data = {"assignee_id": assignee.id}
        events.append(CaseEvent(case=case, actor=actor, action=action, from_status=status.value,
                                to_status=next_status.value, created_at=at, data=data,
                                note="已处理完毕，现场已恢复" if action == "handle" else None))
        if action in STEP_TIMESTAMPS:
            setattr(case, STEP_TIMESTAMPS[action], at)
        status = next_status
        case.status = status.value
    return events


# A share of dispatched cases is named to the grid's own worker (网格员自处理/协同处置),
# who acknowledges and handles them on site; the rest go to the department's staff.
ASSIGNED_SHARE = 0.35
# The last cases of the demo are fresh tasks of the first grid's worker (worker001):
# dispatched to them within the last two hours and waiting to be acknowledged.
FRESH_TASKS = 3
FRESH_TASK_CATEGORIES = ["E0102", "E0605", "E0201"]


def _build_cases(app, demo, count, rng, photo_keys, assign_rng):
    now = utcnow()
    clock = clock_for(app)
    codes = list(demo.categories)
    weights = [COMMON.get(code, 0.6) for code in codes]
    hot = rng.sample(demo.level2, k=max(1, len(demo.level2) // 10))  # hot spots get more reports
    actors = {"accept": demo.dispatcher, "dispatch": demo.dispatcher, "verify": None}
    cases = []
    with click.progressbar(range(count), label="Demo cases", show_pos=True) as bar:
        for n in bar:
            fresh_task = n >= count - FRESH_TASKS
            grid = rng.choice(hot) if rng.random() < 0.3 else rng.choice(demo.level2)
            category = demo.categories[rng.choices(codes, weights)[0]]
            if fresh_task:
                grid, category = demo.level2[0], demo.categories[rng.choice(FRESH_TASK_CATEGORIES)]
            point = geometry.random_point_in(grid.shape, rng)
            channel = rng.choices(["grid_worker", "resident", "hotline", "qr"], [60, 22, 10, 8])[0]
            reporter = demo.workers_by_grid[grid.code] if channel == "grid_worker" else (
                rng.choice(demo.residents) if channel in ("resident", "qr") else demo.dispatcher)
            received = _received_time(now, rng)
            if fresh_task:  # accepted and dispatched (at most 70 minutes) before now
                received = now - timedelta(minutes=rng.randint(75, 120))
            ack_due, resolve_due = clock.deadlines(received, category)
            case = Case(client_id=f"00000000-0000-4000-8000-{n:012d}", content_hash="demo", channel=channel,
                        reporter=reporter, category=category, grid_id=grid.id, department=category.department,
                        description=rng.choice(DESCRIPTIONS.get(category.code, [category.name_zh])),
                        location_source="device", accuracy_m=round(rng.uniform(4, 30), 1),
                        captured_at=received - timedelta(minutes=rng.randint(0, 5)), received_at=received,
                        ack_due_at=ack_due, resolve_due_at=resolve_due, status=Status.REPORTED.value)
            set_location(case, round(point.y, 6), round(point.x, 6))
            display, thumb = photo_keys[n % len(photo_keys)]
            case.photos.append(Photo(kind="before", position=0, sha256=f"{n:064x}", phash=_demo_phash(n), width=960,
                                     height=720, bytes=0, source_format="DEMO", display_key=display, thumb_key=thumb))
            verifier = demo.workers_by_grid[grid.code]
            actors["verify"] = verifier
            assigned = assign_rng.random() < ASSIGNED_SHARE  # drawn for every case: the main sequence stays
            assignee = verifier if (assigned or fresh_task) else None
            events = _simulate(case, demo, actors, now, rng, assignee=assignee, fresh_task=fresh_task)
            db.session.add_all(events)
            case.updated_at = max(event.created_at for event in events)
            db.session.add(case)
            cases.append(case)
            if n % 250 == 249:
                db.session.flush()
    db.session.flush()
    for case in cases:
        case.ref = make_ref(case)


def _demo_phash(n):
    """A perceptual hash per demo photo, unlike the others (the demo pictures are
    placeholders; equal hashes would make every nearby case look like a duplicate)."""
    return hashlib.sha256(f"demo-photo-{n}".encode()).hexdigest()[:16]


# The dispatcher's queue at the start of the demo: fresh reports not yet screened,
# two of them "me too" reports of a problem already being worked on, one outside
# every grid (nobody owns it: the dispatcher routes it by hand).
QUEUE_ROUTED, QUEUE_DUPLICATES, QUEUE_OUTSIDE = 3, 2, 1
QUEUE_REPORTS = QUEUE_ROUTED + QUEUE_DUPLICATES + QUEUE_OUTSIDE


def _build_queue(app, demo, rng, photo_keys):
    now = utcnow()
    clock = clock_for(app)
    open_cases = [c for c in db.session.scalars(select(Case).where(Case.status == Status.DISPATCHED.value)
                                                .order_by(Case.id))]
    plans = [("routed", None)] * QUEUE_ROUTED + [("duplicate", c) for c in rng.sample(open_cases, QUEUE_DUPLICATES)] \
        + [("outside", None)] * QUEUE_OUTSIDE
    codes = sorted(demo.categories)
    for n, (kind, original) in enumerate(plans):
        received = now - timedelta(minutes=rng.randint(3, 40))
        grid = original.grid if original else rng.choice(demo.level2)
        category = original.category if original else demo.categories[rng.choice(codes)]
        if kind == "duplicate":  # a few metres from the first report
            lat, lng = original.lat + rng.uniform(-0.0001, 0.0001), original.lng + rng.uniform(-0.0001, 0.0001)
        elif kind == "outside":
            lat, lng = CENTER[0] - 0.05, CENTER[1] - 0.05
            grid = None
        else:
            point = geometry.random_point_in(grid.shape, rng)
            lat, lng = point.y, point.x
        ack_due, resolve_due = clock.deadlines(received, category)
        case = Case(client_id=f"00000000-0000-4000-9000-{n:012d}", content_hash="demo", channel="resident",
                    reporter=rng.choice(demo.residents), category=category, grid_id=grid.id if grid else None,
                    department=category.department if grid else None,
                    description=rng.choice(DESCRIPTIONS.get(category.code, [category.name_zh])),
                    location_source="device", accuracy_m=round(rng.uniform(4, 30), 1), captured_at=received,
                    received_at=received, ack_due_at=ack_due, resolve_due_at=resolve_due,
                    status=Status.REPORTED.value, updated_at=received)
        set_location(case, round(lat, 6), round(lng, 6))
        display, thumb = photo_keys[n % len(photo_keys)]
        # A "me too" photo of the same scene: nearly the same perceptual hash.
        phash = original.photos[0].phash[:-1] + "f" if original and original.photos else _demo_phash(10_000 + n)
        case.photos.append(Photo(kind="before", position=0, sha256=f"{n + 1:064x}"[::-1], phash=phash, width=960,
                                 height=720, bytes=0, source_format="DEMO", display_key=display, thumb_key=thumb))
        db.session.add(case)
        db.session.add(CaseEvent(case=case, actor=case.reporter, action="report", to_status=Status.REPORTED.value,
                                 created_at=received, data={"channel": case.channel}))
        db.session.flush()
        case.ref = make_ref(case)


# 挂账: what a county parks (a budget, a season, another body's permit), and for how long.
PARKING_NEEDS = [("护栏需整段更换，超出日常养护范围", "年度维修预算"), ("绿化补植需等春季", "适宜种植季节 (3 月)"),
                 ("需占道施工", "交警部门占道施工许可"), ("井盖权属不明", "产权单位确认")]


def _park_some(demo, rng, now):
    """A few cases at work parked on an approved request until a review date in the
    coming weeks, and one more asking to be parked (the supervisor's to decide)."""
    from ..cases.models import ParkRequest

    working = db.session.scalars(select(Case).where(Case.status == Status.IN_PROGRESS.value,
                                                    Case.department_id.is_not(None)).order_by(Case.id)).all()
    chosen = working[::max(1, len(working) // 6)][:7]
    for n, case in enumerate(chosen):
        last = db.session.scalar(select(func.max(CaseEvent.created_at)).where(CaseEvent.case_id == case.id))
        asked_at = min(now - timedelta(minutes=10), last + timedelta(minutes=rng.randint(30, 240)))
        staff = demo.staff_by_department[case.department.code][0]
        reason, needs = PARKING_NEEDS[n % len(PARKING_NEEDS)]
        review = now + timedelta(days=rng.randint(3, 40))
        approved = n < len(chosen) - 1
        db.session.add(CaseEvent(case=case, actor=staff, action="request_park", from_status="in_progress",
                                 to_status="in_progress", note=reason, created_at=asked_at,
                                 data={"needs": needs, "until": review.isoformat() + "Z"}))
        request = ParkRequest(case_id=case.id, requested_by=staff.id, reason=reason, needs=needs, review_at=review,
                              status="approved" if approved else "pending", created_at=asked_at)
        if approved:
            decided = min(now - timedelta(minutes=5), asked_at + timedelta(minutes=rng.randint(10, 120)))
            request.decided_by, request.decided_at = demo.supervisor.id, decided
            db.session.add(CaseEvent(case=case, actor=demo.supervisor, action="approve_park",
                                     from_status="in_progress", to_status="parked", created_at=decided))
            case.status, case.parked_until = Status.PARKED.value, review
        db.session.add(request)


def seed(app, storage, size_name="full", rng_seed=20261123):
    size = SIZES[size_name]
    rng = random.Random(rng_seed)
    departments, categories = load_catalogue()
    level1, level2 = _build_grids(size, rng)
    db.session.flush()
    staff, workers, residents, dispatcher, supervisor = _build_users(size, level1, level2, departments, rng)
    db.session.flush()
    demo = Demo(departments, categories, level1, level2, workers, residents, staff, dispatcher, supervisor)
    photo_keys = _demo_photos(storage)
    _build_cases(app, demo, size["cases"], rng, photo_keys, random.Random(rng_seed + 1))
    _build_queue(app, demo, random.Random(rng_seed + 2), photo_keys)
    _park_some(demo, random.Random(rng_seed + 3), utcnow())
    seed_replies()  # the standard reply templates (惯用语)
    seed_posters(level2)  # a few QR posters: grids, a park, a market, a bus stop
    db.session.flush()
    seed_rewards(demo, utcnow())  # the catalogue, points for valid reports, ratings, a few codes
    seed_devices(demo, shell_version(app), utcnow())  # field phones for the sync dashboard: most fine, some behind
    # The cases above were written directly, not through the workflow: count them
    # into the roll-ups, and commit the county with them (the rebuild's unit of work).
    rebuild_rollups()
    return demo
