"""The fault scenarios, shared by the fault suite's short form (tests/fault/test_*.py)
and its long form (bench/faults.py): clients that retry like the field app's
outbox send reports with photos to the production server (gunicorn on PostgreSQL
+ PostGIS) while something breaks at random moments, and then the database is
checked against what was sent.

- `kill_scenario`: the server, arbiter and workers at once, is killed with SIGKILL
  and started again.
- `database_restart_scenario`: PostgreSQL is restarted under the running server
  (`pg_ctl restart -m fast`, and a crash: `pg_ctl stop -m immediate`, then start).
  It runs on a `ThrowawayCluster` of its own: the shared server other test
  processes use is never touched.

Each returns a `Run`: what the clients were answered and saw on the way
(`Tally`), the faults with their timings, and `Run.check`, the database and the
photo folder against what was sent (lost, duplicated, unexpected cases, photos,
orphan and missing files after `photos gc`). `exactly_once_problems(run)` and
`leftover_problems(run)` list whatever is wrong; the tests assert both are empty,
the bench exits non-zero."""
import http.client
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from civic.extensions import db
from tests.conftest import (ORIGIN, PASSWORD_HASH, SQUARE, _make_app, create_postgis_database, photo_path, point_in,
                            square)
from tests.e2e.conftest import GunicornProcess, free_port

OUTBOX_RETRY = (408, 429)  # besides every 5xx and every network error


# -- a client that retries like the outbox ------------------------------------------

class Tally:
    """What the clients saw, from all their threads: every attempt, the errors by
    kind (`network`, or the status code), when answers came, and a few 5xx bodies."""

    SAMPLES = 5

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts = 0
        self.errors = Counter()
        self.error_times = []
        self.success_times = []
        self.server_errors = 0        # 5xx answers
        self.server_errors_json = 0   # … of them with the API's JSON error shape
        self.server_errors_bare = 0   # … of them gunicorn's own bare page: the app raised past Flask
        self.samples = []             # (status, content type, first 300 characters of the body)
        self.other_samples = []       # the same for 5xx answers not in the JSON error shape

    def answered(self, when):
        with self.lock:
            self.attempts += 1
            self.success_times.append(when)

    def failed(self, when, kind, content_type=None, body=None):
        with self.lock:
            self.attempts += 1
            self.errors[kind] += 1
            self.error_times.append(when)
            if isinstance(kind, int) and kind >= 500:
                self.server_errors += 1
                sample = (kind, content_type, (body or b"").decode("utf-8", "replace")[:300])
                if is_json_error(content_type, body):
                    self.server_errors_json += 1
                else:
                    self.server_errors_bare += is_gunicorn_page(content_type, body)
                    if len(self.other_samples) < self.SAMPLES:
                        self.other_samples.append(sample)
                if len(self.samples) < self.SAMPLES:
                    self.samples.append(sample)

    @property
    def error_count(self):
        return sum(self.errors.values())


def is_json_error(content_type, body):
    """The API's error shape, `{"error": {"code": …}}`, not an HTML page or a traceback."""
    if not (content_type or "").startswith("application/json"):
        return False
    try:
        return isinstance(json.loads(body)["error"]["code"], str)
    except (ValueError, KeyError, TypeError):
        return False


def is_gunicorn_page(content_type, body):
    """gunicorn's own answer when the WSGI app raised instead of answering: a bare
    "Internal Server Error" HTML page, no traceback."""
    text_body = (body or b"").decode("utf-8", "replace")
    return ((content_type or "").startswith("text/html") and "<h1><p>Internal Server Error</p></h1>" in text_body
            and "Traceback" not in text_body)


def multipart(meta, photos):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{json.dumps(meta)}\r\n'.encode()]
    for n, data in enumerate(photos):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p{n}.jpg"\r\n'
                     "Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send_until_answered(base, token, meta, photos, deadline, tally=None):
    """The outbox's rule: a network error, a 5xx, 408 or 429 is tried again; 200/201 is done."""
    body, content_type = multipart(meta, photos)
    wait = 0.05
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{base}/api/v1/reports", data=body, method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                if tally:
                    tally.answered(time.monotonic())
                return response.status
        except urllib.error.HTTPError as error:
            if tally:
                try:
                    error_body = error.read()
                except (OSError, http.client.HTTPException):
                    error_body = b""
                tally.failed(time.monotonic(), error.code, error.headers.get("Content-Type"), error_body)
            if error.code < 500 and error.code not in OUTBOX_RETRY:
                return error.code
        except (OSError, http.client.HTTPException):
            if tally:  # connection refused or cut: the server is down
                tally.failed(time.monotonic(), "network")
        time.sleep(wait)
        wait = min(wait * 2, 0.5)
    return None


def wait_ready(base, timeout=30):
    """Until the server answers at all (the client config needs no database)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/client-config", timeout=2) as response:
                response.read()
                return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise RuntimeError(f"the server at {base} did not start; see its log")


def probe(base, token, requests=8):
    """`requests` reads of the database at once (the user's reports), each tried once:
    the statuses. Right after a restart of the database they show whether the
    workers replace their pooled connections, all of them dead, by themselves."""
    statuses = [None] * requests

    def read(n):
        request = urllib.request.Request(f"{base}/api/v1/reports?limit=1", headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
                statuses[n] = response.status
        except urllib.error.HTTPError as error:
            statuses[n] = error.code
        except (OSError, http.client.HTTPException):
            statuses[n] = "network"

    threads = [threading.Thread(target=read, args=(n,)) for n in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return statuses


# -- the data: a reporter, the reports, and the check ----------------------------

def seed_reporter(app):
    """The rows a grid worker's report needs, on an empty database: the catalogue,
    the test county's first level-1 grid with its first level-2 grid, and the
    worker with a device token. Returns (token, (lat, lng) inside that grid)."""
    from geoalchemy2.shape import from_shape

    from civic.accounts.models import User
    from civic.accounts.services import issue_token
    from civic.grids.catalogue import load_catalogue
    from civic.grids.models import Grid

    with app.app_context():
        load_catalogue()
        lng, lat = ORIGIN
        parent = Grid(code="L1-1", name="一级网格1", level=1, street="测试街道",
                      polygon=from_shape(square(lng, lat, 2 * SQUARE), srid=4326))
        child = Grid(code="L2-1-1", name="网格1-1", level=2, parent=parent, street="测试街道",
                     polygon=from_shape(square(lng, lat), srid=4326))
        worker = User(username="worker", role="grid_worker", display_name="worker", phone="13800000004",
                      password_hash=PASSWORD_HASH)
        worker.grids.append(child)
        db.session.add_all([parent, child, worker])
        token = issue_token(worker)
        db.session.commit()
    return token, point_in("L2-1-1")


def make_reports(count, point, tag="故障测试"):
    """`count` reports in the grid, alternately with one and two photos: [(meta, photos)]."""
    photos = [photo_path("plain/no_exif.jpg").read_bytes(), photo_path("gps/DSCN0010.jpg").read_bytes()]
    lat, lng = point
    return [({"client_id": str(uuid.uuid4()), "category": "E0102", "description": f"{tag} {n}", "lat": lat,
              "lng": lng}, photos[: 1 + n % 2]) for n in range(count)]


def photo_files(app):
    return {f"{p.parent.name}/{p.name}" for p in Path(app.config["PHOTO_DIR"]).glob("*/*") if p.is_file()}


def check_stored(app, reports):
    """The database and the photo folder against what was sent; runs `photos gc`."""
    from civic.cases.models import Case
    from civic.photos.models import Photo

    expected = {meta["client_id"]: len(photos) for meta, photos in reports}
    with app.app_context():
        db.session.remove()
        cases = Counter(db.session.scalars(select(Case.client_id)))
        photo_counts = dict(db.session.execute(
            select(Case.client_id, func.count(Photo.id)).outerjoin(Photo, Photo.case_id == Case.id)
            .group_by(Case.id, Case.client_id)).all())
        orphans_before = len(photo_files(app) - _photo_keys(Photo))
        # gc leaves `.tmp-*` files (a write cut by SIGKILL) alone, whatever their age: counted on their own.
        result = app.test_cli_runner().invoke(args=["photos", "gc", "--min-age", "0"])
        keys, files = _photo_keys(Photo), photo_files(app)
        missing = sorted({client_id for client_id, display, thumb in db.session.execute(
            select(Case.client_id, Photo.display_key, Photo.thumb_key).join(Photo, Photo.case_id == Case.id))
            if display not in files or thumb not in files})
        db.session.remove()
    return {
        "cases": sum(cases.values()),
        "lost": sorted(set(expected) - set(cases)),
        "duplicated": sorted(c for c, n in cases.items() if n > 1),
        "unexpected": sorted(set(cases) - set(expected)),
        "wrong_photos": sorted(c for c, n in expected.items() if c in photo_counts and photo_counts[c] != n),
        "photos_checked": sum(photo_counts.get(c, 0) for c in expected),
        "orphans_before_gc": orphans_before,
        "gc_exit_code": result.exit_code,
        "orphans_after_gc": len(files - keys),
        "tmp_files_after_gc": sum(1 for f in files - keys if f.split("/")[-1].startswith(".tmp-")),
        "missing_files": len(keys - files),
        "missing_files_of": missing,  # the client_ids of the cases whose photo rows name files that are gone
    }


def _photo_keys(photo_model):
    return {k for p in db.session.scalars(select(photo_model)) for k in (p.display_key, p.thumb_key)}


# -- a run: clients sending while faults happen ----------------------------------------

@dataclass
class Run:
    name: str
    reports: int
    clients: int
    faults_planned: int
    answers: dict = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    faults: list = field(default_factory=list)  # {"kind", "down_s", "recovered_s"} each
    elapsed: float = 0.0
    check: dict = field(default_factory=dict)
    probe: list = field(default_factory=list)

    @property
    def accepted(self):
        return sum(1 for status in self.answers.values() if status in (200, 201))

    @property
    def throughput(self):
        return self.reports / self.elapsed if self.elapsed else float("nan")


def drive(run, base, token, reports, fault, rng, timeout):
    """Sends `reports` from `run.clients` threads (each its share, one after the other,
    by the outbox's rule) and, in this thread, calls `fault(n)` `run.faults_planned`
    times at random moments while they send: each once a random share (5–80 %) of
    the reports is answered, and only after the server has answered a report again
    since the previous fault. `fault` returns when the broken part is back."""
    deadline = time.monotonic() + timeout
    answers = run.answers

    def client(share):
        for meta, photos in share:
            answers[meta["client_id"]] = send_until_answered(base, token, meta, photos, deadline, run.tally)

    threads = [threading.Thread(target=client, args=(reports[n::run.clients],), daemon=True)
               for n in range(run.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        thresholds = sorted(rng.uniform(0.05, 0.8) * len(reports) for _ in range(run.faults_planned))
        floor = 0
        for n, at in enumerate(thresholds):
            while len(answers) < max(at, floor) and time.monotonic() < deadline:
                time.sleep(0.01)
            if len(answers) >= len(reports) or time.monotonic() >= deadline:
                break  # nothing left in flight to hit
            time.sleep(rng.uniform(0, 0.2))
            down_at = time.monotonic()
            kind = fault(n)
            up_at = time.monotonic()
            run.faults.append({"kind": kind, "at": down_at - started, "down_s": up_at - down_at,
                               "down_at": down_at, "up_at": up_at})
            floor = len(answers) + 1
    finally:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 15)
    run.elapsed = time.monotonic() - started
    successes = sorted(run.tally.success_times)
    for event, following in zip(run.faults, run.faults[1:] + [None]):
        after = [t for t in successes if t >= event["up_at"]]
        event["recovered_s"] = (after[0] - event["up_at"]) if after else None
        # Errors more than a second after it was back (and before the next fault): it did not recover by itself.
        until = following["down_at"] if following else float("inf")
        event["errors_after_up"] = sum(1 for t in run.tally.error_times if event["up_at"] + 1.0 < t < until)
    return run


def kill_scenario(app, token, point, workdir, *, reports, kills, clients=1, seed=11, timeout=90, name="kill"):
    """Gunicorn, arbiter and workers, killed with SIGKILL `kills` times and started again."""
    sent = make_reports(reports, point)
    rng = random.Random(seed)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    server = GunicornProcess(app, Path(workdir) / "gunicorn.log").start()
    run = Run(name, reports, clients, kills)
    try:
        wait_ready(server.url)

        def fault(_n):
            server.kill()
            time.sleep(rng.uniform(0.1, 0.6))
            server.start()
            wait_ready(server.url)
            return "SIGKILL"

        drive(run, server.url, token, sent, fault, rng, timeout)
    finally:
        if server.process.poll() is None:
            server.kill()
        server.stop()
    run.check = check_stored(app, sent)
    return run


def database_restart_scenario(cluster, workdir, *, reports, restarts, clients=4, seed=7, timeout=120,
                              name="database restart", database="civic_fault"):
    """A database of its own on `cluster`, migrated and seeded, the production server
    on it, and PostgreSQL restarted `restarts` times under it: even ones with
    `pg_ctl restart -m fast`, odd ones (and a single one) as a crash, `pg_ctl stop
    -m immediate`, a pause, and a start (crash recovery)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    url = cluster.create_database(database)
    app = migrated_app(url, workdir / database)
    rng = random.Random(seed)
    run = Run(name, reports, clients, restarts)
    server = None
    try:
        token, point = seed_reporter(app)
        sent = make_reports(reports, point)
        server = GunicornProcess(app, workdir / f"{database}-gunicorn.log").start()
        wait_ready(server.url)

        def fault(n):
            if n % 2 == 1 or restarts == 1:
                cluster.stop("immediate")
                time.sleep(rng.uniform(0.2, 1.0))
                cluster.start()
                return "crash (-m immediate)"
            cluster.restart("fast")
            return "restart -m fast"

        drive(run, server.url, token, sent, fault, rng, timeout)
        if run.faults:
            # Once more while the server is idle, so that every pooled connection of every worker is a dead one:
            # then reads at once, each tried once.
            cluster.restart("fast")
            run.probe = probe(server.url, token)
    finally:
        if server is not None:
            server.stop()
    try:
        run.check = check_stored(app, sent)
    finally:
        dispose(app)
    return run


def migrated_app(url, workdir):
    """An app on `url` (as the tests make one), with the real migrations run."""
    from flask_migrate import upgrade

    app = _make_app(url, Path(workdir) / "photos", VAPID_PRIVATE_KEY_FILE=str(Path(workdir) / "vapid" / "private.pem"),
                    VAPID_PUBLIC_KEY_FILE=str(Path(workdir) / "vapid" / "public.pem"))
    with app.app_context():
        upgrade()
    return app


def dispose(app):
    with app.app_context():
        app.extensions["push"].close()
        if "notify" in app.extensions:
            app.extensions["notify"].runner.stop()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def exactly_once_problems(run):
    """What is wrong with a run, in words; empty when every report was accepted and is
    stored exactly once with all its photos and their files, after every planned fault."""
    check, problems = run.check, []
    refused = {c: s for c, s in run.answers.items() if s not in (200, 201)}
    if len(run.answers) != run.reports or refused:
        problems.append(f"{run.reports - run.accepted} of {run.reports} reports not accepted: {refused}")
    for key in ("lost", "duplicated", "unexpected", "wrong_photos"):
        if check.get(key):
            problems.append(f"{len(check[key])} {key.replace('_', ' ')}: {check[key][:5]}")
    if check.get("cases") != run.reports:
        problems.append(f"{check.get('cases')} cases in the database for {run.reports} reports")
    if check.get("missing_files"):
        problems.append(f"{check['missing_files']} files of stored photos missing, of the reports "
                        f"{check['missing_files_of'][:5]}")
    if len(run.faults) != run.faults_planned:
        problems.append(f"{len(run.faults)} of {run.faults_planned} faults happened while reports were in flight")
    return problems


def leftover_problems(run):
    """Files left after `photos gc` that no row names, in words; empty when there are none."""
    check = run.check
    if check.get("gc_exit_code") != 0:
        return ["photos gc failed"]
    if check.get("orphans_after_gc", 0):
        return [f"{check['orphans_after_gc']} orphan files after photos gc ({check['tmp_files_after_gc']} of them "
                "`.tmp-*`, half-written when the server was killed)"]
    return []


# -- a PostgreSQL cluster of the test's own ------------------------------------------

class ThrowawayCluster:
    """initdb into a temporary folder, served on a free port on 127.0.0.1 (and a
    socket in that folder), trust authentication, owned by the `postgres` user
    when this runs as root (PostgreSQL refuses to run as root)."""

    def __init__(self, bindir):
        self.bindir = Path(bindir)
        self.as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="civic-pg-", dir="/tmp" if self.as_postgres else None))
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.port = free_port()
        self.running = False
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    @staticmethod
    def find_bindir():
        """(bindir, None) for PostgreSQL binaries with PostGIS installed beside them, else (None, why not)."""
        candidates = []
        try:
            candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                             check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
        candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
        found = [c for c in dict.fromkeys(candidates) if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists()]
        if not found:
            return None, "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
        if os.geteuid() == 0 and not shutil.which("runuser"):
            return None, "running as root without runuser, so PostgreSQL cannot run as the postgres user"
        for bindir in found:
            try:
                sharedir = subprocess.run([str(Path(bindir) / "pg_config"), "--sharedir"], capture_output=True,
                                          text=True, check=True).stdout.strip()
            except (OSError, subprocess.CalledProcessError):
                sharedir = str(Path("/usr/share/postgresql") / Path(bindir).parent.name)
            if (Path(sharedir) / "extension" / "postgis.control").exists():
                return bindir, None
        return None, f"PostGIS is not installed for the PostgreSQL binaries in {', '.join(found)}"

    def _run(self, *args, timeout=90):
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}"
                               f"\n{self.log_tail()}")
        return result

    def log_tail(self, lines=20):
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def options(self):
        return (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60 "
                "-c shared_buffers=32MB")

    def init(self):
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                  "--no-sync")
        return self

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self.options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode="fast"):
        self.running = False
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode="fast"):
        self.running = False
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self.options, "-m", mode, "-w",
                  "-t", "60", "restart")
        self.running = True

    def url(self, database="postgres"):
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        """A new database with PostGIS: its URL."""
        return create_postgis_database(name, admin_url=self.url())[0]

    def destroy(self):
        """Stops the server (whatever state it is in) and deletes its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        finally:
            self.running = False
            shutil.rmtree(self.root, ignore_errors=True)
