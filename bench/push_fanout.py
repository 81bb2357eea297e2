"""One notification to 10,000 push subscriptions: our fan-out (deliveries queued in
one transaction, then claimed, encrypted and posted with 64 requests in flight
from one event loop over kept-alive connections, outcomes written back) against
one-by-one synchronous sending (the webpush package's WebPush.get per message,
one urllib request at a time), in the same run, to a local fake push service in
a separate process (an asyncio server that reads each request and answers 201).

    .venv/bin/python bench/push_fanout.py [--subscriptions 10000] [--sample 500] [--concurrency 64]
                                          [--latency-ms 0]
Goal: all 10,000 in ≤ 10 s.

--latency-ms makes the fake service wait that long before each answer, as a
real push service across the internet does; the one-by-one way then pays it for
every message, ours PUSH_CONCURRENCY at a time.

Every subscription has its own P-256 key pair and auth secret (10,000 keys take
~0.3 s to make with `cryptography`, so no pool of shared keys is needed). The
one-by-one baseline sends a sample and is extrapolated to the full count.
"""
import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from base64 import urlsafe_b64encode
from datetime import timedelta
from pathlib import Path

from _common import make_app


# -- the fake push service (a separate process) ---------------------------------------------

class _Stats:
    ok = 0
    bad = 0
    latency = 0.0


class _PushProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, just enough for POSTs with a Content-Length."""

    def connection_made(self, transport):
        self.transport, self.buffer = transport, bytearray()

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[:end + 4 + length]
            if head.startswith("get /count"):
                body = f"{_Stats.ok} {_Stats.bad}".encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                continue
            good = length > 0 and "content-encoding: aes128gcm" in head and "authorization: vapid t=" in head
            if good:
                _Stats.ok += 1
            else:
                _Stats.bad += 1
            answer = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
            if _Stats.latency:
                asyncio.get_running_loop().call_later(_Stats.latency, self.transport.write, answer)
            else:
                self.transport.write(answer)


async def _serve():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_PushProtocol, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def start_fake_service(latency_ms=0):
    process = subprocess.Popen([sys.executable, __file__, "--serve", "--latency-ms", str(latency_ms)],
                               stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}"


def counts(origin):
    with urllib.request.urlopen(f"{origin}/count") as response:
        ok, bad = response.read().decode().split()
    return int(ok), int(bad)


# -- the subscriptions ---------------------------------------------------------------------------

def b64url(data):
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def make_subscribers(app, origin, count):
    """count users, each with one subscription of its own key pair; and one case."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from sqlalchemy import insert, select

    from civic.accounts.models import User
    from civic.cases.models import Case
    from civic.cases.services import make_ref
    from civic.extensions import db
    from civic.grids.catalogue import load_catalogue
    from civic.push.models import PushSubscription
    from civic.push.subscriptions import endpoint_hash
    from civic.timeutil import utcnow

    with app.app_context():
        _departments, categories = load_catalogue()
        now = utcnow()
        db.session.execute(insert(User), [
            {"username": f"bench{n:05d}", "display_name": f"网格员{n}", "password_hash": "x", "role": "grid_worker",
             "active": True, "created_at": now} for n in range(count)])
        ids = list(db.session.scalars(select(User.id).where(User.username.like("bench%")).order_by(User.id)))
        rows = []
        for n, user_id in enumerate(ids):
            point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint)
            endpoint = f"{origin}/push/{uuid.uuid4().hex}"
            rows.append({"user_id": user_id, "device_id": f"device-{n}", "endpoint": endpoint,
                         "endpoint_hash": endpoint_hash(endpoint), "p256dh": b64url(point),
                         "auth": b64url(os.urandom(16)), "created_at": now, "updated_at": now, "failures": 0})
        db.session.execute(insert(PushSubscription), rows)
        case = Case(client_id=str(uuid.uuid4()), content_hash="bench", channel="grid_worker",
                    category=categories["E0102"], description="垃圾箱满溢", location_source="device",
                    address="府前社区第1网格", received_at=now, ack_due_at=now + timedelta(minutes=15),
                    status="dispatched")
        db.session.add(case)
        db.session.flush()
        case.ref = make_ref(case)
        db.session.commit()
        return ids, case.id, rows


class _Capture:
    """A runner that only remembers the ids handed over after the commit."""

    def __init__(self):
        self.ids = []

    def submit(self, ids):
        self.ids.extend(ids)

    def stop(self, timeout=None):
        pass


# -- the two ways --------------------------------------------------------------------------------

def ours(app, user_ids, case_id):
    from sqlalchemy import func, select

    from civic.accounts.models import User
    from civic.cases.models import Case
    from civic.extensions import db
    from civic.push.jobs import push_state, send_deliveries
    from civic.push.models import PushDelivery
    from civic.push.fanout import notify_users

    state = push_state(app)
    capture = state._runner = _Capture()
    with app.app_context():
        state.sender  # keys loaded and the sender made before the clock starts, as in a running server
        users = db.session.scalars(select(User).where(User.id.in_(user_ids))).all()
        case = db.session.get(Case, case_id)
        start = time.perf_counter()
        notify_users(users, "assignment", case)
        db.session.commit()
        queued = time.perf_counter()
        with app.app_context():  # as the runner does: a session of its own
            result = send_deliveries(capture.ids)
        done = time.perf_counter()
        sent = db.session.scalar(select(func.count(PushDelivery.id)).where(PushDelivery.status == "sent"))
    return {"queue": queued - start, "send": done - queued, "total": done - start, "sent": sent,
            "result": dict(result), "signed": state.sender.vapid.signed, "connections": state.sender.pool.opened}


def one_by_one(app, rows, sample):
    """The plain way: the package's WebPush.get (a new JWT each time) and one
    blocking urllib request at a time, each on a new connection."""
    from webpush import WebPush
    from webpush.types import WebPushSubscription

    from civic.push.jobs import push_state
    from civic.push.sender import encode_payload

    keys = push_state(app).keys
    webpush = WebPush(private_key=keys.private_pem, public_key=keys.public_pem, subscriber="admin@civic-grid.invalid")
    payload = encode_payload({"title": "新任务：暴露垃圾", "body": "CG-2026-000123 · 府前社区第1网格 · 请在 15 分钟内签收",
                              "kind": "assignment", "case_id": 123, "ref": "CG-2026-000123",
                              "url": "/field/#/tasks/123", "tag": "case-123", "urgent": False})
    start = time.perf_counter()
    for row in rows[:sample]:
        message = webpush.get(payload, WebPushSubscription(endpoint=row["endpoint"],
                                                           keys={"p256dh": row["p256dh"], "auth": row["auth"]}))
        headers = {"TTL": "86400", "Urgency": "high", "Topic": "case-123", "Content-Encoding": "aes128gcm",
                   "Authorization": message.headers["authorization"]}
        request = urllib.request.Request(row["endpoint"], data=message.encrypted, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (PUSH_CONCURRENCY)")
    parser.add_argument("--latency-ms", type=float, default=0, help="the fake service's delay before each answer")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _Stats.latency = args.latency_ms / 1000
        asyncio.run(_serve())
        return
    logging.disable(logging.WARNING)

    service, origin = start_fake_service(args.latency_ms)
    try:
        app = make_app()
        workdir = Path(tempfile.mkdtemp(prefix="civic-bench-push-"))
        app.config.update(VAPID_PRIVATE_KEY_FILE=str(workdir / "vapid_private.pem"),
                          VAPID_PUBLIC_KEY_FILE=str(workdir / "vapid_public.pem"),
                          PUSH_CONCURRENCY=args.concurrency, PUSH_ALLOW_HTTP_LOCALHOST=True)
        started = time.perf_counter()
        user_ids, case_id, rows = make_subscribers(app, origin, args.subscriptions)
        setup = time.perf_counter() - started

        fan = ours(app, user_ids, case_id)
        received, bad = counts(origin)
        assert fan["sent"] == args.subscriptions == received and bad == 0, (fan, received, bad)

        sample = min(args.sample, len(rows))
        slow = one_by_one(app, rows, sample)
        received_after, bad = counts(origin)
        assert received_after - received == sample and bad == 0
    finally:
        service.terminate()
        service.wait(10)

    n = args.subscriptions
    ours_rate, slow_rate = n / fan["total"], sample / slow
    extrapolated = n / slow_rate
    print(f"push fan-out: {n:,} subscriptions, each with its own P-256 key, to a local fake push service "
          f"(asyncio, separate process, {args.latency_ms:g} ms before each answer); set-up {setup:.1f} s")
    print(f"  civic fan-out : {fan['total']:6.2f} s for {n:,} ({ours_rate:7.0f} sends/s): queueing "
          f"{fan['queue']:.2f} s, sending and recording {fan['send']:.2f} s; {args.concurrency} in flight, "
          f"{fan['connections']} connections, {fan['signed']} JWT signed")
    print(f"  one by one    : {slow:6.2f} s for {sample} ({slow_rate:7.0f} sends/s) -> {extrapolated:.1f} s "
          f"for {n:,} (webpush.get + urllib, one at a time)")
    print(f"  ratio         : {extrapolated / fan['total']:6.1f}x  (goal: all {n:,} in <= 10 s: "
          f"{'met' if fan['total'] <= 10 else 'NOT met'})")


if __name__ == "__main__":
    main()
