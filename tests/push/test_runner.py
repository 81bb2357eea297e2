"""Keys, the sender's parts, and the runners: the request that dispatched never
waits for a push service; RQ when Redis is there; the commands."""
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select, update

from civic.cases.models import Case
from civic.extensions import db
from civic.push.jobs import push_state
from civic.push.keys import VapidKeyError, key_paths, load_or_create
from civic.push.models import PushDelivery
from civic.push.sender import CachingVapid, audience, classify, parse_retry_after
from civic.timeutil import utcnow
from tests.conftest import free_port, new_action, post_action


def statuses():
    db.session.expire_all()
    return [(d.channel, d.status) for d in db.session.scalars(select(PushDelivery).order_by(PushDelivery.id))]


# -- keys ------------------------------------------------------------------------------------

def test_vapid_keys_command_makes_the_pair_once(app, runner):
    private, public = key_paths(app.config, app.instance_path)
    assert not private.exists()
    first = runner.invoke(args=["vapid-keys"])
    assert first.exit_code == 0, first.output
    assert private.exists() and public.exists() and "Created" in first.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    key = load_or_create(private, public)[0].application_server_key
    assert f"public key: {key}" in first.output
    second = runner.invoke(args=["vapid-keys"])
    assert second.exit_code == 0 and "existing" in second.output and key in second.output
    assert load_or_create(private, public)[0].application_server_key == key


def test_key_locations(tmp_path, monkeypatch):
    from civic.config import from_environment

    assert key_paths({}, tmp_path) == (tmp_path / "vapid_private.pem", tmp_path / "vapid_public.pem")
    monkeypatch.setenv("VAPID_PRIVATE_KEY_FILE", "/etc/civic/vapid.pem")
    monkeypatch.setenv("VAPID_PUBLIC_KEY_FILE", "/etc/civic/vapid.pub.pem")
    monkeypatch.setenv("VAPID_SUBJECT", "https://city.example/contact")
    config = from_environment(tmp_path)
    assert key_paths(config, tmp_path) == (Path("/etc/civic/vapid.pem"), Path("/etc/civic/vapid.pub.pem"))
    assert config["VAPID_SUBJECT"] == "https://city.example/contact"
    assert config["PUSH_RUNNER"] == "thread" and config["SMS_SENDER"] == "log"
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    assert from_environment(tmp_path)["PUSH_RUNNER"] == "rq"


def test_a_public_key_file_of_another_key_is_refused(tmp_path):
    keys, created = load_or_create(tmp_path / "a.pem", tmp_path / "a.pub")
    other, _ = load_or_create(tmp_path / "b.pem", tmp_path / "b.pub")
    assert created
    with pytest.raises(VapidKeyError, match="not the public key"):
        load_or_create(tmp_path / "a.pem", tmp_path / "b.pub")
    (tmp_path / "a.pub").unlink()
    assert load_or_create(tmp_path / "a.pem", tmp_path / "a.pub")[0].public_pem == keys.public_pem


def test_processes_starting_together_make_one_key(tmp_path):
    results, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        results.append(load_or_create(tmp_path / "k.pem", tmp_path / "k.pub"))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({keys.application_server_key for keys, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pem", "k.pub"]  # no temporary files left


# -- the sender's parts ---------------------------------------------------------------------

def test_audience_is_the_origin_with_a_non_default_port():
    assert audience("https://fcm.googleapis.com/fcm/send/abc") == "https://fcm.googleapis.com"
    assert audience("https://updates.push.services.mozilla.com:443/wpush/v2/x") == \
        "https://updates.push.services.mozilla.com"
    assert audience("http://127.0.0.1:8123/push/x") == "http://127.0.0.1:8123"
    assert audience("https://web.push.apple.com:8443/x") == "https://web.push.apple.com:8443"


def test_the_jwt_is_reused_for_most_of_its_life_then_renewed(app):
    keys = push_state(app).keys
    now = [1_800_000_000.0]
    vapid = CachingVapid(keys.private_pem, keys.public_pem, "mailto:ops@city.example", clock=lambda: now[0])
    first = vapid.token("https://push.example")
    claims = jwt.decode(first, keys.private_key.public_key(), algorithms=["ES256"], audience="https://push.example",
                        options={"verify_exp": False})
    assert claims == {"aud": "https://push.example", "exp": 1_800_000_000 + 12 * 3600,
                      "sub": "mailto:ops@city.example"}
    now[0] += 10 * 3600
    assert vapid.token("https://push.example") == first and vapid.signed == 1
    assert vapid.token("https://other.example") != first and vapid.signed == 2
    now[0] += 1.5 * 3600  # less than an hour left: a new one
    assert vapid.token("https://push.example") != first and vapid.signed == 3


def test_retry_after_and_classification():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412540.0) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert classify(201, {}).result == "sent" and classify(202, {}).result == "sent"
    assert classify(410, {}).result == "gone" and classify(404, {}).result == "gone"
    assert classify(429, {"Retry-After": "7"}).retry_after == 7.0
    assert classify(503, {}, b"busy").error == "HTTP 503: busy"
    assert classify(413, {}).result == "failed" and classify(403, {}).result == "failed"


# -- runners ------------------------------------------------------------------------------------

@pytest.mark.parametrize("app", [{"PUSH_RUNNER": "thread"}], indirect=True)
def test_the_dispatching_request_does_not_wait_for_the_push_service(app, county, make_case, api_as, subscribe,
                                                                   fake_push):
    subscribe(county.worker, "w1")
    fake_push.delay = 2.0
    case = make_case("accepted")
    dispatcher = api_as(county.dispatcher)
    started = time.monotonic()
    response = post_action(dispatcher, case.id, new_action("dispatch", assignee_id=county.worker.id))
    elapsed = time.monotonic() - started
    assert response.status_code == 201 and elapsed < 1.0, elapsed
    assert push_state(app).runner.drain(timeout=15)
    assert [r.error for r in fake_push.received] == [None]
    assert statuses() == [("push", "sent")]


@pytest.mark.parametrize("app", [{"PUSH_RUNNER": "thread", "PUSH_POLL_SECONDS": 0.2}], indirect=True)
def test_the_thread_runner_sends_due_retries_by_itself(app, county, make_case, api_as, subscribe, fake_push):
    subscribe(county.worker, "w1")
    fake_push.answer("w1", (429, {"Retry-After": "1"}))
    post_action(api_as(county.dispatcher), make_case("accepted").id,
                new_action("dispatch", assignee_id=county.worker.id))
    deadline = time.monotonic() + 10
    while statuses() != [("push", "sent")] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert statuses() == [("push", "sent")] and [r.status for r in fake_push.received] == [429, 201]


def test_send_due_command(app, county, make_case, api_as, subscribe, fake_push, runner):
    subscribe(county.worker, "w1")
    fake_push.answer("w1", 500)
    post_action(api_as(county.dispatcher), make_case("accepted").id,
                new_action("dispatch", assignee_id=county.worker.id))
    assert runner.invoke(args=["push", "send-due"]).output.strip() == "nothing due"
    db.session.execute(db.update(PushDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    result = runner.invoke(args=["push", "send-due"])
    assert result.exit_code == 0 and result.output.strip() == "1 sent"
    assert statuses() == [("push", "sent")]


def test_worker_command_needs_redis(runner):
    result = runner.invoke(args=["push", "worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


def test_rq_runner_enqueues_and_the_worker_sends(rq_app, county, make_case, api_as, subscribe, fake_push, runner):
    subscribe(county.worker, "w1")
    case = make_case("accepted")
    response = post_action(api_as(county.dispatcher), case.id, new_action("dispatch", assignee_id=county.worker.id))
    assert response.status_code == 201
    assert fake_push.received == [] and statuses() == [("push", "queued")]
    # The dispatch gave the department its full acknowledge window; an hour and a half later it has run out.
    db.session.execute(update(Case).where(Case.id == case.id).values(ack_due_at=utcnow() - timedelta(minutes=90)))
    db.session.commit()
    result = runner.invoke(args=["push", "worker", "--burst"])
    assert result.exit_code == 0, result.output
    # The worker also ran the periodic jobs: chasing escalated the case, overdue by then.
    assert [(r.payload["kind"], r.error) for r in fake_push.received] == [("assignment", None), ("escalation", None)]
    assert {status for _, status in statuses()} == {"sent"}  # the supervisors without push had an SMS


def test_rq_runner_without_redis_leaves_deliveries_queued(app, county, make_case, api_as, subscribe, fake_push):
    app.config.update(PUSH_RUNNER="rq", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    subscribe(county.worker, "w1")
    response = post_action(api_as(county.dispatcher), make_case("accepted").id,
                           new_action("dispatch", assignee_id=county.worker.id))
    assert response.status_code == 201 and statuses() == [("push", "queued")]


def test_no_sender_thread_outlives_its_app():
    assert not [t.name for t in threading.enumerate() if t.name.startswith("civic-push") and t.is_alive()]
