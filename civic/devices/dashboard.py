"""The supervisors' sync dashboard: which field phones are behind.

One row per installed app (a Device) and one per field worker who has never
installed it, each with a staleness level, sorted worst first. No request
objects here: the blueprint parses the filters and renders.

What the figures come from (nothing is invented):
- the device's last heartbeat (`last_seen_at`) and what it said: outbox counts,
  the oldest waiting report, storage, the app version it runs;
- "last successful sync" is the later of the phone's own `last_sync_at` and its
  last heartbeat, because sync.js sends a heartbeat only after an outbox flush
  in which nothing failed (and reports the *previous* sync time in it);
- sync failures: the heartbeat carries `rejected` (reports the server refused
  that wait in the outbox for the worker) and `sync_failures`, the phone's
  failed attempts of the last 24 hours with the last one's time and error (a
  server error, or no answer while it believed it was online); the push columns
  come from push_status();
- "outdated": the app sends the shell's version hash (the shell page's
  app-version meta, i.e. devices/shell.py), so that is what it is compared to.
"""
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.models import STAFF_ROLES, Role, User
from ..extensions import db
from ..grids.models import Grid, grid_members
from ..push.status import push_status
from ..timeutil import isoformat, utcnow
from .models import Device

# Who is expected to carry the field app: listed even without a device.
FIELD_ROLES = (Role.GRID_WORKER.value, Role.DEPT_STAFF.value)
LEVELS = ("stale", "behind", "never", "ok")  # worst first: the sort order
RANK = {level: n for n, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class Thresholds:
    pending: timedelta   # a report waiting longer than this: behind
    sync: timedelta      # no successful sync for longer than this: behind
    stale: timedelta     # no heartbeat for longer than this: stale

    @classmethod
    def from_config(cls, config):
        return cls(pending=timedelta(minutes=config["SYNC_BEHIND_PENDING_MINUTES"]),
                   sync=timedelta(hours=config["SYNC_BEHIND_HOURS"]),
                   stale=timedelta(hours=config["SYNC_STALE_HOURS"]))


@dataclass(frozen=True)
class Filters:
    grid: Grid | None = None
    department_id: int | None = None
    level: str | None = None


# -- user agents ---------------------------------------------------------------------

_SYSTEMS = [(r"HarmonyOS", "HarmonyOS"), (r"Android(?: (\d+))?", "Android"), (r"iPhone OS (\d+)", "iOS"),
            (r"iPad.*OS (\d+)", "iPadOS"), (r"Windows", "Windows"), (r"Mac OS X", "macOS"), (r"CrOS", "ChromeOS"),
            (r"Linux", "Linux")]
_BROWSERS = [(r"MicroMessenger/(\d+)", "WeChat"), (r"HuaweiBrowser/(\d+)", "Huawei Browser"),
             (r"MiuiBrowser/(\d+)", "MIUI Browser"), (r"SamsungBrowser/(\d+)", "Samsung Internet"),
             (r"EdgA?/(\d+)", "Edge"), (r"Firefox/(\d+)", "Firefox"), (r"CriOS/(\d+)", "Chrome"),
             (r"Chrome/(\d+)", "Chrome"), (r"Version/(\d+)[.\d]* .*Safari", "Safari")]


def _first(patterns, text):
    for pattern, name in patterns:
        match = re.search(pattern, text)
        if match:
            number = match.group(1) if match.groups() else None
            return f"{name} {number}" if number else name
    return None


def summarise_user_agent(user_agent):
    """'Mozilla/5.0 (Linux; Android 14; …) … Chrome/120.0…' → 'Android 14 · Chrome 120'; None when empty."""
    if not user_agent:
        return None
    parts = [p for p in (_first(_SYSTEMS, user_agent), _first(_BROWSERS, user_agent)) if p]
    return " · ".join(parts) if parts else user_agent[:40]


# -- rows ----------------------------------------------------------------------------

def _seconds(since, now):
    return max(0, int((now - since).total_seconds())) if since else None


def staleness(device, now, limits):
    """(level, reasons) of one device; reasons name every rule it breaks."""
    if now - device.last_seen_at > limits.stale:
        return "stale", ["no_heartbeat"]
    reasons = []
    if device.pending and device.oldest_pending_at and now - device.oldest_pending_at > limits.pending:
        reasons.append("pending_old")
    if now - last_success(device) > limits.sync:
        reasons.append("sync_old")
    return ("behind" if reasons else "ok"), reasons


def last_success(device):
    return max(t for t in (device.last_sync_at, device.last_seen_at) if t is not None)


def _person(user, push):
    state = push.get(user.id, {})
    return {
        "user_id": user.id, "username": user.username, "name": user.display_name or user.username,
        "role": user.role,
        "grids": [{"code": g.code, "name": g.name} for g in sorted(user.grids, key=lambda g: g.code)],
        "department": ({"code": user.department.code, "name": user.department.name} if user.department else None),
        "push_active": bool(state.get("push_active")),
        "push_last_failure_at": state.get("last_failure_at"),
    }


def _device_row(device, push, now, limits, current_version):
    level, reasons = staleness(device, now, limits)
    used, quota = device.storage_used, device.storage_quota
    return {
        **_person(device.user, push), "level": level, "reasons": reasons,
        "device_id": device.device_id, "device": summarise_user_agent(device.user_agent),
        "app_version": device.app_version,
        "outdated": device.app_version is not None and device.app_version != current_version,
        "first_seen_at": isoformat(device.first_seen_at),
        "last_heartbeat_at": isoformat(device.last_seen_at),
        "heartbeat_age_seconds": _seconds(device.last_seen_at, now),
        "last_sync_at": isoformat(last_success(device)),
        "sync_age_seconds": _seconds(last_success(device), now),
        "pending": device.pending, "rejected": device.rejected,
        "oldest_pending_at": isoformat(device.oldest_pending_at) if device.pending else None,
        "oldest_pending_age_seconds": _seconds(device.oldest_pending_at, now) if device.pending else None,
        "persisted": device.persisted, "storage_used": used, "storage_quota": quota,
        "storage_percent": round(100 * used / quota, 1) if used is not None and quota else None,
        "sync_failures": device.sync_failures or 0,
        "last_failure_at": isoformat(device.last_failure_at) if device.sync_failures else None,
        "last_failure_age_seconds": _seconds(device.last_failure_at, now) if device.sync_failures else None,
        "last_failure": device.last_failure if device.sync_failures else None,
    }


def _never_row(user, push):
    empty = dict.fromkeys(("device_id", "device", "app_version", "first_seen_at", "last_heartbeat_at",
                           "heartbeat_age_seconds", "last_sync_at", "sync_age_seconds", "oldest_pending_at",
                           "oldest_pending_age_seconds", "persisted", "storage_used", "storage_quota",
                           "storage_percent", "last_failure_at", "last_failure_age_seconds", "last_failure"))
    return {**_person(user, push), **empty, "level": "never", "reasons": ["never_installed"],
            "outdated": False, "pending": 0, "rejected": 0, "sync_failures": 0}


def _user_scope(filters):
    """A select of the users the filters allow (staff roles, active)."""
    query = select(User.id).where(User.role.in_([r.value for r in STAFF_ROLES]), User.active.is_(True),
                                  User.deleted_at.is_(None))
    if filters.grid is not None:
        # A level-1 grid stands for itself and its level-2 grids.
        grid_ids = select(Grid.id).where((Grid.id == filters.grid.id) | (Grid.parent_id == filters.grid.id))
        query = query.where(User.id.in_(select(grid_members.c.user_id).where(grid_members.c.grid_id.in_(grid_ids))))
    if filters.department_id is not None:
        query = query.where(User.department_id == filters.department_id)
    return query


def _sort_key(row):
    return (RANK[row["level"]], -row["pending"], -(row["heartbeat_age_seconds"] or 0), row["name"], row["username"])


def sync_rows(current_version, limits, filters=Filters(), now=None):
    """Every row the grid and department filters allow (not yet the level filter), worst first."""
    now = now or utcnow()
    scope = _user_scope(filters)
    load = (selectinload(User.grids), selectinload(User.department))
    devices = db.session.scalars(select(Device).where(Device.user_id.in_(scope))
                                 .options(selectinload(Device.user).options(*load))).all()
    missing = db.session.scalars(select(User).where(User.id.in_(scope), User.role.in_(FIELD_ROLES),
                                                    User.id.not_in(select(Device.user_id)))
                                 .options(*load)).all()
    push = {p["id"]: p for p in push_status()}
    rows = [_device_row(d, push, now, limits, current_version) for d in devices]
    rows += [_never_row(u, push) for u in missing]
    return sorted(rows, key=_sort_key)


def summarise(rows):
    devices = [r for r in rows if r["level"] != "never"]
    return {
        "devices": len(devices),
        "ok": sum(r["level"] == "ok" for r in rows),
        "behind": sum(r["level"] == "behind" for r in rows),
        "stale": sum(r["level"] == "stale" for r in rows),
        "never_installed": sum(r["level"] == "never" for r in rows),
        "pending": sum(r["pending"] for r in devices),
        "rejected": sum(r["rejected"] for r in devices),
        "failing": sum(1 for r in devices if r["sync_failures"]),
        "outdated": sum(r["outdated"] for r in devices),
    }


def sync_dashboard(current_version, limits, filters=Filters(), now=None):
    """Rows (level filter applied) and a summary (over the grid/department
    scope, so the counts on top still show the whole picture)."""
    now = now or utcnow()
    rows = sync_rows(current_version, limits, filters, now)
    shown = [r for r in rows if filters.level is None or r["level"] == filters.level]
    return {
        "generated_at": isoformat(now), "app_version": current_version,
        "thresholds": {"pending_minutes": int(limits.pending.total_seconds() // 60),
                       "sync_hours": int(limits.sync.total_seconds() // 3600),
                       "stale_hours": int(limits.stale.total_seconds() // 3600)},
        "summary": summarise(rows), "rows": shown,
    }
