"""Fixtures: every test runs once per database backend (SQLite+SpatiaLite and
PostgreSQL+PostGIS), on a schema made by the real Alembic migrations, with the
tables emptied after each test.

CIVIC_TEST_BACKENDS=sqlite limits a local run to one backend; `make test` runs both.
CIVIC_TEST_PG is the maintenance URL used to create the throw-away PostGIS database.
"""
import io
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from werkzeug.security import generate_password_hash

from tests import clock

clock.install()  # CIVIC_TEST_NOW: the whole run as if it started at that moment (before the app is imported)

from civic import create_app  # noqa: E402
from civic.extensions import db  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Real camera and phone photos (CC BY-SA 4.0; see the LICENSE.md beside them).
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
BACKENDS = [b.strip() for b in os.environ.get("CIVIC_TEST_BACKENDS", "sqlite,postgis").split(",") if b.strip()]
PG_ADMIN_URL = os.environ.get("CIVIC_TEST_PG", "postgresql+psycopg:///postgres?host=/var/run/postgresql")
PASSWORD = "pw-for-tests"
# Hashing is slow on purpose; tests share one cheap hash of the same password.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def pytest_report_header(config):
    return clock.describe()


def photo_path(relative):
    path = PHOTOS / relative
    if not path.exists():
        pytest.fail(f"photo fixture missing: {path}")
    return path


def create_postgis_database(name=None, admin_url=PG_ADMIN_URL):
    """A new database with PostGIS, made through the maintenance database at
    `admin_url` (the local server's; the benchmarks and the fault suite's own
    cluster use it too): (its URL, a function that drops it)."""
    name = name or f"civic_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def as_admin(statement):
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(statement))
        finally:
            admin.dispose()

    as_admin(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        engine.dispose()
    return url.render_as_string(hide_password=False), lambda: as_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    urls, cleanups = {}, []
    if "sqlite" in BACKENDS:
        urls["sqlite"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    if "postgis" in BACKENDS:
        urls["postgis"], drop = create_postgis_database()
        cleanups.append(drop)
    migrated = set()
    yield urls, migrated
    for cleanup in cleanups:
        cleanup()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    return request.param


def _make_app(url, photo_dir, **extra):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test",
        "SQLALCHEMY_DATABASE_URI": url,
        "PHOTO_DIR": str(photo_dir),
        "TILE_DIR": str(Path(photo_dir).parent / f"{Path(photo_dir).name}-tiles"),
        "WTF_CSRF_ENABLED": False,
        "GRID_INDEX_CHECK_SECONDS": 0,
        # Notifications are sent right after the commit, in the test's own thread.
        "PUSH_RUNNER": "inline",
        "WEBHOOK_RUNNER": "inline",
        # Abuse limits count in this app's own memory: nothing carries over to the next test.
        "RATELIMIT_STORAGE_URI": "memory://",
        # The fake push services run on this machine: allowed by this setting, never by default.
        "PUSH_ALLOW_HTTP_LOCALHOST": True,
    }
    config.update(extra)
    return create_app(config)


def _empty_tables():
    engine = db.engine
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys = OFF"))
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("PRAGMA foreign_keys = ON"))


@pytest.fixture
def app(backend, database_urls, tmp_path, request):
    urls, migrated = database_urls
    extra = {"VAPID_PRIVATE_KEY_FILE": str(tmp_path / "vapid" / "private.pem"),
             "VAPID_PUBLIC_KEY_FILE": str(tmp_path / "vapid" / "public.pem"),
             **(getattr(request, "param", None) or {})}
    application = _make_app(urls[backend], tmp_path / "photos", **extra)
    with application.app_context():
        if backend not in migrated:
            from flask_migrate import upgrade

            upgrade()
            migrated.add(backend)
        try:
            yield application
        finally:
            application.extensions["push"].close()  # a background sender stops before the tables are emptied
            if "notify" in application.extensions:
                application.extensions["notify"].runner.stop()
            db.session.remove()
            _empty_tables()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# -- a small county -----------------------------------------------------------

SQUARE = 0.01  # degrees; four level-2 grids in a 2×2 block per level-1 grid
ORIGIN = (116.20, 36.55)  # lng, lat of the south-west corner


def square(lng, lat, size=SQUARE):
    from shapely.geometry import box

    from civic.spatial import as_multi

    return as_multi(box(lng, lat, lng + size, lat + size))


class County:
    """Handles on the objects of the test county."""


@pytest.fixture
def county(app):
    from geoalchemy2.shape import from_shape

    from civic.accounts.models import User
    from civic.grids.catalogue import load_catalogue
    from civic.grids.models import Grid

    departments, categories = load_catalogue()
    c = County()
    c.departments, c.categories = departments, categories
    c.grids = {}
    for n, (dx, dy) in enumerate([(0, 0), (2, 0)], start=1):
        lng, lat = ORIGIN[0] + dx * SQUARE, ORIGIN[1] + dy * SQUARE
        parent = Grid(code=f"L1-{n}", name=f"一级网格{n}", level=1, street="测试街道",
                      polygon=from_shape(square(lng, lat, 2 * SQUARE), srid=4326))
        db.session.add(parent)
        c.grids[parent.code] = parent
        for m, (ix, iy) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)], start=1):
            child = Grid(code=f"L2-{n}-{m}", name=f"网格{n}-{m}", level=2, parent=parent, street="测试街道",
                         polygon=from_shape(square(lng + ix * SQUARE, lat + iy * SQUARE), srid=4326))
            db.session.add(child)
            c.grids[child.code] = child

    def user(username, role, phone, **extra):
        u = User(username=username, role=role, display_name=username, phone=phone, password_hash=PASSWORD_HASH, **extra)
        db.session.add(u)
        return u

    c.admin = user("admin", "admin", "13800000001")
    c.supervisor = user("supervisor", "supervisor", "13800000002")
    c.dispatcher = user("dispatcher", "dispatcher", "13800000003")
    c.worker = user("worker", "grid_worker", "13800000004")
    c.worker.grids.append(c.grids["L2-1-1"])
    c.other_worker = user("worker2", "grid_worker", "13800000005")
    c.other_worker.grids.append(c.grids["L2-2-1"])
    c.staff_san = user("staff_san", "dept_staff", "13800000006", department=departments["SAN"])
    c.staff_trf = user("staff_trf", "dept_staff", "13800000007", department=departments["TRF"])
    c.resident = user("resident", "resident", "13812341234")
    c.resident2 = user("resident2", "resident", "13912345678")
    db.session.commit()
    return c


def point_in(grid_code, fx=0.5, fy=0.5):
    """(lat, lng) inside a test grid, at a fraction of its square."""
    n, m = (int(x) for x in grid_code.split("-")[1:])
    dx = (0 if n == 1 else 2) + (0 if m in (1, 3) else 1)
    dy = 0 if m in (1, 2) else 1
    return ORIGIN[1] + (dy + fy) * SQUARE, ORIGIN[0] + (dx + fx) * SQUARE


class Api:
    """A client that talks to the API as one user, with a device token."""

    def __init__(self, client, token=None):
        self.client, self.token = client, token

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self.headers, **kw)

    def post_report(self, meta=None, photos=(), raw_meta=None, **kw):
        import json

        data = {"meta": raw_meta if raw_meta is not None else json.dumps(meta)}
        files = []
        for photo in photos:
            if isinstance(photo, Path):
                files.append((io.BytesIO(photo.read_bytes()), photo.name))
            elif isinstance(photo, tuple):
                files.append((io.BytesIO(photo[0]), photo[1]))
            else:
                files.append((io.BytesIO(photo), "photo.jpg"))
        if files:
            data["photo"] = files
        return self.client.post("/api/v1/reports", data=data, headers=self.headers,
                                content_type="multipart/form-data", **kw)


@pytest.fixture
def api_as(client):
    from civic.accounts.services import issue_token

    def make(user):
        token = issue_token(user)
        db.session.commit()
        return Api(client, token)

    return make


def phone_clock(hours_ago=1):
    """What a phone's clock read `hours_ago` hours before now, as the phone sends it
    (local time with its offset) and as the server answers it (UTC, Z): relative to
    the suite's clock, since the server refuses a time in the future."""
    from datetime import datetime, timedelta, timezone

    at = (datetime.now(timezone.utc) - timedelta(hours=hours_ago)).replace(microsecond=0)
    return at.astimezone(timezone(timedelta(hours=8))).isoformat(), at.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_meta(**fields):
    meta = {"client_id": str(uuid.uuid4()), "category": "E0102", "description": "路边垃圾"}
    meta.update(fields)
    return meta


# -- cases in a given state, and task actions ----------------------------------------

# The main line of the workflow: the status after each action, and the step time it sets.
PATH = [("accept", "accepted", "accepted_at"), ("dispatch", "dispatched", "dispatched_at"),
        ("acknowledge", "acknowledged", "acknowledged_at"), ("start", "in_progress", None),
        ("handle", "handled", "handled_at"), ("verify", "closed", "closed_at")]


@pytest.fixture
def make_case(county):
    """make_case("dispatched", assignee=county.worker): a case in the test county that
    has come the usual way to `status`, with its events and step times, committed."""
    from datetime import timedelta

    from civic.cases.models import Case, CaseEvent
    from civic.cases.services import make_ref, set_location
    from civic.timeutil import utcnow

    def make(status="dispatched", *, grid="L2-1-1", category="E0102", assignee=None, reporter=None,
             department="category", resolve_in=timedelta(days=1)):
        now = utcnow()
        cat = county.categories[category]
        reporter = reporter or county.resident
        received = now - timedelta(hours=2)
        case = Case(client_id=str(uuid.uuid4()), content_hash="test", channel="resident", reporter=reporter,
                    category=cat, grid_id=county.grids[grid].id if grid else None,
                    department=cat.department if department == "category" else department,
                    description="测试案件", location_source="device", received_at=received,
                    ack_due_at=received + timedelta(hours=1),
                    resolve_due_at=None if resolve_in is None else received + resolve_in,
                    status="reported", assignee=assignee, assigned_at=now if assignee else None)
        if grid:
            set_location(case, *point_in(grid))
        db.session.add(case)
        db.session.flush()
        case.ref = make_ref(case)
        db.session.add(CaseEvent(case=case, actor=reporter, action="report", to_status="reported",
                                 created_at=received))
        if status == "rejected":
            db.session.add(CaseEvent(case=case, actor=county.dispatcher, action="reject", from_status="reported",
                                     to_status="rejected", note="重复上报", created_at=now))
            case.status = "rejected"
        elif status == "parked":  # 挂账: in progress, then parked on an approved request until a week from now
            for action, after, stamp in PATH[:4]:
                db.session.add(CaseEvent(case=case, actor=county.dispatcher, action=action, from_status=case.status,
                                         to_status=after, created_at=now))
                if stamp:
                    setattr(case, stamp, now)
                case.status = after
            db.session.add(CaseEvent(case=case, actor=county.supervisor, action="approve_park",
                                     from_status="in_progress", to_status="parked", created_at=now))
            case.status, case.parked_until = "parked", now + timedelta(days=7)
        elif status != "reported":
            for action, after, stamp in PATH:
                db.session.add(CaseEvent(case=case, actor=county.dispatcher, action=action, from_status=case.status,
                                         to_status=after, created_at=now))
                if stamp:
                    setattr(case, stamp, now)
                case.status = after
                if after == status:
                    break
            assert case.status == status, f"no way to {status}"
        db.session.commit()
        return case

    return make


def post_action(api, case_id, body=None, photos=(), raw_meta=None, **kw):
    """POST /api/v1/cases/<id>/actions as `api`'s user: JSON without photos, multipart with them."""
    import json

    url = f"/api/v1/cases/{case_id}/actions"
    if not photos and raw_meta is None:
        return api.client.post(url, json=body, headers=api.headers, **kw)
    data = {"meta": raw_meta if raw_meta is not None else json.dumps(body)}
    files = []
    for photo in photos:
        if isinstance(photo, Path):
            files.append((io.BytesIO(photo.read_bytes()), photo.name))
        else:
            files.append((io.BytesIO(photo[0]), photo[1]))
    if files:
        data["photo"] = files
    return api.client.post(url, data=data, headers=api.headers, content_type="multipart/form-data", **kw)


def new_action(action, **fields):
    body = {"client_id": str(uuid.uuid4()), "action": action}
    body.update(fields)
    return body


# -- Redis, for the jobs on RQ --------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis server of this test process's own (no state shared with other workers or runs)."""
    server = shutil.which("redis-server")
    if not server:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(tmp_path_factory.mktemp("redis"))],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from redis import Redis

    client = Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except Exception:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


@pytest.fixture
def rq_app(app, redis_url):
    """The app with every background job on RQ, on a queue of this test's own."""
    app.config.update(PUSH_RUNNER="rq", WEBHOOK_RUNNER=None, REDIS_URL=redis_url,
                      JOBS_QUEUE=f"test-jobs-{uuid.uuid4().hex[:8]}")
    return app
