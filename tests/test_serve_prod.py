"""The production command's server: gunicorn with gunicorn.conf.py, two
workers, on PostgreSQL + PostGIS (the production database), answering pages and
the API; a worker killed with SIGKILL is replaced and nothing is lost."""
import os
import signal
import time
import urllib.request

import pytest

from tests.e2e.conftest import GunicornProcess


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_gunicorn_serves_the_app_and_replaces_a_killed_worker(app, backend, tmp_path, runner):
    if backend != "postgis":
        pytest.skip("production runs on PostgreSQL + PostGIS")
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    server = GunicornProcess(app, tmp_path / "gunicorn.log").start()
    base = server.url
    try:
        for _ in range(100):
            try:
                status, _body = get(f"{base}/api/v1/client-config")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200
        assert get(f"{base}/board/")[0] == 200
        # Production's cookies are Secure unless CIVIC_SECURE_COOKIES=0 says otherwise (issue 17, item 19).
        with urllib.request.urlopen(f"{base}/auth/login", timeout=10) as response:
            cookies = response.headers.get_all("Set-Cookie") or []
        assert cookies and all("Secure" in cookie and "HttpOnly" in cookie for cookie in cookies), cookies
        workers = server.workers()
        assert len(workers) == 2
        os.kill(int(workers[0]), signal.SIGKILL)  # a worker dies mid-life
        time.sleep(1.5)
        for _ in range(10):
            assert get(f"{base}/api/v1/categories")[0] == 200
        replaced = server.workers()
        assert len(replaced) == 2 and workers[0] not in replaced
    finally:
        server.stop()
