"""Background jobs (civic/jobs.py) with the local Redis, on both databases: every
kind of work goes on RQ when REDIS_URL is set (push, group notifications, chasing,
roll-up rebuilds), the periodic jobs are enqueued once per interval however many
workers there are, and without Redis the work runs in the app process or from
cron, with nothing lost when Redis is away."""
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select, update

from civic import jobs
from civic.cases.models import Case, CaseReminder
from civic.extensions import db
from civic.jobs import CHANNELS, enqueue_periodic, make_runner, redis_connection, runner_kind
from civic.notify.models import WebhookDelivery
from civic.stats.rollups import TABLE as STATS_DAILY
from civic.stats.rollups import rebuild
from civic.timeutil import utcnow
from tests.conftest import ROOT, free_port, new_action, post_action
from tests.notify.conftest import endpoint, group  # noqa: F401,F811  (fixtures)


def waiting(app):
    """The names of the jobs waiting on the app's queue, in order."""
    return [job.description for job in Queue(app.config["JOBS_QUEUE"], connection=redis_connection(app)).get_jobs()]


def webhook_statuses():
    db.session.expire_all()
    return [d.status for d in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]


# -- which runner ----------------------------------------------------------------------------

def test_runners_follow_redis_and_the_settings(app, monkeypatch):
    def setting(**values):
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)

    setting(PUSH_RUNNER=None, WEBHOOK_RUNNER=None, REDIS_URL=None)
    assert (runner_kind(app, "push"), runner_kind(app, "notify")) == ("thread", "thread")
    setting(REDIS_URL="redis://127.0.0.1:6379/0")
    assert (runner_kind(app, "push"), runner_kind(app, "notify")) == ("rq", "rq")
    setting(PUSH_RUNNER="inline")
    assert runner_kind(app, "notify") == "inline"  # one setting for both unless told otherwise
    setting(WEBHOOK_RUNNER="thread")
    assert runner_kind(app, "notify") == "thread"
    setting(WEBHOOK_RUNNER="cron")
    with pytest.raises(ValueError, match="WEBHOOK_RUNNER must be one of inline, thread, rq"):
        make_runner(app, "notify")


# -- on RQ -----------------------------------------------------------------------------------

def test_group_notifications_go_on_rq_and_the_worker_posts_them(rq_app, county, make_case, api_as, group, endpoint,
                                                                runner):
    robot = group("wecom", "SAN")
    case = make_case("accepted")
    response = post_action(api_as(county.dispatcher), case.id, new_action("dispatch"))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert endpoint.received == [] and webhook_statuses() == ["queued"]
    assert "notify.send" in waiting(rq_app)
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert [r.robot for r in endpoint.accepted(robot)][:1] == [robot]
    assert webhook_statuses()[0] == "sent" and waiting(rq_app) == []


def test_chasing_runs_on_the_worker_once_per_interval(rq_app, county, make_case, api_as, runner):
    case = make_case("accepted")
    post_action(api_as(county.dispatcher), case.id, new_action("dispatch", assignee_id=county.worker.id))
    # The dispatch gave the department its full acknowledge window; an hour and a half later it has run out.
    db.session.execute(update(Case).where(Case.id == case.id).values(ack_due_at=utcnow() - timedelta(minutes=90)))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CaseReminder)) == 0
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    reminders = db.session.scalar(select(func.count()).select_from(CaseReminder))
    assert reminders >= 1  # the case's deadline had passed: escalated (督办) by the worker
    # Inside the interval no worker enqueues it again; chasing twice would send nothing twice anyway.
    assert enqueue_periodic(rq_app) == []
    assert jobs.run_in_app(rq_app, "cases.chase") == {"remind": 0, "escalate": 0}
    assert db.session.scalar(select(func.count()).select_from(CaseReminder)) == reminders


def test_many_workers_enqueue_each_periodic_job_once(rq_app):
    rq_app.config.update(CHASE_INTERVAL_SECONDS=60, PUSH_POLL_SECONDS=60, WEBHOOK_POLL_SECONDS=60)
    barrier, results = threading.Barrier(8), []

    def worker():
        barrier.wait()
        results.extend(enqueue_periodic(rq_app))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(jobs.PERIODIC) == sorted(waiting(rq_app))
    assert enqueue_periodic(rq_app) == []


def test_a_periodic_job_is_due_again_after_its_interval(rq_app):
    rq_app.config.update(CHASE_INTERVAL_SECONDS=1, PUSH_POLL_SECONDS=60, WEBHOOK_POLL_SECONDS=60)
    assert sorted(enqueue_periodic(rq_app)) == sorted(jobs.PERIODIC)
    connection = redis_connection(rq_app)
    connection.delete(f"{rq_app.config['JOBS_QUEUE']}:periodic:cases.chase")  # as when its 1 s has passed
    assert enqueue_periodic(rq_app) == ["cases.chase"]


def test_the_rollup_rebuild_runs_in_the_background(rq_app, county, make_case, api_as, runner):
    for _ in range(3):
        post_action(api_as(county.dispatcher), make_case("accepted").id, new_action("dispatch"))
    rebuild()  # what counting every event gives, here and now
    before = db.session.execute(select(STATS_DAILY).order_by(*STATS_DAILY.primary_key.columns)).all()
    assert before
    db.session.execute(STATS_DAILY.delete())
    db.session.commit()
    result = runner.invoke(args=["stats", "rebuild", "--background"])
    assert result.exit_code == 0 and "enqueued stats.rebuild" in result.output, result.output
    assert waiting(rq_app)[-1] == "stats.rebuild"
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    db.session.expire_all()
    assert db.session.execute(select(STATS_DAILY).order_by(*STATS_DAILY.primary_key.columns)).all() == before


def broken_send(ids, **kw):
    raise RuntimeError("the worker died in the middle of it")


def test_a_failing_job_loses_nothing(rq_app, county, make_case, api_as, group, endpoint, runner, monkeypatch):
    group("wecom", "SAN")
    assert sorted(enqueue_periodic(rq_app)) == sorted(jobs.PERIODIC)  # the sweeps ran a moment ago
    Queue(rq_app.config["JOBS_QUEUE"], connection=redis_connection(rq_app)).empty()
    monkeypatch.setitem(jobs.JOBS, "notify.send", "tests.test_jobs:broken_send")
    post_action(api_as(county.dispatcher), make_case("accepted").id, new_action("dispatch"))
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert webhook_statuses() == ["queued"] and endpoint.received == []  # the row is still there, due
    monkeypatch.undo()
    redis_connection(rq_app).delete(f"{rq_app.config['JOBS_QUEUE']}:periodic:notify.due")  # its interval is up
    assert runner.invoke(args=["jobs", "worker", "--burst"]).exit_code == 0
    assert webhook_statuses() == ["sent"] and len(endpoint.received) == 1


# -- without Redis ---------------------------------------------------------------------------

def test_redis_away_leaves_the_rows_for_the_sweep(app, county, make_case, api_as, group, endpoint, runner):
    app.config.update(PUSH_RUNNER="rq", WEBHOOK_RUNNER=None, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    group("wecom", "SAN")
    response = post_action(api_as(county.dispatcher), make_case("accepted").id, new_action("dispatch"))
    assert response.status_code == 201 and webhook_statuses() == ["queued"]
    db.session.execute(db.update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    result = runner.invoke(args=["notify", "send-due"])  # cron's command
    assert result.exit_code == 0 and webhook_statuses() == ["sent"], result.output


def test_one_off_runs_and_their_errors(app, county, make_case, api_as, runner):
    post_action(api_as(county.dispatcher), make_case("accepted").id,
                new_action("dispatch", assignee_id=county.worker.id))
    result = runner.invoke(args=["jobs", "run", "cases.chase"])
    assert result.exit_code == 0 and result.output.startswith("cases.chase: ") and "escalate" in result.output
    bad = runner.invoke(args=["jobs", "run", "push.send"])
    assert bad.exit_code == 2 and "one of cases.chase, cases.resume_parked, notify.due, push.due, stats.rebuild" in bad.output
    app.config["REDIS_URL"] = None
    for args in (["jobs", "run", "cases.chase", "--background"], ["stats", "rebuild", "--background"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "REDIS_URL is not set" in result.output
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output


def test_every_channel_names_real_jobs():
    for channel in CHANNELS.values():
        assert callable(jobs.function(channel.send)) and callable(jobs.function(channel.sweep))
    for name in jobs.PERIODIC:
        assert callable(jobs.function(name))


# -- the worker as it is deployed ------------------------------------------------------------

def test_the_worker_process_runs_jobs_and_the_clock(rq_app, county, make_case, api_as, group, endpoint, tmp_path):
    """`flask jobs worker` in its own process: posts what the app enqueued, and chases
    on its own clock (every second here) without anybody enqueuing it."""
    robot = group("wecom", "SAN")
    env = {**os.environ, "DATABASE_URL": rq_app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "test",
           "PHOTO_DIR": rq_app.config["PHOTO_DIR"], "REDIS_URL": rq_app.config["REDIS_URL"],
           "CIVIC_JOBS_QUEUE": rq_app.config["JOBS_QUEUE"], "CIVIC_CHASE_INTERVAL_SECONDS": "1",
           "VAPID_PRIVATE_KEY_FILE": rq_app.config["VAPID_PRIVATE_KEY_FILE"],
           "VAPID_PUBLIC_KEY_FILE": rq_app.config["VAPID_PUBLIC_KEY_FILE"]}
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"], env=env, cwd=ROOT,
                              stdout=log, stderr=log)
    try:
        case = make_case("accepted")
        assert post_action(api_as(county.dispatcher), case.id, new_action("dispatch")).status_code == 201
        wait_until(lambda: webhook_statuses()[:1] == ["sent"], timeout=30)
        assert endpoint.accepted(robot)[0].text.startswith("**【派遣】")
        # The dispatch gave the department its full acknowledge window; let it run out: the
        # worker's clock escalates it (督办), once.
        db.session.execute(update(Case).where(Case.id == case.id).values(ack_due_at=utcnow() - timedelta(minutes=90)))
        db.session.commit()
        wait_until(lambda: db.session.scalar(select(func.count()).select_from(CaseReminder)) > 0, timeout=30)
        time.sleep(2.5)  # two more intervals
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(CaseReminder)) == 1
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()
    assert "Traceback" not in (tmp_path / "worker.log").read_text(errors="replace")


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.commit()
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("not within the time")
