"""Who is told what: notifications are rows first. `notify_users` adds
PushDelivery rows to the current transaction (so they exist exactly when the
case event that caused them does) and, once that transaction commits, the
delivery queue (civic/notify/queue.py) hands their ids to the app's runner,
which sends them in the background. The request that dispatched a case never
waits for a push service.

What triggers one (see `on_action_applied`, connected to the workflow's
`action_applied` signal):
- "dispatch" with an assignee: the assignee ("assignment");
- "dispatch" to a department without an assignee: the department's active staff;
- any status change on a case reported by a resident who turned on
  resident_updates ("status").
Reminders and escalations (cases/chasing.py) call `notify_users` themselves.
"""
import math
import uuid
from datetime import timedelta, timezone

from flask import current_app
from sqlalchemy import select

from ..accounts.models import Role, User
from ..cases.access import reporter_and_followers
from ..cases.steps import STATUS_ZH
from ..cases.workflow import DISPATCHING
from ..extensions import db
from ..timeutil import local_zone, utcnow
from .jobs import QUEUE
from .models import NotificationPreference, PushDelivery, PushSubscription
from .preferences import night_release, preferences_of
from .sender import KINDS



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


def supervisors():
    return db.session.scalars(select(User).where(User.role == Role.SUPERVISOR.value, User.active.is_(True))
                              .order_by(User.id)).all()


def department_staff(department_id):
    if department_id is None:
        return []
    return db.session.scalars(select(User).where(User.department_id == department_id,
                                                 User.role == Role.DEPT_STAFF.value,
                                                 User.active.is_(True)).order_by(User.id)).all()


def _notify_assisting(case, event, actor):
    from ..cases.assists import parts_started_by

    for department_id in parts_started_by(case, event):
        payload = {**build_payload("assignment", case), "title": f"协办：{case.category.name_zh}"}
        notify_users(department_staff(department_id), "assignment", case, actor=actor, payload=payload)


def on_action_applied(case, *, event, actor, **_):
    """The workflow did an action (not yet committed): queue who must hear of it."""
    if not current_app.config["PUSH_ENABLED"]:
        return
    with db.session.no_autoflush:
        data = event.data or {}
        if event.action in DISPATCHING:
            if data.get("assignee_id") is not None:
                users = [db.session.get(User, data["assignee_id"])]
            else:
                users = department_staff(case.department_id)
            notify_users(users, "assignment", case, actor=actor)
        if data.get("assisting"):  # 协办: each department whose part starts now hears of it
            _notify_assisting(case, event, actor)
        if data.get("arbitration"):  # returned a second time: a supervisor decides the department
            payload = {**build_payload("escalation", case), "title": f"仲裁：{case.category.name_zh}",
                       "body": " · ".join(p for p in (case.ref, "两次退回，请确定承办部门") if p)}
            notify_users(supervisors(), "escalation", case, actor=actor, payload=payload)
        if event.from_status != event.to_status:
            residents = [user for user in map(lambda uid: db.session.get(User, uid), reporter_and_followers(case))
                         if user is not None and user.role == Role.RESIDENT.value
                         and preferences_of(user.id)["resident_updates"]]
            if residents:
                notify_users(residents, "status", case, actor=actor)
