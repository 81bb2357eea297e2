"""Demo phones for `flask seed-demo`, so the sync dashboard has something to
show: most field workers' phones synced minutes ago, a few are behind (reports
waiting for hours, or no sync since the morning), two have been silent for
days, one runs an old app version, and a few people never installed the app."""
import random
import uuid
from datetime import timedelta

from ..extensions import db
from .models import Device

USER_AGENTS = [
    "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.210 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; 22081212C) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.111 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like Gecko) HuaweiBrowser/14.0.5.302 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S9180) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; PGT-AN10) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.101 Mobile Safari/537.36",
]
OLD_VERSION = "5e1d07a9c2b4"  # a shell hash from an earlier release
MB = 1024 * 1024


def _fine(rng, now):
    seen = now - timedelta(minutes=rng.randint(1, 14))
    waiting = rng.random() < 0.2  # a report just taken, not yet sent
    return {"last_seen_at": seen, "last_sync_at": seen - timedelta(minutes=5),
            "pending": 1 if waiting else 0,
            "oldest_pending_at": now - timedelta(minutes=rng.randint(2, 20)) if waiting else None}


# Named troubles (by the person's place in the list below), so the demo shows each kind.
def _stale_days(days, pending):
    def make(rng, now):
        seen = now - timedelta(days=days, hours=rng.randint(1, 5))
        return {"last_seen_at": seen, "last_sync_at": seen - timedelta(minutes=7), "pending": pending,
                "oldest_pending_at": seen - timedelta(hours=2) if pending else None}
    return make


def _waiting(hours, pending, rejected=0, failures=0):
    def make(rng, now):
        seen = now - timedelta(minutes=rng.randint(2, 9))
        state = {"last_seen_at": seen, "last_sync_at": seen - timedelta(minutes=5), "pending": pending,
                 "rejected": rejected, "oldest_pending_at": now - timedelta(hours=hours)}
        if failures:  # a weak signal at the edge of town: uploads time out, the server answers 5xx
            state.update(sync_failures=failures, last_failure_at=seen - timedelta(minutes=25), last_failure="network")
        return state
    return make


def _silent_since_morning(rng, now):
    seen = now - timedelta(hours=7, minutes=rng.randint(0, 40))
    return {"last_seen_at": seen, "last_sync_at": seen - timedelta(minutes=6), "pending": 0}


def seed_devices(demo, current_version, now, seed=20261126):
    """Flushes, does not commit. `current_version` is the shell version the app sends."""
    rng = random.Random(seed)
    chiefs = [grid.chief for grid in demo.level1 if grid.chief]
    workers = [demo.workers_by_grid[grid.code] for grid in demo.level2 if grid.code in demo.workers_by_grid]
    staff = [u for code in sorted(demo.staff_by_department) for u in demo.staff_by_department[code]]
    never = {workers[-1].id} | {u.id for u in staff[3::9]}
    troubles = {workers[1].id: _stale_days(3, 4), staff[0].id: _stale_days(6, 0),
                workers[3].id: _waiting(2.2, 3, failures=4), staff[1].id: _waiting(1.5, 1, rejected=1),
                chiefs[0].id: _silent_since_morning}
    for n, user in enumerate(u for u in chiefs + workers + staff if u.id not in never):
        state = troubles.get(user.id, _fine)(rng, now)
        quota = rng.choice([2_000, 6_000, 12_000, 30_000]) * MB
        db.session.add(Device(
            device_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), user_id=user.id,
            app_version=OLD_VERSION if user.id == workers[4].id else current_version,
            user_agent=USER_AGENTS[n % len(USER_AGENTS)],
            rejected=state.pop("rejected", 0), **state,
            storage_used=rng.randint(8, 400) * MB, storage_quota=quota,
            persisted=rng.random() < 0.8, first_seen_at=now - timedelta(days=rng.randint(10, 60))))
    db.session.flush()
