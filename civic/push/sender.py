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

`PushSender.send_many` posts from a pool of threads, each request over a kept-
alive connection from a pool per push service (http.client; nothing to add to
requirements). Nothing here touches the database: `jobs.py` does that.
"""
import http.client
import json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import jwt
from webpush import WebPush
from webpush.types import WebPushSubscription
from webpush.vapid import VAPID

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
        with self._lock:
            cached = self._tokens.get(aud)
            if cached is not None and cached[1] - now > self.renew_before:
                return cached[0]
        exp = int(now) + self.lifetime
        token = jwt.encode({"aud": aud, "exp": exp, "sub": self.subject}, self._key, algorithm="ES256")
        with self._lock:
            self._tokens[aud] = (token, exp)
            self.signed += 1
        return token

    def get_authorization_header(self, endpoint, subscriber=None, expiration=None):
        return f"vapid t={self.token(audience(endpoint))}, k={self.k}"


class HttpPool:
    """Kept-alive HTTP/1.1 connections, a few per origin, shared by threads."""

    def __init__(self, timeout=10.0, max_idle=64):
        self.timeout, self.max_idle = timeout, max_idle
        self._idle = {}
        self._lock = threading.Lock()
        self._ssl = ssl.create_default_context()
        self.opened = 0  # connections made (the benchmark reports it)

    def _connect(self, key):
        scheme, host, port = key
        self.opened += 1
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._ssl)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _take(self, key):
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        return self._connect(key), False

    def _give_back(self, key, conn):
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append(conn)
                return
        conn.close()

    def post(self, url, body, headers):
        """POST and read the whole answer: (status, headers, body). Raises OSError or
        http.client.HTTPException when the service cannot be reached."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for attempt in range(2):
            conn, reused = self._take(key)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.BadStatusLine):
                conn.close()
                if reused and attempt == 0:
                    continue  # the service closed an idle connection: once more on a new one
                raise
            except BaseException:
                conn.close()
                raise
            if response.will_close:
                conn.close()
            else:
                self._give_back(key, conn)
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


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
        return Outcome("retry", status, parse_retry_after(headers.get("Retry-After")) if headers else None, error)
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

    def __init__(self, keys, subject, *, timeout=10.0, concurrency=16, clock=time.time):
        self.keys = keys
        self.vapid = CachingVapid(keys.private_pem, keys.public_pem, subject, clock=clock)
        self._webpush = WebPush(private_key=keys.private_pem, public_key=keys.public_pem, subscriber=subject)
        self._webpush.vapid = self.vapid  # WebPush.get signs through ours: cached, with the port in `aud`
        self.pool = HttpPool(timeout=timeout)
        self.concurrency = max(1, concurrency)
        self._executor = None
        self._executor_lock = threading.Lock()

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

    def send(self, target, payload, *, ttl, urgency="normal", topic=None):
        """Encrypt and post one notification; never raises for the service's or the network's faults."""
        try:
            url, body, headers = self.message(target, payload, ttl=ttl, urgency=urgency, topic=topic)
        except (ValueError, TypeError) as exc:  # keys that are not a P-256 point: no use retrying
            return Outcome("failed", error=f"cannot encrypt for this subscription: {exc}"[:ERROR_TEXT_MAX])
        try:
            status, response_headers, data = self.pool.post(url, body, headers)
        except (OSError, http.client.HTTPException, socket.timeout) as exc:
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX])
        return classify(status, response_headers, data)

    def _pool(self):
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="push-send")
            return self._executor

    def send_many(self, items):
        """items: (target, payload bytes, ttl, urgency, topic) tuples. Returns their
        Outcomes in the same order, sent concurrently."""
        items = list(items)
        if len(items) <= 1:
            return [self.send(t, p, ttl=ttl, urgency=u, topic=topic) for t, p, ttl, u, topic in items]

        def one(item):
            target, payload, ttl, urgency, topic = item
            try:
                return self.send(target, payload, ttl=ttl, urgency=urgency, topic=topic)
            except Exception as exc:  # a bug must not lose the other results
                return Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX])

        return list(self._pool().map(one, items))

    def close(self):
        with self._executor_lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
        self.pool.close()
