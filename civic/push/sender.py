"""Encrypting a notification for one browser subscription and posting it to its
push service (RFC 8030 Web Push, RFC 8291 aes128gcm, RFC 8292 VAPID), many at once.

Encryption is the `webpush` package's (`WebPush.get`). Two things are done here
instead of in it:

- the VAPID JWT: the package signs a new one for every message, with an `aud`
  of scheme://host that drops a non-default port. `CachingVapid` (a subclass of
  its VAPID class, so `WebPush.get` uses it) signs one per audience, the origin
  with its port, and reuses it for most of its 12-hour life;
- the headers: `WebPush.get` keeps the TTL it is given on the shared object, so
  each message's TTL, Urgency and Topic are set here, per message.

`PushSender.send_many` keeps up to PUSH_CONCURRENCY requests in flight from one
event loop, over kept-alive connections per push service (transport.py; nothing
to add to requirements). Nothing here touches the database: `jobs.py` does that.
"""
import asyncio
import json
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import jwt
from webpush import WebPush
from webpush.types import WebPushSubscription
from webpush.vapid import VAPID

from .transport import AsyncHttpPool, ForbiddenAddress, HttpError, LoopThread

# RFC 8030 §5.3: a notification older than its TTL is dropped by the push service.
DAY = 24 * 3600


@dataclass(frozen=True)
class KindSpec:
    urgency: str   # RFC 8030 §5.3: very-low, low, normal, high
    ttl: int       # seconds the push service keeps it for an offline phone
    sms: bool      # falls back to SMS when the user has no working push subscription


KINDS = {
    "assignment": KindSpec("high", DAY, True),
    "reminder": KindSpec("high", DAY, False),
    "escalation": KindSpec("high", DAY, True),
    "status": KindSpec("normal", 3 * DAY, False),
}

JWT_LIFETIME = 12 * 3600   # at most 24 h (RFC 8292 §2); push services check it
JWT_RENEW_BEFORE = 3600    # sign a new one when the cached one has less than this left
MAX_PAYLOAD = 3800         # one 4096-byte record, less the header, tag and padding delimiter
ERROR_TEXT_MAX = 300


@dataclass(frozen=True)
class Target:
    """What is needed of a subscription to send to it: plain values, safe to pass to threads."""
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Outcome:
    result: str                 # sent | gone | retry | failed
    status_code: int | None = None
    retry_after: float | None = None   # seconds, from the push service's Retry-After
    error: str | None = None


def audience(endpoint):
    """The origin of an endpoint for the JWT's `aud`: scheme://host[:port] (no default port)."""
    parts = urlsplit(str(endpoint))
    scheme = parts.scheme.lower()
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    default = {"https": ":443", "http": ":80"}.get(scheme)
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host}"


class CachingVapid(VAPID):
    """The package's VAPID with one signed JWT per audience, reused until it has
    less than JWT_RENEW_BEFORE left; `sub` is the configured subject as it is
    ("mailto:…" or "https://…")."""

    def __init__(self, private_pem, public_pem, subject, *, lifetime=JWT_LIFETIME, renew_before=JWT_RENEW_BEFORE,
                 clock=time.time):
        super().__init__(private_key=private_pem, public_key=public_pem)
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        self._key = load_pem_private_key(private_pem, password=None)
        self.subject = subject
        self.k = self.get_application_server_key(self.public_key)
        self.lifetime, self.renew_before, self.clock = lifetime, renew_before, clock
        self._tokens = {}
        self._lock = threading.Lock()
        self.signed = 0  # how many JWTs were signed (tests and the benchmark read it)

    def token(self, aud):
        now = self.clock()
        with self._lock:  # signing under the lock: one JWT per audience, even when threads start together
            cached = self._tokens.get(aud)
            if cached is not None and cached[1] - now > self.renew_before:
                return cached[0]
            exp = int(now) + self.lifetime
            token = jwt.encode({"aud": aud, "exp": exp, "sub": self.subject}, self._key, algorithm="ES256")
            self._tokens[aud] = (token, exp)
            self.signed += 1
            return token

    def get_authorization_header(self, endpoint, subscriber=None, expiration=None):
        return f"vapid t={self.token(audience(endpoint))}, k={self.k}"


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def classify(status, headers, body=b""):
    """What an answer from a push service means for the delivery."""
    if status in (200, 201, 202):
        return Outcome("sent", status)
    text = body[:ERROR_TEXT_MAX].decode("utf-8", "replace").strip() if body else ""
    error = f"HTTP {status}" + (f": {text}" if text else "")
    if status in (404, 410):
        return Outcome("gone", status, error=error)
    if status == 429 or status >= 500:
        retry_after = (headers.get("retry-after") or headers.get("Retry-After")) if headers else None
        return Outcome("retry", status, parse_retry_after(retry_after), error)
    return Outcome("failed", status, error=error)


def encode_payload(payload):
    """The notification's JSON as UTF-8, within one record (a long body is shortened)."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > MAX_PAYLOAD and isinstance(payload.get("body"), str):
        payload = dict(payload)
        excess = len(data) - MAX_PAYLOAD
        body = payload["body"].encode()[: max(0, len(payload["body"].encode()) - excess - 3)]
        payload["body"] = body.decode("utf-8", "ignore") + "…"
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return data


class PushSender:
    """Sends encrypted notifications with this server's VAPID keys."""

    def __init__(self, keys, subject, *, timeout=10.0, concurrency=64, clock=time.time, ssl_context=None,
                 allow_local=False):
        self.keys = keys
        self.vapid = CachingVapid(keys.private_pem, keys.public_pem, subject, clock=clock)
        self._webpush = WebPush(private_key=keys.private_pem, public_key=keys.public_pem, subscriber=subject)
        self._webpush.vapid = self.vapid  # WebPush.get signs through ours: cached, with the port in `aud`
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.ssl_context = ssl_context  # None: the system's CAs
        self.allow_local = allow_local  # the tests' fake push service on this machine
        self.pool, self._pool_loop = self._new_pool(), None
        self._io = LoopThread()

    def _new_pool(self):
        return AsyncHttpPool(self.timeout, max_idle=self.concurrency, ssl_context=self.ssl_context,
                             allow_local=self.allow_local)

    def message(self, target, payload, *, ttl, urgency="normal", topic=None):
        """(url, body, headers) of one encrypted notification for `target`."""
        subscription = WebPushSubscription(endpoint=target.endpoint,
                                           keys={"p256dh": target.p256dh, "auth": target.auth})
        encrypted = self._webpush.get(payload, subscription)  # no ttl/subscriber here: nothing shared changes
        headers = {
            "TTL": str(max(0, int(ttl))),
            "Urgency": urgency,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": encrypted.headers["authorization"],
        }
        if topic:
            headers["Topic"] = topic
        return target.endpoint, encrypted.encrypted, headers

    def _encrypt(self, target, payload, ttl, urgency, topic):
        try:
            return self.message(target, payload, ttl=ttl, urgency=urgency, topic=topic), None
        except (ValueError, TypeError) as exc:  # keys that are not a P-256 point: no use retrying
            return None, Outcome("failed", error=f"cannot encrypt for this subscription: {exc}"[:ERROR_TEXT_MAX])

    async def _send_one(self, item):
        message, refused = self._encrypt(*item)
        if refused is not None:
            return refused
        try:
            status, headers, data = await self.pool.post(*message)
        except ForbiddenAddress as exc:  # never worth a retry: the subscription goes
            return Outcome("gone", error=f"refused: {exc}"[:ERROR_TEXT_MAX])
        except (OSError, EOFError, HttpError, asyncio.TimeoutError) as exc:
            return Outcome("retry", error=(f"{type(exc).__name__}: {exc}".rstrip(": "))[:ERROR_TEXT_MAX])
        except Exception as exc:  # a bug must not lose the other results
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX])
        return classify(status, headers, data)

    async def _send_all(self, items):
        loop = asyncio.get_running_loop()
        if self._pool_loop is not loop:  # a new loop (first use, or after a fork): new connections
            self.pool, self._pool_loop = self._new_pool(), loop
        results = [None] * len(items)
        queue = iter(enumerate(items))

        async def worker():
            for index, item in queue:  # one iterator shared by the workers: each item once
                results[index] = await self._send_one(item)

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(items)))))
        return results

    def send_many(self, items):
        """items: (target, payload bytes, ttl, urgency, topic) tuples. Returns their
        Outcomes in the same order; up to `concurrency` requests in flight. Never
        raises for the service's or the network's faults."""
        items = list(items)
        if not items:
            return []
        return self._io.run(self._send_all(items))

    def send(self, target, payload, *, ttl, urgency="normal", topic=None):
        return self.send_many([(target, payload, ttl, urgency, topic)])[0]

    def close(self):
        async def close_pool():
            self.pool.close()

        self._io.stop(cleanup=close_pool)
