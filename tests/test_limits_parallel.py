"""Abuse limits as an attacker meets them (issue 17, items 6 to 8): many requests
at once, against the production server (gunicorn, three worker processes), with
the counters in Redis and, without Redis, in the database. Each limit holds to
the request: no more password tries, texted codes or reports get through than
the limit allows, however the requests are spread over the workers."""
import http.client
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from civic.accounts.models import OneTimeCode, User
from civic.rewards.models import PointEntry, Redemption, RewardItem
from civic.accounts.services import issue_token
from civic.cases.models import Case
from civic.extensions import db
from tests.conftest import PASSWORD
from tests.e2e.conftest import GunicornProcess


def request(base, method, path, body=None, headers=None, source="127.0.0.1", timeout=30):
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout, source_address=(source, 0))
    try:
        payload = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json", **(headers or {})} if payload is not None else dict(headers or {})
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def at_once(count, send):
    """`count` requests released together (a barrier), each in its own thread."""
    barrier = threading.Barrier(count)

    def one(n):
        barrier.wait(10)
        return send(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.fixture(params=["database", "redis"])
def server(request, app, county, tmp_path):
    env = {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "4",
           "RATELIMIT_LOGIN_PER_NAME_IP": "10 per minute", "RATELIMIT_LOGIN_PER_IP": "1000 per minute",
           "RATELIMIT_CODES_PER_PHONE": "1 per minute", "RATELIMIT_CODES_PER_IP": "1000 per hour",
           "RATELIMIT_REPORTS_PER_ACCOUNT": "20 per hour", "RATELIMIT_REPORTS_PER_IP": "1000 per hour",
           "PUSH_RUNNER": "inline", "WEBHOOK_RUNNER": "inline"}
    if request.param == "redis":
        env["RATELIMIT_STORAGE_URI"] = request.getfixturevalue("redis_url").replace("/0", "/1")
        from redis import Redis

        Redis.from_url(env["RATELIMIT_STORAGE_URI"]).flushdb()  # the counts of this process's earlier runs
    else:
        env["RATELIMIT_STORAGE_URI"] = ""
    process = GunicornProcess(app, tmp_path / "gunicorn.log")
    process.env.update(env)
    process.env.pop("REDIS_URL", None)
    process.start()
    for _ in range(150):
        try:
            if request_ok(process.url):
                break
        except OSError:
            pass
        threading.Event().wait(0.2)
    else:
        pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])
    assert len(process.workers()) == 3
    yield process
    process.stop()


def request_ok(base):
    return request(base, "GET", "/api/v1/client-config", timeout=2)[0] == 200


def wrong_login(base, source="127.0.0.1", username="worker", password="wrong-password"):
    return request(base, "POST", "/api/v1/auth/token", {"username": username, "password": password},
                   source=source)[0]


def big_json_body(base, declared=60 * 1024 * 1024, sent=2 * 1024 * 1024):
    """A JSON login whose body says it is 60 MB: the first 2 MB of it, then the answer."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/auth/token")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(declared))
        conn.endheaders()
        try:
            conn.send(b'{"username": "' + b"x" * sent)
        except OSError:  # the server answered and closed already
            pass
        return conn.getresponse().status
    finally:
        conn.close()


def resident_memory_mb(pids):
    total = 0
    for pid in pids:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) // 1024
    return total


def test_each_limit_holds_under_parallel_requests_across_the_workers(server, county):
    """One server start for every limit (starting gunicorn is the slow part)."""
    resident_id, resident2_id = county.resident.id, county.resident2.id
    token = issue_token(county.resident)
    db.session.commit()

    # 60 wrong passwords at once for one account (limit 10 a minute): at most 10 tries.
    statuses = at_once(60, lambda n: wrong_login(server.url))
    assert 1 <= statuses.count(401) <= 10 and set(statuses) <= {401, 429}, statuses
    # The right password from another address still gets in: nobody can lock an account out.
    assert wrong_login(server.url, source="127.0.0.2", password=PASSWORD) == 201

    # One after another, over three workers: 10 tries, not 10 per worker.
    statuses = [wrong_login(server.url, username="dispatcher") for _ in range(30)]
    assert statuses.count(401) == 10 and statuses.count(429) == 20, statuses

    # 15 code requests at once for one phone (limit 1 a minute): one code texted.
    statuses = at_once(15, lambda n: request(server.url, "POST", "/api/v1/auth/codes",
                                             {"phone": "13700005555", "purpose": "register"})[0])
    assert statuses.count(202) == 1 and statuses.count(429) == 14, statuses
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(OneTimeCode)
                             .where(OneTimeCode.phone == "13700005555")) == 1

    # 40 reports at once from one resident (limit 20 an hour): 20 stored.
    headers = {"Authorization": f"Bearer {token}"}

    def report(n):
        meta = {"client_id": str(uuid.uuid4()), "category": "E0102", "description": f"垃圾 {n}",
                "address": f"人民路{n}号"}
        return request(server.url, "POST", "/api/v1/reports", meta, headers=headers)[0]

    statuses = at_once(40, report)
    assert statuses.count(201) == 20 and statuses.count(429) == 20, statuses
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.reporter_id == resident_id)) == 20

    # The same redemption sent 8 times at once (a phone retrying), with points for exactly one:
    # every answer is that one redemption, none "not enough points" (issue 17, item 17).
    item = RewardItem(code="salt", name="食盐一袋", cost=30, stock=5)
    db.session.add_all([item, PointEntry(user_id=resident2_id, kind="adjust", points=30, reason="test")])
    token2 = issue_token(db.session.get(User, resident2_id))
    db.session.commit()
    body = {"client_id": str(uuid.uuid4()), "item_id": item.id}
    answers = at_once(8, lambda n: request(server.url, "POST", "/api/v1/rewards/redemptions", body,
                                           headers={"Authorization": f"Bearer {token2}"}))
    assert sorted(status for status, _ in answers) == [200] * 7 + [201], answers
    assert len({json.loads(data)["redemption"]["code"] for _, data in answers}) == 1
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1

    # Six anonymous 60 MB JSON bodies at once: refused (413) before they are read.
    before = resident_memory_mb(server.workers())
    assert at_once(6, lambda n: big_json_body(server.url)) == [413] * 6
    assert resident_memory_mb(server.workers()) < before + 100
