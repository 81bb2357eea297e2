"""The fault suite's short form: a client that retries like the field app's
outbox sends reports with photos while the production server (gunicorn on
PostgreSQL + PostGIS) is killed with SIGKILL at random moments, arbiter and
workers at once, and started again. Every report exists exactly once with all
its photos, and after the clean-up no photo file is left that no row refers to.

CIVIC_FAULT_REPORTS (30) and CIVIC_FAULT_KILLS (3) make it longer; a long form
as a benchmark command, and the PostgreSQL restart, are still to come."""
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civic.accounts.models import User
from civic.accounts.services import issue_token
from civic.cases.models import Case
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import photo_path, point_in
from tests.e2e.conftest import GunicornProcess

REPORTS = int(os.environ.get("CIVIC_FAULT_REPORTS", 30))
KILLS = int(os.environ.get("CIVIC_FAULT_KILLS", 3))


def multipart(meta, photos):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{json.dumps(meta)}\r\n'.encode()]
    for n, data in enumerate(photos):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p{n}.jpg"\r\n'
                     "Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def send_until_answered(base, token, meta, photos, deadline):
    """The outbox's rule: a network error, a 5xx, 408 or 429 is tried again; 200/201 is done."""
    body, content_type = multipart(meta, photos)
    wait = 0.05
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{base}/api/v1/reports", data=body, method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            if error.code < 500 and error.code not in (408, 429):
                return error.code
        except OSError:
            pass  # connection refused or cut: the server is down
        time.sleep(wait)
        wait = min(wait * 2, 0.5)
    return None


def test_reports_sent_through_crashes_arrive_exactly_once_with_their_photos(app, backend, county, runner, tmp_path):
    if backend != "postgis":
        pytest.skip("the production server runs on PostgreSQL + PostGIS")
    token = issue_token(db.session.scalar(select(User).where(User.username == "worker")))
    db.session.commit()
    photos = [photo_path("plain/no_exif.jpg").read_bytes(), photo_path("gps/DSCN0010.jpg").read_bytes()]
    lat, lng = point_in("L2-1-1")
    sent = [{"client_id": str(uuid.uuid4()), "category": "E0102", "description": f"故障测试 {n}", "lat": lat,
             "lng": lng} for n in range(REPORTS)]
    server = GunicornProcess(app, tmp_path / "gunicorn.log").start()
    base = server.url
    answers = {}
    deadline = time.monotonic() + 90

    def client():
        for n, meta in enumerate(sent):
            answers[meta["client_id"]] = send_until_answered(base, token, meta, photos[: 1 + n % 2], deadline)

    sender = threading.Thread(target=client)
    sender.start()
    rng = random.Random(11)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.5, 2.0))
            server.kill()
            time.sleep(rng.uniform(0.1, 0.6))
            server.start()
        sender.join(100)
    finally:
        if server.process.poll() is None:
            server.kill()
        server.stop()
    assert not sender.is_alive()
    assert all(status in (200, 201) for status in answers.values()), answers
    db.session.remove()
    for n, meta in enumerate(sent):
        cases = db.session.scalars(select(Case).where(Case.client_id == meta["client_id"])).all()
        assert len(cases) == 1, meta["client_id"]
        assert len(cases[0].photos) == 1 + n % 2
    assert db.session.scalar(select(func.count(Case.id))) == REPORTS
    # A crash between writing the files and the commit leaves files no row names: the clean-up removes them.
    assert runner.invoke(args=["photos", "gc", "--min-age", "0"]).exit_code == 0
    keys = {k for p in db.session.scalars(select(Photo)) for k in (p.display_key, p.thumb_key)}
    files = {f"{p.parent.name}/{p.name}" for p in Path(app.config["PHOTO_DIR"]).glob("*/*") if p.is_file()}
    assert files == keys
