"""The delivery queue, one for every channel that tells people things (Web Push
and SMS in civic/push/, group webhooks in civic/notify/): how a delivery row is
queued with the transaction that caused it, handed to the channel's runner once
that transaction has committed, claimed with a lease so two workers never send
it twice, retried with back-off, and swept when due.

A channel's rows have `status` ("queued" until an outcome), `attempts` and
`next_attempt_at`; its jobs module says how to send them.
"""
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..jobs import make_runner

log = logging.getLogger("civic.notify")

LEASE = timedelta(minutes=5)  # a crashed worker's claimed deliveries are due again after this


@dataclass
class DeliveryQueue:
    name: str               # the runner's channel in civic/jobs.py: "push", "notify"
    model: type             # the delivery rows
    chunk: int = 500        # rows per claim
    stamp_attempt: bool = False  # the rows have last_attempt_at

    def __post_init__(self):
        QUEUES[self.name] = self

    # -- queuing ----------------------------------------------------------------------

    def enqueue(self, ids):
        """Hand these new deliveries to the runner once the current transaction commits
        (never before: a worker would not see them; never after a rollback)."""
        info = db.session.info.setdefault(PENDING, {})
        info.setdefault(self.name, []).extend(ids)
        db.session.info[APP] = current_app._get_current_object()

    def first_in_transaction(self, key):
        """True the first time `key` is asked for in the current transaction: one
        delivery per (case, recipient, kind) however many signals ask for it."""
        seen = db.session.info.setdefault(SEEN, {}).setdefault(self.name, set())
        if key in seen:
            return False
        seen.add(key)
        return True

    # -- sending --------------------------------------------------------------------------

    def claim(self, ids, now):
        """Take the due, queued ones among `ids` for LEASE; returns the ids taken. Commits
        (a job's transaction: no lock is held while the channel talks to the network)."""
        model = self.model
        values = {"attempts": model.attempts + 1, "next_attempt_at": now + LEASE}
        if self.stamp_attempt:
            values["last_attempt_at"] = now
        statement = (update(model)
                     .where(model.id.in_(ids), model.status == "queued", model.next_attempt_at <= now)
                     .values(**values).returning(model.id).execution_options(synchronize_session=False))
        claimed = list(db.session.scalars(statement))
        db.session.commit()
        return claimed

    def claimed_chunks(self, ids, now):
        """The claimed ids of `ids`, a chunk at a time."""
        ids = sorted(set(ids))
        for start in range(0, len(ids), self.chunk):
            claimed = self.claim(ids[start:start + self.chunk], now)
            if claimed:
                yield claimed

    def process_due(self, send_deliveries, *, now, limit=None):
        """Send every queued delivery whose time has come (retries, held ones), a chunk
        at a time, until none is due or a chunk sent nothing."""
        limit = limit or self.chunk
        model = self.model
        counts = Counter()
        while True:
            ids = list(db.session.scalars(select(model.id)
                                          .where(model.status == "queued", model.next_attempt_at <= now)
                                          .order_by(model.next_attempt_at, model.id).limit(limit)))
            db.session.commit()
            if not ids:
                return counts
            done = send_deliveries(ids, now=now)
            counts.update(done)
            if len(ids) < limit or not sum(done.values()):
                return counts

    def runner(self, app):
        """The channel's runner for `app` (inline, thread or RQ: civic/jobs.py), made on first use."""
        holders = app.extensions.setdefault("civic_runners", {})
        with _lock:
            if self.name not in holders:
                holders[self.name] = make_runner(app, self.name)
            return holders[self.name]

    def stop_runner(self, app):
        """Stop the channel's runner for `app`, if one was made."""
        with _lock:
            runner = app.extensions.get("civic_runners", {}).pop(self.name, None)
        if runner is not None:
            runner.stop()


def app_state(name, make, app=None):
    """A channel's per-app state (keys, senders), made by `make(app)` on first use."""
    app = app or current_app._get_current_object()
    state = app.extensions.get(name)
    if state is None:
        state = app.extensions[name] = make(app)
    return state


def retry_delay(attempts, schedule):
    """Seconds until the next try after `attempts` tries, from a back-off schedule
    (the last step repeats)."""
    schedule = list(schedule) or [60]
    return schedule[min(attempts, len(schedule)) - 1]


def start_thread_runner(app, queue):
    """The thread runner also sends due retries: start it once in each process that
    serves (its first request), not at import, so forked workers each get their own."""
    from ..jobs import ThreadRunner

    started = []

    @app.before_request
    def start_runner():
        if not started:
            started.append(True)
            runner = queue.runner(app)
            if isinstance(runner, ThreadRunner):
                runner.start()


QUEUES = {}
PENDING, APP, SEEN = "civic.deliveries_pending", "civic.deliveries_app", "civic.deliveries_seen"
_lock = threading.Lock()


# -- after commit: hand the new deliveries to their runners -----------------------------

@event.listens_for(Session, "after_commit")
def _hand_over(session):
    pending, app = session.info.pop(PENDING, None), session.info.pop(APP, None)
    session.info.pop(SEEN, None)
    if not pending or app is None:
        return
    for name, ids in pending.items():
        # Each runner answers for its own failures (Redis unreachable: the rows stay
        # queued for the sweep), so the request whose data is committed still succeeds.
        QUEUES[name].runner(app).submit(ids)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session, previous_transaction):
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        for key in (PENDING, APP, SEEN):
            session.info.pop(key, None)
