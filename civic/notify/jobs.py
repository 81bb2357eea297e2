"""Posting queued group notifications and retries.

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
runs it from cron. The runners (WEBHOOK_RUNNER, default as PUSH_RUNNER: inline,
thread, or rq with REDIS_URL) are civic/jobs.py's: the thread runner and
`flask jobs worker` also run process_due every WEBHOOK_POLL_SECONDS.
"""
import logging
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from .. import models as _schema  # noqa: F401  (every table known: grids refer to users)
from ..extensions import db
from ..grids.models import Department
from ..timeutil import utcnow
from .models import WebhookDelivery
from .queue import DeliveryQueue, app_state, retry_delay
from .webhooks import Message, adapter_for, post

log = logging.getLogger("civic.notify")

QUEUE = DeliveryQueue("notify", WebhookDelivery, chunk=500)


class NotifyState:
    """Per app: the group notifications' runner (the queue's)."""

    def __init__(self, app):
        self.app = app

    @property
    def runner(self):
        return QUEUE.runner(self.app)

    def close(self):
        QUEUE.stop_runner(self.app)


def notify_state(app=None):
    return app_state("notify", NotifyState, app)


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
    max_attempts = config["WEBHOOK_MAX_ATTEMPTS"]
    timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
    counts = Counter()
    for claimed in QUEUE.claimed_chunks(ids, now):
        for row in _load(claimed):
            status, code, error = _attempt(row, timeout)
            values = {"last_status": code, "last_error": error}
            if status == "sent":
                values.update(status="sent", sent_at=now, next_attempt_at=now)
            elif status == "retry" and row.attempts < max_attempts:
                delay = retry_delay(row.attempts, config["WEBHOOK_BACKOFF_SECONDS"])
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


def process_due(*, now=None, limit=None):
    """Post every queued delivery whose time has come."""
    return QUEUE.process_due(send_deliveries, now=now or utcnow(), limit=limit)
