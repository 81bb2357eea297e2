"""Posting queued group notifications, retries, and the runners that do it.

`send_deliveries(ids, now=…)` claims the due, queued ones (a conditional UPDATE
… RETURNING, as for push: two workers never post the same one; a claim lasts
LEASE), reads the department's URL, kind and secret, ends its transaction,
posts each one (urllib, WEBHOOK_TIMEOUT_SECONDS) and writes the outcomes:

    2xx and the platform's code 0          sent
    network error, 429, 5xx, code != 0     queued again after WEBHOOK_BACKOFF_SECONDS
                                           [attempt] (30 s, 2 min, 10 min); failed
                                           after WEBHOOK_MAX_ATTEMPTS (4) attempts
    other 4xx, no webhook any more         failed at once

`process_due(now=…)` posts whatever is due (retries); `flask notify send-due`
runs it from cron. Runners (WEBHOOK_RUNNER, default: "inline" when PUSH_RUNNER is
"inline", else "thread"): "inline" posts right after the commit in the same
thread (tests); "thread" hands ids to one daemon thread per process, which also
runs process_due every WEBHOOK_POLL_SECONDS.
"""
import logging
import os
import queue
import threading
import time as clock
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from .. import models as _schema  # noqa: F401  (every table known: grids refer to users)
from ..extensions import db
from ..grids.models import Department
from ..timeutil import utcnow
from .models import WebhookDelivery
from .webhooks import Message, adapter_for, post

log = logging.getLogger("civic.notify")

LEASE = timedelta(minutes=5)
CHUNK = 500


class NotifyState:
    """Per app: the runner, made on first use."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._runner = None

    @property
    def runner(self):
        with self._lock:
            if self._runner is None:
                kind = self.app.config.get("WEBHOOK_RUNNER") or (
                    "inline" if self.app.config.get("PUSH_RUNNER") == "inline" else "thread")
                if kind not in RUNNERS:
                    raise ValueError(f"WEBHOOK_RUNNER must be one of {', '.join(RUNNERS)}, not {kind!r}")
                self._runner = RUNNERS[kind](self.app)
            return self._runner

    def close(self):
        with self._lock:
            runner = self._runner
        if runner is not None:
            runner.stop()


def notify_state(app=None):
    app = app or current_app._get_current_object()
    state = app.extensions.get("notify")
    if state is None:
        state = app.extensions["notify"] = NotifyState(app)
    return state


def _claim(ids, now):
    statement = (update(WebhookDelivery)
                 .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "queued",
                        WebhookDelivery.next_attempt_at <= now)
                 .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + LEASE)
                 .returning(WebhookDelivery.id)
                 .execution_options(synchronize_session=False))
    claimed = list(db.session.scalars(statement))
    db.session.commit()
    return claimed


def _load(ids):
    rows = db.session.execute(
        select(WebhookDelivery.id, WebhookDelivery.attempts, WebhookDelivery.message,
               Department.webhook_url, Department.webhook_kind, Department.webhook_secret)
        .outerjoin(Department, Department.id == WebhookDelivery.department_id)
        .where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.id)).all()
    db.session.commit()  # no transaction stays open while we talk to the platforms
    return rows


def _attempt(row, timeout):
    """Post one delivery; returns (status, http status, error)."""
    if not (row.webhook_url or "").strip():
        return "failed", None, "the department has no webhook any more"
    try:
        adapter = adapter_for({"url": row.webhook_url, "kind": row.webhook_kind, "secret": row.webhook_secret})
        url, headers, body = adapter.build(Message.from_dict(row.message))
    except (ValueError, KeyError, TypeError) as exc:
        return "failed", None, str(exc)[:300]
    result = post(url, headers, body, timeout)
    outcome = adapter.ok(result)
    if outcome.ok:
        return "sent", result.status, None
    return ("retry" if outcome.retry else "failed"), result.status, outcome.error


def send_deliveries(ids, *, now=None):
    """Post those of `ids` that are queued and due at `now` (naive UTC). Returns a Counter."""
    config = current_app.config
    now = now or utcnow()
    max_attempts = config.get("WEBHOOK_MAX_ATTEMPTS", 4)
    backoff = list(config.get("WEBHOOK_BACKOFF_SECONDS") or (30, 120, 600)) or [60]
    timeout = config.get("WEBHOOK_TIMEOUT_SECONDS", 10)
    counts = Counter()
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        claimed = _claim(ids[start:start + CHUNK], now)
        if not claimed:
            continue
        for row in _load(claimed):
            status, code, error = _attempt(row, timeout)
            values = {"last_status": code, "last_error": error}
            if status == "sent":
                values.update(status="sent", sent_at=now, next_attempt_at=now)
            elif status == "retry" and row.attempts < max_attempts:
                delay = backoff[min(row.attempts, len(backoff)) - 1]
                values.update(status="queued", next_attempt_at=now + timedelta(seconds=delay))
            else:
                if status == "retry":
                    values["last_error"] = f"{error} (gave up after {row.attempts} attempts)"
                status = "failed"
                values.update(status="failed", next_attempt_at=now)
            db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == row.id).values(**values)
                               .execution_options(synchronize_session=False))
            db.session.commit()
            counts[status] += 1
            if status == "failed":
                log.warning("group notification %s failed: %s", row.id, values["last_error"])
    return counts


def process_due(*, now=None, limit=CHUNK):
    """Post every queued delivery whose time has come."""
    now = now or utcnow()
    counts = Counter()
    while True:
        ids = list(db.session.scalars(select(WebhookDelivery.id)
                                      .where(WebhookDelivery.status == "queued", WebhookDelivery.next_attempt_at <= now)
                                      .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)))
        db.session.commit()
        if not ids:
            return counts
        done = send_deliveries(ids, now=now)
        counts.update(done)
        if len(ids) < limit or not sum(done.values()):
            return counts


# -- runners (as push's: inline for tests, a thread in the app process) --------------------

def _run_in_app(app, fn, *args, **kwargs):
    with app.app_context():
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("webhook job failed; its deliveries stay queued and are tried again when due")
            db.session.rollback()
            return None
        finally:
            db.session.remove()


class InlineRunner:
    """Posts at once, in the thread that committed (tests; a one-off script)."""

    def __init__(self, app):
        self.app = app

    def submit(self, ids):
        _run_in_app(self.app, send_deliveries, list(ids))

    def start(self):
        pass

    def drain(self, timeout=None):
        return True

    def stop(self, timeout=None):
        pass


_SWEEP, _STOP = object(), object()


class ThreadRunner:
    """One daemon thread per process with a queue of jobs; between jobs it runs
    process_due every WEBHOOK_POLL_SECONDS. Started on first use (again in a fork)."""

    def __init__(self, app):
        self.app = app
        self.poll = float(app.config.get("WEBHOOK_POLL_SECONDS", 30))
        self._lock = threading.Lock()
        self._thread = self._queue = None
        self._pid = None

    def start(self):
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return self._queue
            self._queue, self._pid = queue.Queue(), os.getpid()
            self._thread = threading.Thread(target=self._loop, args=(self._queue,), name="civic-webhooks",
                                            daemon=True)
            self._thread.start()
            return self._queue

    def submit(self, ids):
        self.start().put(list(ids))

    def _loop(self, jobs):
        next_sweep = clock.monotonic() + self.poll
        while True:
            try:
                job = jobs.get(timeout=max(0.0, next_sweep - clock.monotonic()))
            except queue.Empty:
                job = _SWEEP
            try:
                if job is _STOP:
                    return
                if job is _SWEEP:
                    _run_in_app(self.app, process_due)
                else:
                    _run_in_app(self.app, send_deliveries, job)
            finally:
                if job is not _SWEEP:
                    jobs.task_done()
            if job is _SWEEP or clock.monotonic() >= next_sweep:
                if job is not _SWEEP:
                    _run_in_app(self.app, process_due)
                next_sweep = clock.monotonic() + self.poll

    def drain(self, timeout=None):
        jobs = self._queue
        if jobs is None:
            return True
        deadline = None if timeout is None else clock.monotonic() + timeout
        with jobs.all_tasks_done:
            while jobs.unfinished_tasks:
                remaining = None if deadline is None else deadline - clock.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                jobs.all_tasks_done.wait(remaining)
        return True

    def stop(self, timeout=10):
        with self._lock:
            thread, jobs = self._thread, self._queue
            self._thread = None
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            jobs.put(_STOP)
            thread.join(timeout)


RUNNERS = {"inline": InlineRunner, "thread": ThreadRunner}
