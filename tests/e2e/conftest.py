"""Browser fixtures for the field app: the app in its own process (so it can
be killed and restarted), and a phone: a persistent Chromium profile at
360×640 (installability is not reported for incognito contexts)."""
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civic.extensions import db
from tests.conftest import ROOT, free_port  # noqa: F401  (free_port: used here and by importers)

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SMALL_PHONE = {"width": 360, "height": 640}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEMO_PASSWORD = "demo1234"
COUNTY = {"latitude": 36.58, "longitude": 116.25, "accuracy": 12}


class AppProcess:
    """The app served by tests/e2e/serve.py on a fixed port."""

    def __init__(self, app, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "PHOTO_DIR": app.config["PHOTO_DIR"], "SECRET_KEY": app.config["SECRET_KEY"],
                    # Push: the test's key pair, sent from a background thread, to a fake service on localhost.
                    "VAPID_PRIVATE_KEY_FILE": app.config["VAPID_PRIVATE_KEY_FILE"],
                    "VAPID_PUBLIC_KEY_FILE": app.config["VAPID_PUBLIC_KEY_FILE"],
                    "PUSH_RUNNER": "thread", "PUSH_ALLOW_HTTP_LOCALHOST": "1"}
        self.log = open(log_path, "ab")
        self.process = None

    def start(self):
        self.process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "e2e" / "serve.py"), str(self.port)],
                                        env=self.env, stdout=self.log, stderr=self.log, cwd=ROOT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("the app process died at start; see its log")
                time.sleep(0.1)
        raise RuntimeError("the app did not start")

    def kill(self):
        """As a crash: SIGKILL, no clean-up, connections cut."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self):
        self.kill()
        self.log.close()


class GunicornProcess:
    """The production server (gunicorn with gunicorn.conf.py, two workers) on the
    test's database, in its own process group so a test can kill the arbiter and
    its workers at once, as a crashed machine would."""

    def __init__(self, app, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "PHOTO_DIR": app.config["PHOTO_DIR"], "SECRET_KEY": "gunicorn-test",
                    "GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_WORKERS": "2",
                    "GUNICORN_LOG_LEVEL": "warning"}
        self.log = open(log_path, "ab")
        self.process = None

    def start(self):
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py",
                                         "app:app"], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=self.log, start_new_session=True)
        return self

    def workers(self):
        """The worker processes of the arbiter (Linux: /proc lists a task's children)."""
        return Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()

    def kill(self):
        """SIGKILL to the arbiter and its workers at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)
        self.log.close()


@pytest.fixture
def field_server(app, runner, tmp_path):
    """The demo county, served on whichever database the test runs on."""
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    db.session.remove()
    server = AppProcess(app, tmp_path / "server.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def phone(playwright_instance, tmp_path):
    """A new phone with location allowed, at the county."""
    ARTIFACTS.mkdir(exist_ok=True)
    contexts = []

    def make(located=True):
        context = playwright_instance.chromium.launch_persistent_context(
            str(tmp_path / f"profile{len(contexts)}"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            viewport=SMALL_PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
            timezone_id="Asia/Shanghai", geolocation=COUNTY if located else None,
            permissions=["geolocation"] if located else [],
        )
        context.set_default_timeout(15000)
        if os.environ.get("CIVIC_TEST_CLOCK_SHIFT"):
            # The phone's clock reads the suite's time (CIVIC_TEST_NOW), as the server's does.
            context.clock.set_system_time(datetime.now(timezone.utc))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def count(model, *where):
    db.session.remove()  # see what the app process committed
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def wait_until(page, predicate, timeout=20.0, interval=0.25, message="condition"):
    """Polls `predicate` while letting Playwright run its event handlers (routes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(interval * 1000)
    raise AssertionError(f"timed out waiting for {message}")
