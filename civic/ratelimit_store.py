"""The abuse limits' counters in the database, for a deployment without Redis:
every worker process of every node shares them, and each increment is one
atomic statement (INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel
requests never both see "one left".

A `limits` storage (fixed windows only, which is what civic/ratelimit.py uses),
registered under the scheme civic+db://; it writes on a connection of its own,
committed at once, so a count holds whatever the request's transaction does.
"""
import random
import time

from limits.storage import Storage
from sqlalchemy import Float, Integer, String, delete, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db

# One increment in this many also deletes the windows that have ended.
CLEAN_EVERY = 200


class RateLimitCounter(db.Model):
    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # POSIX seconds: the window's end


INCREMENT = text(
    "INSERT INTO rate_limits (bucket, count, expires_at) VALUES (:bucket, :amount, :expires) "
    "ON CONFLICT (bucket) DO UPDATE SET "
    "count = CASE WHEN rate_limits.expires_at <= :now THEN :amount ELSE rate_limits.count + :amount END, "
    "expires_at = CASE WHEN rate_limits.expires_at <= :now THEN :expires ELSE rate_limits.expires_at END "
    "RETURNING count")


class DatabaseStorage(Storage):
    """civic+db://: counters in the app's own database."""

    STORAGE_SCHEME = ["civic+db"]

    def __init__(self, uri=None, engine=None, **options):
        super().__init__(uri, **options)
        self._engine = engine

    @property
    def engine(self):
        return self._engine or db.engine

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key, expiry, amount=1):
        now = time.time()
        bucket = key[:255]
        with self.engine.begin() as conn:
            count = conn.execute(INCREMENT, {"bucket": bucket, "amount": amount, "expires": now + expiry,
                                             "now": now}).scalar_one()
        if random.randrange(CLEAN_EVERY) == 0:
            self._clean(now)
        return count

    def _clean(self, now):
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at < now))
        except OperationalError:  # busy: the next clean-up takes them
            pass

    def _row(self, key):
        with self.engine.connect() as conn:
            return conn.execute(select(RateLimitCounter.count, RateLimitCounter.expires_at)
                                .where(RateLimitCounter.bucket == key[:255])).first()

    def get(self, key):
        row = self._row(key)
        return row.count if row is not None and row.expires_at > time.time() else 0

    def get_expiry(self, key):
        row = self._row(key)
        return row.expires_at if row is not None and row.expires_at > time.time() else time.time()

    def check(self):
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self):
        with self.engine.begin() as conn:
            return conn.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key):
        with self.engine.begin() as conn:
            conn.execute(delete(RateLimitCounter).where(RateLimitCounter.bucket == key[:255]))
