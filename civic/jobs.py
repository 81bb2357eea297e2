"""Background jobs: what runs after the request or on a clock, and where.

Every job is named in JOBS and runs a plain function in an app context. The
work itself lives in the database (push and group-notification deliveries are
rows, reminders are written once per case and deadline), so a job that is lost
with a crashed process or an unreachable Redis loses nothing: the next sweep
finds the rows again.

Two kinds of work:

- Channels: rows just committed are handed over by id (`runner(app, "push").submit(ids)`).
  The runner per channel is PUSH_RUNNER / WEBHOOK_RUNNER:

      inline  runs the job right after the commit, in the same thread (tests)
      thread  one daemon thread per process, which also runs the channel's sweep
              every poll seconds (the default without Redis)
      rq      enqueues the job on JOBS_QUEUE of REDIS_URL (the default with it)

- Periodic jobs (PERIODIC): the channels' sweeps (retries, notifications held
  for the night) and chasing (reminders and escalations). With Redis,
  `flask jobs worker` enqueues each on the queue when its interval is up; a Redis
  key set with NX and the interval as expiry makes that once per interval however
  many workers run on however many nodes. Without Redis, cron runs the same
  commands (`flask push send-due`, `flask notify send-due`, `flask cases chase`,
  which also brings parked cases back on their review date),
  and the thread runners sweep their channel.

Jobs not on a clock: `flask stats rebuild --background` enqueues the roll-up
rebuild. Photo derivatives are made in the request on purpose: decoding the
photo is how a bad one is refused with a clear 4xx before the phone lets go of
its copy, and the original (with its GPS metadata) is never stored for a job to
read later.
"""
import logging
import os
import queue
import threading
import time as clock
from dataclasses import dataclass
from importlib import import_module

from flask import current_app, has_app_context
from redis.exceptions import RedisError

from .errors import rollback_quietly
from .extensions import db

log = logging.getLogger("civic.jobs")


# -- what there is to run ----------------------------------------------------------------

JOBS = {
    "push.send": "civic.push.jobs:send_deliveries",
    "push.due": "civic.push.jobs:process_due",
    "notify.send": "civic.notify.jobs:send_deliveries",
    "notify.due": "civic.notify.jobs:process_due",
    "cases.chase": "civic.cases.chasing:chase",
    "cases.resume_parked": "civic.cases.parking:resume_due",
    "stats.rebuild": "civic.stats.rollups:rebuild",
}


@dataclass(frozen=True)
class Channel:
    send: str           # the job for ids just committed
    sweep: str          # the job for whatever is due
    runner_key: str     # the config key choosing the runner
    poll_key: str       # the config key of the sweep's interval, in seconds
    thread_name: str


CHANNELS = {
    "push": Channel("push.send", "push.due", "PUSH_RUNNER", "PUSH_POLL_SECONDS", "civic-push"),
    "notify": Channel("notify.send", "notify.due", "WEBHOOK_RUNNER", "WEBHOOK_POLL_SECONDS", "civic-webhooks"),
}

# Periodic job → the config key of its interval in seconds.
PERIODIC = {
    "push.due": "PUSH_POLL_SECONDS",
    "notify.due": "WEBHOOK_POLL_SECONDS",
    "cases.chase": "CHASE_INTERVAL_SECONDS",
    "cases.resume_parked": "CHASE_INTERVAL_SECONDS",  # parked cases back on their review date (挂账)
}


def function(name):
    module, _, attribute = JOBS[name].partition(":")
    return getattr(import_module(module), attribute)


def run_in_app(app, name, *args):
    """Run job NAME in an app context; a failure is logged, never raised (its rows stay due)."""
    with app.app_context():
        try:
            return function(name)(*args)
        except Exception:
            log.exception("job %s failed; what it was sending stays queued and is tried again when due", name)
            rollback_quietly()  # a dead connection must not end the thread runner's loop
            return None
        finally:
            db.session.remove()


# -- runners -----------------------------------------------------------------------------

class Runner:
    """What every runner has besides its own submit(ids): start, drain and stop,
    which only the thread runner has anything to do for."""

    def __init__(self, app, channel):
        self.app, self.channel = app, channel

    def start(self):
        pass

    def drain(self, timeout=None):
        return True

    def stop(self, timeout=None):
        pass


class InlineRunner(Runner):
    """Runs at once, in the thread that committed (tests; a one-off script)."""

    def submit(self, ids):
        run_in_app(self.app, self.channel.send, list(ids))


_SWEEP, _STOP = object(), object()


class ThreadRunner(Runner):
    """One daemon thread per process with a queue of jobs; between jobs it runs the
    channel's sweep every poll seconds. Started on first use (and again in a forked
    child, which does not inherit threads)."""

    def __init__(self, app, channel):
        super().__init__(app, channel)
        self.poll = float(app.config[channel.poll_key])
        self._lock = threading.Lock()
        self._thread = self._queue = None
        self._pid = None

    def start(self):
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return self._queue
            self._queue, self._pid = queue.Queue(), os.getpid()
            self._thread = threading.Thread(target=self._loop, args=(self._queue,), name=self.channel.thread_name,
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
                if job is not _SWEEP:
                    run_in_app(self.app, self.channel.send, job)
            finally:
                if job is not _SWEEP:
                    jobs.task_done()
            if clock.monotonic() >= next_sweep:
                run_in_app(self.app, self.channel.sweep)
                next_sweep = clock.monotonic() + self.poll

    def drain(self, timeout=None):
        """Wait until every submitted job is done; False on timeout."""
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


class RqRunner(Runner):
    """Enqueues the channel's job on REDIS_URL's JOBS_QUEUE for `flask jobs worker`.
    If Redis cannot be reached the rows stay queued, and the worker's periodic
    sweep (or the cron command) sends them."""

    def submit(self, ids):
        try:
            enqueue(self.app, self.channel.send, list(ids))
        except RedisError:
            log.exception("could not enqueue %s; the rows stay queued until the next sweep", self.channel.send)


RUNNERS = {"inline": InlineRunner, "thread": ThreadRunner, "rq": RqRunner}


def make_runner(app, channel_name):
    channel = CHANNELS[channel_name]
    kind = runner_kind(app, channel_name)
    if kind not in RUNNERS:
        raise ValueError(f"{channel.runner_key} must be one of {', '.join(RUNNERS)}, not {kind!r}")
    return RUNNERS[kind](app, channel)


def runner_kind(app, channel_name):
    config = app.config
    kind = config.get(CHANNELS[channel_name].runner_key)
    if not kind and channel_name == "notify":
        kind = config.get("PUSH_RUNNER")  # one setting for both unless told otherwise
    return kind or ("rq" if config.get("REDIS_URL") else "thread")


# -- RQ ----------------------------------------------------------------------------------

def redis_connection(app):
    from redis import Redis

    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set: background jobs need Redis to go on RQ")
    connections = app.extensions.setdefault("civic_redis", {})
    if url not in connections:
        connections[url] = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    return connections[url]


def rq_queue(app):
    from rq import Queue

    return Queue(app.config["JOBS_QUEUE"], connection=redis_connection(app))


def enqueue(app, name, *args):
    """Put job NAME on the RQ queue; raises if Redis cannot be reached."""
    if name not in JOBS:
        raise KeyError(name)
    return rq_queue(app).enqueue(run_job, name, *args, result_ttl=0, failure_ttl=24 * 3600,
                                 job_timeout=app.config["JOBS_TIMEOUT_SECONDS"], description=name)


_job_app = None


def run_job(name, *args):
    """The RQ job: in `flask jobs worker` the CLI's app; under a plain `rq worker`, one made here."""
    global _job_app
    if has_app_context():
        app = current_app._get_current_object()
    else:
        if _job_app is None:
            from . import create_app

            _job_app = create_app()
        app = _job_app
    with app.app_context():
        try:
            return function(name)(*args)  # raises: RQ keeps the failure (the rows stay due)
        finally:
            db.session.remove()


def enqueue_periodic(app, *, now=None):
    """Enqueue each periodic job whose interval is up, once per interval for all
    workers together (a Redis key with NX and the interval as its expiry). Returns
    the names enqueued."""
    connection = redis_connection(app)
    enqueued = []
    for name, interval_key in PERIODIC.items():
        interval = max(1, int(float(app.config[interval_key])))
        if connection.set(f"{app.config['JOBS_QUEUE']}:periodic:{name}", int(now or clock.time()), nx=True, ex=interval):
            enqueue(app, name)
            enqueued.append(name)
    return enqueued


def run_worker(app, *, burst=False):
    """`flask jobs worker`: an RQ SimpleWorker on JOBS_QUEUE (jobs run in this
    process, no fork: the app and its connection pools stay valid), plus a thread
    that enqueues the periodic jobs when they are due. With --burst: enqueue what is
    due, run everything waiting, stop."""
    from rq import SimpleWorker

    jobs = rq_queue(app)
    stop = threading.Event()

    def schedule():
        while not stop.is_set():
            try:
                enqueue_periodic(app)
            except Exception:
                log.exception("could not enqueue the periodic jobs; trying again shortly")
            stop.wait(float(app.config["JOBS_SCHEDULER_SECONDS"]))

    if burst:
        enqueue_periodic(app)
    else:
        threading.Thread(target=schedule, name="civic-jobs-scheduler", daemon=True).start()
    try:
        with app.app_context():
            SimpleWorker([jobs], connection=jobs.connection).work(burst=burst, logging_level="WARNING")
    finally:
        stop.set()
