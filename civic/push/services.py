"""Subscriptions, preferences, who is told what, and the supervisors' view.

Notifications are rows first: `notify_users` adds PushDelivery rows to the
current transaction (so they exist exactly when the case event that caused them
does) and, once that transaction commits, hands their ids to the app's runner
(jobs.py), which sends them in the background. The request that dispatched a
case never waits for a push service.

What triggers one (see `on_action_applied`, connected to the workflow's
`action_applied` signal):
- "dispatch" with an assignee: the assignee ("assignment");
- "dispatch" to a department without an assignee: the department's active staff;
- any status change on a case reported by a resident who turned on
  resident_updates ("status").
Reminders and escalations (the workflow issue) call `notify_users` themselves.

No request objects here; API views pass plain values.
"""
import binascii
import hashlib
import ipaddress
import math
import re
import uuid
from base64 import urlsafe_b64decode
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from sqlalchemy import and_, case as sql_case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import Role, STAFF_ROLES, User
from ..cases.access import reporter_and_followers
from ..errors import ApiError
from ..extensions import db
from ..timeutil import isoformat, local_zone, utcnow
from .models import DEFAULT_NIGHT, NotificationPreference, PushDelivery, PushSubscription
from .sender import KINDS
from .jobs import QUEUE

ENDPOINT_MAX = 2048
DEVICE_ID_MAX = 64
USER_AGENT_MAX = 256
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
NIGHT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

STATUS_ZH = {"reported": "已上报", "accepted": "已受理", "rejected": "不予受理", "dispatched": "已派遣",
             "acknowledged": "已签收", "in_progress": "处置中", "handled": "已处置", "closed": "已结案"}


def _invalid(field, message, code="invalid"):
    return ApiError(422, code, message, field)


# -- subscriptions --------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionIn:
    endpoint: str
    p256dh: str   # base64url without padding
    auth: str
    device_id: str | None


def endpoint_hash(endpoint):
    return hashlib.sha256(endpoint.encode()).hexdigest()


def known_push_service(host, allowed):
    """Whether `host` is one of the push services in `allowed` (a name, or a domain
    whose subdomains all count: "push.apple.com" takes "web.push.apple.com")."""
    return any(host == entry or host.endswith("." + entry) for entry in allowed)


def _is_ip_literal(host):
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _endpoint(value, allow_http_local, allowed_hosts=()):
    if value is None or value == "":
        raise _invalid("endpoint", "endpoint is required.", "required")
    if not isinstance(value, str):
        raise _invalid("endpoint", "endpoint must be a URL.")
    value = value.strip()
    if len(value) > ENDPOINT_MAX:
        raise _invalid("endpoint", f"endpoint is too long (at most {ENDPOINT_MAX} characters).", "too_long")
    if not value.isascii() or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in value):
        raise _invalid("endpoint", "endpoint must be a URL without spaces or control characters.")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise _invalid("endpoint", "endpoint has an invalid port.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise _invalid("endpoint", "endpoint must be an https URL of a push service.")
    if allow_http_local and host in LOCAL_HOSTS and parts.scheme in ("http", "https"):
        return value  # the tests' fake push service, with PUSH_ALLOW_HTTP_LOCALHOST only
    if parts.scheme != "https":
        raise _invalid("endpoint", "endpoint must be an https URL.", "https_required")
    # The server will POST to this URL: only to the push services browsers use, never
    # to an address of this network (a probe of the intranet through our server).
    if _is_ip_literal(host) or not known_push_service(host, allowed_hosts):
        raise _invalid("endpoint", "endpoint must be the URL of a known push service (FCM, Mozilla, Apple, "
                                   "Microsoft, or one this deployment trusts).", "unknown_push_service")
    return value


def _b64url(value, field, length):
    if value is None or value == "":
        raise _invalid(field, f"{field} is required.", "required")
    if not isinstance(value, str):
        raise _invalid(field, f"{field} must be base64url text.")
    value = value.strip()
    if not B64URL.fullmatch(value):
        raise _invalid(field, f"{field} must be base64url (A–Z, a–z, 0–9, '-', '_').")
    bare = value.rstrip("=")
    try:
        raw = urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        raise _invalid(field, f"{field} is not valid base64url.") from None
    if len(raw) != length:
        raise _invalid(field, f"{field} must be {length} bytes, not {len(raw)}.", "wrong_length")
    return raw, bare


def parse_subscription(data, *, allow_http_local=False, allowed_hosts=()):
    """A PushSubscription.toJSON() from a browser, plus the app's device_id."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    endpoint = _endpoint(data.get("endpoint"), allow_http_local, allowed_hosts)
    keys = data.get("keys")
    if keys is None:
        raise _invalid("keys", "keys (p256dh and auth) are required.", "required")
    if not isinstance(keys, dict):
        raise _invalid("keys", "keys must be an object with p256dh and auth.")
    point, p256dh = _b64url(keys.get("p256dh"), "keys.p256dh", 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise _invalid("keys.p256dh", "keys.p256dh is not a point on the P-256 curve.") from None
    _raw, auth = _b64url(keys.get("auth"), "keys.auth", 16)
    device_id = data.get("device_id")
    if device_id is not None:
        if not isinstance(device_id, str):
            raise _invalid("device_id", "device_id must be text.")
        device_id = device_id.strip()
        if len(device_id) > DEVICE_ID_MAX:
            raise _invalid("device_id", f"device_id is too long (at most {DEVICE_ID_MAX} characters).", "too_long")
        if "\x00" in device_id:
            raise _invalid("device_id", "device_id contains a NUL character.")
        device_id = device_id or None
    return SubscriptionIn(endpoint, p256dh, auth, device_id)


def _insert(model):
    return (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(model)


def save_subscription(user, data, *, user_agent=None, allow_http_local=False, allowed_hosts=(), now=None):
    """Insert or update the subscription (by endpoint) as `user`'s, in one statement;
    another user's subscription of the same endpoint becomes this user's (one
    browser, one person at a time). An older subscription of the same device is
    removed: the browser has replaced it. Returns (subscription, created)."""
    sub = parse_subscription(data, allow_http_local=allow_http_local, allowed_hosts=allowed_hosts)
    now = now or utcnow()
    digest = endpoint_hash(sub.endpoint)
    existed = db.session.scalar(select(PushSubscription.id).where(PushSubscription.endpoint_hash == digest))
    values = {"user_id": user.id, "device_id": sub.device_id, "endpoint": sub.endpoint, "p256dh": sub.p256dh,
              "auth": sub.auth, "user_agent": (user_agent or "")[:USER_AGENT_MAX] or None, "updated_at": now}
    statement = _insert(PushSubscription).values(endpoint_hash=digest, created_at=now, failures=0, **values)
    # Same endpoint again: new keys or a new user mean a fresh start for its failure count, and
    # a new owner learns nothing of how deliveries to the previous one went.
    same_owner = PushSubscription.user_id == user.id
    statement = statement.on_conflict_do_update(index_elements=["endpoint_hash"], set_={
        **values, "failures": 0,
        "last_success_at": sql_case((same_owner, PushSubscription.last_success_at), else_=None),
        "last_failure_at": sql_case((same_owner, PushSubscription.last_failure_at), else_=None)})
    db.session.execute(statement)
    if sub.device_id:  # the browser replaced its own older subscription (never another user's)
        db.session.execute(delete(PushSubscription).where(
            PushSubscription.device_id == sub.device_id, PushSubscription.endpoint_hash != digest,
            PushSubscription.user_id == user.id))
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    return row, existed is None


def delete_subscription(user, data):
    """Remove `user`'s subscription of this endpoint (on logout); another user's or
    an unknown one is left alone, and that is not an error."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    endpoint = data.get("endpoint")
    if endpoint is None or endpoint == "":
        raise _invalid("endpoint", "endpoint is required.", "required")
    if not isinstance(endpoint, str):
        raise _invalid("endpoint", "endpoint must be a URL.")
    db.session.execute(delete(PushSubscription).where(
        PushSubscription.endpoint_hash == endpoint_hash(endpoint.strip()), PushSubscription.user_id == user.id))


# -- preferences ----------------------------------------------------------------------

DEFAULTS = {"mute_at_night": False, "night": DEFAULT_NIGHT, "resident_updates": False}


def preferences_of(user_id):
    """The user's preferences as a dict (the defaults without a row)."""
    row = db.session.get(NotificationPreference, user_id)
    if row is None:
        return dict(DEFAULTS)
    return {"mute_at_night": row.mute_at_night, "night": row.night, "resident_updates": row.resident_updates}


def parse_night(value):
    """"22:00-07:00" → (time(22, 0), time(7, 0)); None when it is not that shape."""
    match = NIGHT.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return None
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    return time(h1, m1), time(h2, m2)


def update_preferences(user, data):
    """Change the fields given (the others stay); 422 naming the first wrong one."""
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    changes = {}
    for field in ("mute_at_night", "resident_updates"):
        if field in data:
            if not isinstance(data[field], bool):
                raise _invalid(field, f"{field} must be true or false.")
            changes[field] = data[field]
    if "night" in data:
        night = data["night"].strip() if isinstance(data["night"], str) else data["night"]
        window = parse_night(night)
        if window is None:
            raise _invalid("night", "night must be two local times, HH:MM-HH:MM (e.g. 22:00-07:00).")
        if window[0] == window[1]:
            raise _invalid("night", "night must start and end at different times.")
        changes["night"] = night
    values = {**preferences_of(user.id), **changes}
    statement = _insert(NotificationPreference).values(user_id=user.id, updated_at=utcnow(), **values)
    statement = statement.on_conflict_do_update(index_elements=["user_id"], set_={**values, "updated_at": utcnow()})
    db.session.execute(statement)
    return preferences_of(user.id)


def night_release(preferences, now, zone):
    """When a non-urgent notification made at `now` (naive UTC) may go: `now`, or
    the end of the user's night when they mute at night and it is night now."""
    if not preferences or not preferences.get("mute_at_night"):
        return now
    window = parse_night(preferences.get("night") or DEFAULT_NIGHT)
    if window is None or window[0] == window[1]:
        return now
    start, end = window
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        at_night = start <= clock < end
    else:  # across midnight
        at_night = clock >= start or clock < end
    if not at_night:
        return now
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    release = datetime.combine(day, end, tzinfo=zone)
    return release.astimezone(timezone.utc).replace(tzinfo=None)


# -- notifications ---------------------------------------------------------------------

def _local(value, zone):
    return value.replace(tzinfo=timezone.utc).astimezone(zone)


def _deadline_phrase(due, now, zone, verb):
    if due is None:
        return f"请尽快{verb}"
    minutes = math.ceil((due - now).total_seconds() / 60)
    if minutes <= 0:
        return f"已超时，请尽快{verb}"
    if minutes <= 120:
        return f"请在 {minutes} 分钟内{verb}"
    local, today = _local(due, zone), _local(now, zone).date()
    when = local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")
    return f"请于 {when} 前{verb}"


def build_payload(kind, case, now=None, zone=None):
    """The notification the phone shows: Chinese title and body, and where a tap opens."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    now, zone = now or utcnow(), zone or local_zone()
    category = case.category.name_zh if case.category else "案件"
    ref = case.ref or f"#{case.id}"
    where = case.grid.name if case.grid else (case.address or "")
    if kind == "assignment":
        title, parts = f"新任务：{category}", [ref, where, _deadline_phrase(case.ack_due_at, now, zone, "签收")]
    elif kind == "reminder":
        title, parts = f"提醒：{category}", [ref, where, _deadline_phrase(case.resolve_due_at, now, zone, "处置")]
    elif kind == "escalation":
        title, parts = f"督办：{category}", [ref, where, "已超时，请尽快处置"]
    else:
        title, parts = "您反映的问题有新进展", [ref, category, STATUS_ZH.get(case.status, case.status)]
    page = "cases" if kind == "status" else "tasks"
    return {"title": title, "body": " · ".join(p for p in parts if p), "kind": kind, "case_id": case.id,
            "ref": case.ref, "url": f"/field/#/{page}/{case.id}", "tag": f"case-{case.id}",
            "urgent": bool(case.category and case.category.urgent)}




def notify_users(users, kind, case, *, actor=None, now=None, payload=None):
    """Queue a `kind` notification about `case` for each of `users` (inactive users
    and the actor left out) in the current transaction; once it commits, the
    app's runner sends them. Returns the new PushDelivery ids.

    One delivery per push subscription of the user; when the kind falls back to
    SMS (assignment, escalation) and none of the user's subscriptions works,
    one SMS delivery too. Not urgent (the category's `urgent`) and the user
    mutes at night: they wait for the end of the user's night."""
    spec = KINDS[kind]
    now = now or utcnow()
    seen, targets = set(), []
    for user in users:
        if user is None or user.id in seen or not user.active or (actor is not None and user.id == actor.id):
            continue
        seen.add(user.id)
        targets.append(user)
    if not targets:
        return []
    payload = payload or build_payload(kind, case, now)
    ids = [user.id for user in targets]
    by_user, preferences = {}, {}
    with db.session.no_autoflush:
        for chunk in _chunks(ids, 1000):
            for row in db.session.execute(
                    select(PushSubscription.id, PushSubscription.user_id, PushSubscription.failures)
                    .where(PushSubscription.user_id.in_(chunk)).order_by(PushSubscription.id)):
                by_user.setdefault(row.user_id, []).append(row)
            for row in db.session.execute(
                    select(NotificationPreference.user_id, NotificationPreference.mute_at_night,
                           NotificationPreference.night).where(NotificationPreference.user_id.in_(chunk))):
                preferences[row.user_id] = {"mute_at_night": row.mute_at_night, "night": row.night}
    zone = local_zone()
    rows = []
    for user in targets:
        due = now if payload.get("urgent") else night_release(preferences.get(user.id), now, zone)
        common = {"batch": uuid.uuid4().hex, "user_id": user.id, "kind": kind, "case_id": case.id if case else None,
                  "payload": payload, "status": "queued", "attempts": 0, "next_attempt_at": due,
                  "expires_at": due + timedelta(seconds=spec.ttl), "created_at": now}
        mine = by_user.get(user.id, [])
        rows += [{**common, "subscription_id": row.id, "channel": "push"} for row in mine]
        if spec.sms and not any(row.failures == 0 for row in mine):
            rows.append({**common, "subscription_id": None, "channel": "sms"})
    if not rows:
        return []
    # One multi-row INSERT … RETURNING (Core: thousands of rows without ORM objects).
    table = PushDelivery.__table__
    new_ids = list(db.session.scalars(table.insert().returning(table.c.id), rows))
    QUEUE.enqueue(new_ids)
    return new_ids


def _chunks(values, size):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def department_staff(department_id):
    if department_id is None:
        return []
    return db.session.scalars(select(User).where(User.department_id == department_id,
                                                 User.role == Role.DEPT_STAFF.value,
                                                 User.active.is_(True)).order_by(User.id)).all()


def on_action_applied(case, *, event, actor, **_):
    """The workflow did an action (not yet committed): queue who must hear of it."""
    if not current_app.config["PUSH_ENABLED"]:
        return
    with db.session.no_autoflush:
        data = event.data or {}
        if event.action in ("dispatch", "reroute"):
            if data.get("assignee_id") is not None:
                users = [db.session.get(User, data["assignee_id"])]
            else:
                users = department_staff(case.department_id)
            notify_users(users, "assignment", case, actor=actor)
        if event.from_status != event.to_status:
            residents = [user for user in map(lambda uid: db.session.get(User, uid), reporter_and_followers(case))
                         if user is not None and user.role == Role.RESIDENT.value
                         and preferences_of(user.id)["resident_updates"]]
            if residents:
                notify_users(residents, "status", case, actor=actor)


# -- the supervisors' view --------------------------------------------------------------

def push_status(role=None):
    """Per user: how many subscriptions, whether push works, when it last did and
    last failed. Staff roles unless `role` is given."""
    roles = [role] if role else sorted(r.value for r in STAFF_ROLES)
    users = db.session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True))
                               .order_by(User.role, User.username)).all()
    ids = [user.id for user in users]
    if not ids:
        return []
    subs = {row.user_id: row for row in db.session.execute(
        select(PushSubscription.user_id, func.count(PushSubscription.id).label("n"),
               func.sum(sql_case((PushSubscription.failures == 0, 1), else_=0)).label("working"),
               func.max(PushSubscription.last_success_at).label("success"))
        .where(PushSubscription.user_id.in_(ids)).group_by(PushSubscription.user_id))}
    sent = dict(db.session.execute(
        select(PushDelivery.user_id, func.max(PushDelivery.sent_at))
        .where(PushDelivery.user_id.in_(ids), PushDelivery.channel == "push", PushDelivery.status == "sent")
        .group_by(PushDelivery.user_id)).all())
    failures = {}
    # The latest failure on a subscription (kept while it exists) or of a delivery
    # (kept after a 404/410 removed its subscription).
    for user_id, at, error in db.session.execute(
            select(PushSubscription.user_id, PushSubscription.last_failure_at, PushSubscription.last_error)
            .where(PushSubscription.user_id.in_(ids), PushSubscription.last_failure_at.is_not(None))):
        if user_id not in failures or at > failures[user_id][0]:
            failures[user_id] = (at, error)
    latest = (select(PushDelivery.user_id, func.max(PushDelivery.last_attempt_at).label("at"))
              .where(PushDelivery.user_id.in_(ids), PushDelivery.channel == "push",
                     PushDelivery.status.in_(["failed", "gone"]))
              .group_by(PushDelivery.user_id).subquery())
    for user_id, at, error in db.session.execute(
            select(PushDelivery.user_id, PushDelivery.last_attempt_at, PushDelivery.last_error)
            .join(latest, and_(PushDelivery.user_id == latest.c.user_id, PushDelivery.last_attempt_at == latest.c.at))
            .where(PushDelivery.channel == "push", PushDelivery.status.in_(["failed", "gone"]))):
        if at is not None and (user_id not in failures or at > failures[user_id][0]):
            failures[user_id] = (at, error)
    out = []
    for user in users:
        row = subs.get(user.id)
        successes = [t for t in (row.success if row else None, sent.get(user.id)) if t is not None]
        failure = failures.get(user.id, (None, None))
        out.append({"id": user.id, "username": user.username, "display_name": user.display_name,
                    "role": user.role, "subscriptions": row.n if row else 0,
                    "push_active": bool(row and row.working),
                    "last_success_at": isoformat(max(successes)) if successes else None,
                    "last_failure_at": isoformat(failure[0]), "last_error": failure[1]})
    return out
