"""Load: 200 simulated field phones against the production server (gunicorn
with gunicorn.conf.py) on a throw-away PostGIS database, for a bounded time.

Each phone loops as the field app does: a heartbeat, its task list (with the
ETag it was given), and now and then a report with a GPS photo (a shrunk phone
photo, ~160 KB, each with its own client_id), with think time between. A report
that met a network error or a 5xx is sent again with the same client_id, like
the outbox. At the end the database must hold exactly the reports the phones
were told were stored: none lost, none twice.

    .venv/bin/python bench/load.py [--devices 200] [--seconds 60] [--workers N]

Prints requests/s, p50/p95/p99 per kind of request, errors, and the check.
Goal: p95 ≤ 500 ms, 0 errors, 0 lost (issue 10).
"""
import argparse
import json
import logging
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PHOTOS = sorted((ROOT / "tests" / "fixtures" / "photos" / "gps").glob("*.jpg"))
GOAL_P95_MS = 500


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def prepare(url, workdir, devices):
    """Migrate, seed the small demo county, and make `devices` grid workers with tokens."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from civic import create_app
    from civic.accounts.models import User
    from civic.accounts.services import issue_token
    from civic.extensions import db
    from civic.grids.models import Grid

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": str(workdir / "photos"), "SECRET_KEY": "load"})
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["seed-demo", "--size", "small"])
        assert result.exit_code == 0, result.output
        grids = db.session.scalars(select(Grid).where(Grid.level == 2)).all()
        password = db.session.scalar(select(User.password_hash).where(User.username == "worker001"))
        phones = []
        for n in range(devices):
            user = User(username=f"loadworker{n:03d}", display_name=f"压测网格员{n}", role="grid_worker",
                        password_hash=password)
            user.grids.append(grids[n % len(grids)])
            db.session.add(user)
            db.session.flush()
            phones.append({"token": issue_token(user, device_id=f"load-{n}"), "device_id": str(uuid.uuid4())})
        db.session.commit()
        points = []
        for grid in grids:
            from geoalchemy2.shape import to_shape

            point = to_shape(grid.polygon).representative_point()
            points.append((point.y, point.x))
    return phones, points


def start_server(url, workdir, port, workers):
    env = {**os.environ, "DATABASE_URL": url, "PHOTO_DIR": str(workdir / "photos"), "SECRET_KEY": "load",
           "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_LOG_LEVEL": "warning",
           "PUSH_RUNNER": "inline", "WEBHOOK_RUNNER": "inline"}
    if workers:
        env["GUNICORN_WORKERS"] = str(workers)
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(workdir / "gunicorn.log", "wb"),
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{base}/api/v1/client-config", timeout=2).read()
            return process, base
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start; see gunicorn.log")


def multipart(meta, photo):
    boundary = uuid.uuid4().hex
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{json.dumps(meta)}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode() + photo + f"\r\n--{boundary}--\r\n".encode(),
            f"multipart/form-data; boundary={boundary}")


class Phone(threading.Thread):
    def __init__(self, base, phone, points, photos, stop_at, rng, stats):
        super().__init__(daemon=True)
        self.base, self.phone, self.points, self.photos = base, phone, points, photos
        self.stop_at, self.rng, self.stats = stop_at, rng, stats
        self.etag, self.stored, self.pending = None, set(), []

    def request(self, kind, path, *, body=None, content_type="application/json", headers=None):
        headers = {"Authorization": f"Bearer {self.phone['token']}", **(headers or {})}
        if body is not None:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        status = None
        try:
            request = urllib.request.Request(self.base + path, data=body, headers=headers,
                                             method="POST" if body is not None else "GET")
            with urllib.request.urlopen(request, timeout=30) as response:
                status = response.status
                response.read()
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            status, etag = error.code, None
        except OSError:
            status, etag = "network", None
        self.stats.record(kind, (time.perf_counter() - started) * 1000, status)
        return status, etag

    def heartbeat(self):
        body = json.dumps({"device_id": self.phone["device_id"], "app_version": "load", "pending": len(self.pending),
                           "rejected": 0}).encode()
        self.request("heartbeat", "/api/v1/devices/heartbeat", body=body)

    def tasks(self):
        status, etag = self.request("tasks", "/api/v1/tasks",
                                    headers={"If-None-Match": self.etag} if self.etag else None)
        if status == 200 and etag:
            self.etag = etag

    def report(self):
        if not self.pending:
            lat, lng = self.rng.choice(self.points)
            self.pending.append({"client_id": str(uuid.uuid4()), "category": "E0102", "description": "压测上报：路边垃圾",
                                 "lat": lat, "lng": lng, "accuracy_m": 8})
        meta = self.pending[0]
        body, content_type = multipart(meta, self.rng.choice(self.photos))
        status, _etag = self.request("report", "/api/v1/reports", body=body, content_type=content_type)
        if status in (200, 201):
            self.stored.add(self.pending.pop(0)["client_id"])
        elif status == "network" or (isinstance(status, int) and (status >= 500 or status in (408, 429))):
            pass  # kept: sent again with the same client_id
        else:
            self.pending.pop(0)  # refused: the worker would see it under "returned"

    def run(self):
        time.sleep(self.rng.uniform(0, 3))  # phones do not all wake at once
        while time.monotonic() < self.stop_at:
            self.heartbeat()
            self.tasks()
            if self.rng.random() < 0.5:
                self.report()
            time.sleep(self.rng.uniform(2, 6))
        deadline = time.monotonic() + 30
        while self.pending and time.monotonic() < deadline:  # the outbox empties before the phone is counted
            self.report()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.errors = defaultdict(int)

    def record(self, kind, ms, status):
        with self.lock:
            self.times[kind].append(ms)
            if status == "network" or (isinstance(status, int) and status >= 400 and status != 304):
                self.errors[f"{kind} {status}"] += 1


def check(url, stored):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT client_id, COUNT(*) FROM cases WHERE description = '压测上报：路边垃圾' "
                                 "GROUP BY client_id")).all()
        photos = conn.execute(text("SELECT COUNT(*) FROM photos p JOIN cases c ON c.id = p.case_id "
                                   "WHERE c.description = '压测上报：路边垃圾'")).scalar()
    engine.dispose()
    in_db = {client_id: n for client_id, n in rows}
    lost = stored - set(in_db)
    twice = [c for c, n in in_db.items() if n > 1]
    unexpected = set(in_db) - stored
    return len(in_db), photos, lost, twice, unexpected


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(ROOT / "bench"))
    from dashboard import create_postgis_database

    url, drop = create_postgis_database()
    workdir = Path(tempfile.mkdtemp(prefix="civic-load-"))
    server = None
    try:
        phones, points = prepare(url, workdir, args.devices)
        photos = [p.read_bytes() for p in PHOTOS]
        server, base = start_server(url, workdir, free_port(), args.workers)
        stats = Stats()
        started = time.monotonic()
        threads = [Phone(base, phone, points, photos, started + args.seconds, random.Random(n), stats)
                   for n, phone in enumerate(phones)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.seconds + 120)
        elapsed = time.monotonic() - started
        stored = set().union(*(t.stored for t in threads))
        pending = sum(len(t.pending) for t in threads)
        reports, photo_rows, lost, twice, unexpected = check(url, stored)
        total = sum(len(v) for v in stats.times.values())
        print(f"load: {args.devices} phones for {args.seconds} s against gunicorn ({server.pid}) on PostGIS, "
              f"{elapsed:.0f} s in all")
        print(f"{'request':<12} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        everything = []
        for kind in ("heartbeat", "tasks", "report"):
            times = stats.times[kind]
            everything += times
            print(f"{kind:<12} {len(times):7d} {percentile(times, .5):8.1f} {percentile(times, .95):8.1f} "
                  f"{percentile(times, .99):8.1f}")
        p95 = percentile(everything, .95)
        print(f"{'all':<12} {total:7d} {percentile(everything, .5):8.1f} {p95:8.1f} {percentile(everything, .99):8.1f}"
              f"   {total / elapsed:.1f} requests/s")
        errors = sum(stats.errors.values())
        print(f"errors: {errors}" + (f" ({dict(stats.errors)})" if errors else ""))
        print(f"reports the phones were told were stored: {len(stored)}; in the database: {reports} "
              f"({photo_rows} photos); lost {len(lost)}, twice {len(twice)}, unexpected {len(unexpected)}, "
              f"still in outboxes {pending}")
        ok = p95 <= GOAL_P95_MS and errors == 0 and not lost and not twice and not pending
        print("goal met: p95 ≤ 500 ms, 0 errors, 0 lost" if ok else "MISSED: p95 ≤ 500 ms, 0 errors, 0 lost")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
