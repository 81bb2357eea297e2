"""Sending queued deliveries and retries.

`send_deliveries(ids, now=…)` claims the deliveries that are due (a conditional
UPDATE … RETURNING: two workers never send the same one; a claim lasts LEASE,
after which a crashed worker's deliveries are due again), reads what it needs,
ends its transaction, posts them all concurrently (sender.py), then writes every
outcome in a few statements:

    200/201/202     sent; the subscription's last_success_at, failures back to 0
    404/410         gone; the subscription is deleted at once
    429             queued again after Retry-After (seconds or an HTTP date)
    5xx, network    queued again after PUSH_BACKOFF_SECONDS[attempt] (30 s, 2 min,
                    10 min, 30 min); after PUSH_MAX_ATTEMPTS attempts: failed
    other 4xx       failed at once

A delivery that would go after its expiry (created + the kind's TTL) fails as
expired instead. Failures are recorded on the delivery and on the subscription
(last_failure_at, last_error; `failures` counts failed deliveries in a row).
An assignment or escalation whose push failed or was gone, for a user left with
no working subscription, goes out by SMS (sms.py).

`process_due(now=…)` sends whatever is due: retries, and notifications held for
the night. Time is a parameter everywhere, so tests run retries without sleeping.

The runners (PUSH_RUNNER: inline, thread, or rq with REDIS_URL) are civic/jobs.py's:
the thread runner and `flask jobs worker` also run process_due every
PUSH_POLL_SECONDS; `flask push send-due` does one process_due for cron.
"""
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, update

from ..accounts.models import User
from ..extensions import db
from ..notify.queue import DeliveryQueue, app_state, retry_delay
from ..timeutil import utcnow
from .keys import key_paths, load_or_create
from .models import PushDelivery, PushSubscription
from .sender import KINDS, PushSender, Target, encode_payload
from ..notify.sms import make_sms_sender, sms_text

log = logging.getLogger("civic.push")

CHUNK = 1000
QUEUE = DeliveryQueue("push", PushDelivery, chunk=CHUNK, stamp_attempt=True)


# -- the app's push machinery ----------------------------------------------------------

class PushState:
    """Per app: the VAPID keys, the sender, the SMS sender and the runner, each made on first use."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._keys = self._sender = self._sms = None

    @property
    def keys(self):
        with self._lock:
            if self._keys is None:
                private, public = key_paths(self.app.config, self.app.instance_path)
                self._keys, created = load_or_create(private, public)
                if created:
                    log.info("Created the VAPID key pair in %s", private)
            return self._keys

    @property
    def sender(self):
        keys = self.keys
        with self._lock:
            if self._sender is None:
                config = self.app.config
                self._sender = PushSender(keys, config["VAPID_SUBJECT"], timeout=config["PUSH_TIMEOUT_SECONDS"],
                                          concurrency=config["PUSH_CONCURRENCY"],
                                          allow_local=config["PUSH_ALLOW_HTTP_LOCALHOST"])
            return self._sender

    @property
    def sms(self):
        with self._lock:
            if self._sms is None:
                self._sms = make_sms_sender(self.app)
            return self._sms

    @property
    def runner(self):
        return QUEUE.runner(self.app)

    def close(self):
        QUEUE.stop_runner(self.app)
        with self._lock:
            sender = self._sender
        if sender is not None:
            sender.close()


def push_state(app=None):
    return app_state("push", PushState, app)


# -- sending ---------------------------------------------------------------------------------

@dataclass
class _Row:
    id: int
    batch: str
    user_id: int
    kind: str
    channel: str
    payload: dict
    attempts: int
    expires_at: object
    subscription_id: int | None
    endpoint: str | None
    p256dh: str | None
    auth: str | None
    phone: str | None


def _chunks(values, size):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _load(ids):
    rows = db.session.execute(
        select(PushDelivery.id, PushDelivery.batch, PushDelivery.user_id, PushDelivery.kind, PushDelivery.channel,
               PushDelivery.payload, PushDelivery.attempts, PushDelivery.expires_at, PushDelivery.subscription_id,
               PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth, User.phone)
        .join(User, User.id == PushDelivery.user_id)
        .outerjoin(PushSubscription, PushSubscription.id == PushDelivery.subscription_id)
        .where(PushDelivery.id.in_(ids)).order_by(PushDelivery.id)).all()
    db.session.commit()  # no transaction stays open while we talk to push services
    return [_Row(*row) for row in rows]


class _Results:
    """Outcomes collected during one batch, written in a few statements."""

    def __init__(self, now, config):
        self.now = now
        self.max_attempts = config["PUSH_MAX_ATTEMPTS"]
        self.backoff = config["PUSH_BACKOFF_SECONDS"]
        self.deliveries = []         # parameter dicts for one executemany
        self.sub_success = set()
        self.sub_failure = {}        # subscription id → (error, whole delivery failed)
        self.sub_gone = set()
        self.counts = Counter()
        self.fallback = []           # rows whose push ended without reaching the user

    def _write(self, row, status, *, code=None, error=None, next_at=None):
        self.deliveries.append({"b_id": row.id, "b_status": status, "b_code": code, "b_error": error,
                                "b_next": next_at or self.now, "b_sent": self.now if status == "sent" else None})
        self.counts[status] += 1

    def sent(self, row, code=None):
        self._write(row, "sent", code=code)
        if row.subscription_id is not None:
            self.sub_success.add(row.subscription_id)

    def gone(self, row, code=None, error=None):
        self._write(row, "gone", code=code, error=error)
        if row.subscription_id is not None:
            self.sub_gone.add(row.subscription_id)
        self.fallback.append(row)

    def failed(self, row, error, code=None, fallback=True):
        self._write(row, "failed", code=code, error=error)
        if row.subscription_id is not None:
            self.sub_failure[row.subscription_id] = (error, True)
        if row.channel == "push" and fallback:
            self.fallback.append(row)

    def retry(self, row, error, code=None, retry_after=None):
        """Queue it again, or fail it when out of attempts or past its expiry."""
        if row.attempts >= self.max_attempts:
            return self.failed(row, f"{error} (gave up after {row.attempts} attempts)", code)
        delay = retry_after if retry_after is not None else retry_delay(row.attempts, self.backoff)
        next_at = self.now + timedelta(seconds=delay)
        if next_at >= row.expires_at:
            return self.failed(row, f"{error} (next attempt would be after it expires)", code)
        self._write(row, "queued", code=code, error=error, next_at=next_at)
        if row.subscription_id is not None:
            self.sub_failure.setdefault(row.subscription_id, (error, False))
        self.counts["retry"] += 1
        return None

    def flush(self):
        now = self.now
        if self.deliveries:
            table = PushDelivery.__table__
            db.session.execute(
                table.update().where(table.c.id == bindparam("b_id")).values(
                    status=bindparam("b_status"), last_status_code=bindparam("b_code"),
                    last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next"), sent_at=bindparam("b_sent")),
                self.deliveries)
        for chunk in _chunks(self.sub_success, CHUNK):
            db.session.execute(update(PushSubscription).where(PushSubscription.id.in_(chunk))
                               .values(last_success_at=now, failures=0)
                               .execution_options(synchronize_session=False))
        if self.sub_failure:
            table = PushSubscription.__table__
            db.session.execute(
                table.update().where(table.c.id == bindparam("b_id")).values(
                    last_failure_at=now, last_error=bindparam("b_error"),
                    failures=table.c.failures + bindparam("b_inc")),
                [{"b_id": sid, "b_error": error, "b_inc": 1 if whole else 0}
                 for sid, (error, whole) in self.sub_failure.items() if sid not in self.sub_gone])
        for chunk in _chunks(self.sub_gone, CHUNK):
            # Deliveries still queued for it lose their subscription_id (ON DELETE SET NULL) and end as gone.
            db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(chunk))
                               .execution_options(synchronize_session=False))
        db.session.commit()


def _topic(row):
    topic = (row.payload or {}).get("tag") or f"case-{row.id}"
    return topic[:32]


def _send_sms(state, rows, results):
    for row in rows:
        if not row.phone:
            results.failed(row, "the user has no phone number for SMS")
            continue
        try:
            outcome = state.sms.send(row.phone, sms_text(row.payload or {}))
        except Exception as exc:  # a gateway's bug: retried like a network fault
            log.exception("SMS sender failed")
            results.retry(row, f"{type(exc).__name__}: {exc}"[:300])
            continue
        if outcome.ok:
            results.sent(row)
        elif outcome.retry:
            results.retry(row, outcome.error or "SMS gateway error")
        else:
            results.failed(row, outcome.error or "SMS refused")


def _fallback_rows(rows, now):
    """SMS deliveries for assignments/escalations whose push reached nobody: none
    for a batch that has another push sent or still queued, or an SMS already, or
    a user with a working subscription."""
    wanted = {}
    for row in rows:
        if row.channel == "push" and KINDS.get(row.kind) and KINDS[row.kind].sms:
            wanted.setdefault(row.batch, row)
    if not wanted:
        return []
    busy = set(db.session.scalars(select(PushDelivery.batch).where(
        PushDelivery.batch.in_(list(wanted)),
        (PushDelivery.channel == "sms") | PushDelivery.status.in_(["sent", "queued"]))))
    users = {row.user_id for row in wanted.values()}
    working = set(db.session.scalars(select(PushSubscription.user_id).where(
        PushSubscription.user_id.in_(users), PushSubscription.failures == 0)))
    made = []
    for batch, row in wanted.items():
        if batch in busy or row.user_id in working:
            continue
        made.append(PushDelivery(batch=batch, user_id=row.user_id, subscription_id=None, channel="sms",
                                 kind=row.kind, case_id=(row.payload or {}).get("case_id"), payload=row.payload,
                                 status="queued", attempts=0, next_attempt_at=now, expires_at=row.expires_at,
                                 created_at=now))
    if made:
        db.session.add_all(made)
        db.session.flush()
        ids = [delivery.id for delivery in made]
        db.session.commit()
        return ids
    db.session.commit()
    return []


def _send_claimed(state, ids, now):
    config = state.app.config
    rows = _load(ids)
    results = _Results(now, config)
    pushes, push_rows, sms_rows = [], [], []
    for row in rows:
        if row.expires_at <= now:
            results.failed(row, "expired before it could be delivered", fallback=False)
        elif row.channel == "sms":
            sms_rows.append(row)
        elif row.endpoint is None:
            results.gone(row, error="the subscription was removed")
        else:
            spec = KINDS.get(row.kind) or KINDS["status"]
            ttl = int((row.expires_at - now).total_seconds())
            pushes.append((Target(row.endpoint, row.p256dh, row.auth), encode_payload(row.payload or {}), ttl,
                           spec.urgency, _topic(row)))
            push_rows.append(row)
    if pushes:
        for row, outcome in zip(push_rows, state.sender.send_many(pushes)):
            if outcome.result == "sent":
                results.sent(row, outcome.status_code)
            elif outcome.result == "gone":
                results.gone(row, outcome.status_code, outcome.error)
            elif outcome.result == "retry":
                results.retry(row, outcome.error, outcome.status_code, outcome.retry_after)
            else:
                results.failed(row, outcome.error, outcome.status_code)
    _send_sms(state, sms_rows, results)
    results.flush()
    counts = results.counts
    if results.fallback:
        fallback_ids = _fallback_rows(results.fallback, now)
        if fallback_ids:
            counts["sms_fallback"] += len(fallback_ids)
            counts.update(send_deliveries(fallback_ids, now=now))
    return counts


def send_deliveries(ids, *, now=None):
    """Send those of `ids` that are queued and due at `now` (naive UTC; default: now).
    Returns a Counter of outcomes (sent, retry, failed, gone, …)."""
    state = push_state()
    now = now or utcnow()
    counts = Counter()
    for claimed in QUEUE.claimed_chunks(ids, now):
        counts.update(_send_claimed(state, claimed, now))
    return counts


def process_due(*, now=None, limit=None):
    """Send every queued delivery whose time has come (retries, the night's held ones)."""
    return QUEUE.process_due(send_deliveries, now=now or utcnow(), limit=limit)
