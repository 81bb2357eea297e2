"""The production command's server: gunicorn with gunicorn.conf.py, two
workers, on PostgreSQL + PostGIS (the production database), answering pages and
the API; a worker killed with SIGKILL is replaced and nothing is lost."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    """The worker processes of gunicorn's arbiter (Linux: /proc lists a task's children)."""
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_gunicorn_serves_the_app_and_replaces_a_killed_worker(app, backend, tmp_path, runner):
    if backend != "postgis":
        pytest.skip("production runs on PostgreSQL + PostGIS")
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "PHOTO_DIR": app.config["PHOTO_DIR"],
           "SECRET_KEY": "serve-prod-test", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
           "GUNICORN_LOG_LEVEL": "warning"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                status, _body = get(f"{base}/api/v1/client-config")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200
        assert get(f"{base}/board/")[0] == 200
        workers = children(server.pid)
        assert len(workers) == 2
        os.kill(int(workers[0]), signal.SIGKILL)  # a worker dies mid-life
        time.sleep(1.5)
        for _ in range(10):
            assert get(f"{base}/api/v1/categories")[0] == 200
        replaced = children(server.pid)
        assert len(replaced) == 2 and workers[0] not in replaced
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
