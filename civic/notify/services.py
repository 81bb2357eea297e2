"""Group notifications: what is said to a department's chat group, and when.

Like push (civic/push/fanout.py), a notification is a row first:
`notify_group(case, kind)` adds a WebhookDelivery to the current transaction
and, once that transaction commits, hands its id to the app's runner (jobs.py),
which posts it in the background. Nothing is queued when the department has no
webhook_url, or its kind cannot be told (webhook_kind unset and an unknown host).

Triggers: the workflow's `action_applied` (`on_action_applied`): "dispatch" →
"dispatch"; "verify" (closes the case) → "close"; an "escalate" action →
"escalation". The chasing job's `case_chased` (`on_case_chased`): "escalate"
(督办, a deadline passed) → "escalation", naming the deadline that passed.
Other code may call `notify_group(case, kind)` itself; one transaction never
queues the same case, department and kind twice, so two ways together post once.
"""
from datetime import timezone

from flask import current_app
from sqlalchemy import select

from .. import models as _schema  # noqa: F401  (every table known: grids refer to users)
from ..extensions import db
from ..cases.steps import STATUS_ZH
from ..cases.workflow import DISPATCHING
from ..grids.models import Department
from ..timeutil import local_zone, utcnow
from ..urls import public_base_url
from .models import WebhookDelivery
from .webhooks import Message, adapter_for
from .jobs import QUEUE

KINDS = ("dispatch", "escalation", "close")
ACTIONS = {**{action: "dispatch" for action in DISPATCHING}, "verify": "close", "escalate": "escalation"}
TITLES = {"dispatch": "派遣", "escalation": "督办", "close": "结案"}


def _local(value, zone):
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def case_link(case):
    return f"{public_base_url()}/cases/{case.ref}"  # built in jobs too, outside any request


def build_message(case, kind, *, now=None, note=None, clock=None, due_at=None):
    """The Chinese text for the group: case ref, category, grid, deadline, and a link to the case page."""
    if kind not in KINDS:
        raise ValueError(f"unknown group notification kind {kind!r}")
    zone = local_zone()
    category = case.category.name_zh if case.category else "未分类"
    grid = case.grid.name if case.grid else "网格外"
    ref = case.ref or f"#{case.id}"
    lines = [("案件编号", ref), ("问题类别", category), ("所属网格", grid)]
    if case.address:
        lines.append(("地点", case.address[:80]))
    if case.department is not None:
        lines.append(("责任部门", case.department.name))
    if kind == "dispatch":
        lines.append(("签收时限", _local(case.ack_due_at, zone) or "尽快"))
        lines.append(("办结时限", _local(case.resolve_due_at, zone) or "尽快"))
    elif kind == "escalation":
        label, due = ("签收时限", case.ack_due_at) if clock == "ack" else ("办结时限", case.resolve_due_at)
        lines.append((label, (_local(due_at or due, zone) or "—") + "（已超时）"))
        lines.append(("当前状态", STATUS_ZH.get(case.status, case.status)))
    else:
        lines.append(("结案时间", _local(case.closed_at or now or utcnow(), zone)))
    if note:
        lines.append(("说明", note[:200]))
    title = f"【{TITLES[kind]}】{category} {ref}"
    return Message(title, lines, case_link(case))


def department_adapter(department):
    """The adapter for a department's group, or None when it has none usable."""
    if department is None or not (department.webhook_url or "").strip():
        return None
    try:
        return adapter_for(department)
    except ValueError as exc:
        current_app.logger.warning("department %s: %s; no group notification", department.code, exc)
        return None


def notify_group(case, kind, *, department=None, now=None, note=None, clock=None, due_at=None):
    """Queue a `kind` message about `case` to its department's group (or `department`'s)
    in the current transaction; posted after the commit. Returns the delivery id, or
    None when nothing was queued (no webhook, or already queued in this transaction)."""
    if kind not in KINDS:
        raise ValueError(f"unknown group notification kind {kind!r}")
    if not current_app.config["WEBHOOKS_ENABLED"]:
        return None
    now = now or utcnow()
    with db.session.no_autoflush:
        if department is None and case.department_id is not None:
            department = db.session.get(Department, case.department_id)
        adapter = department_adapter(department)
        if adapter is None:
            return None
        if not QUEUE.first_in_transaction((case.id, department.id, kind)):
            return None
        message = build_message(case, kind, now=now, note=note, clock=clock, due_at=due_at)
        table = WebhookDelivery.__table__
        delivery_id = db.session.scalar(table.insert().returning(table.c.id), [{
            "case_id": case.id, "department_id": department.id, "kind": kind, "adapter": adapter.kind,
            "message": message.to_dict(), "status": "queued", "attempts": 0, "next_attempt_at": now,
            "created_at": now}])
    QUEUE.enqueue([delivery_id])
    return delivery_id


def on_action_applied(case, *, event, actor=None, **_):
    """The workflow did an action (not yet committed): tell the group when it is one of ours;
    a dispatch also tells the group of each assisting department whose part starts now (协办)."""
    kind = ACTIONS.get(event.action)
    if kind is not None:
        notify_group(case, kind, note=event.note if kind == "escalation" else None)
    if kind == "dispatch" and (event.data or {}).get("assisting"):
        from ..cases.assists import parts_started_by

        for department_id in parts_started_by(case, event):
            notify_group(case, "dispatch", department=db.session.get(Department, department_id),
                         note="协办：请签收并反馈本单位承担的工作")


def on_case_chased(case, *, event=None, kind=None, clock=None, due_at=None, department_id=None, **_):
    """The chasing job reminded or escalated (not yet committed): an escalation goes to the
    group (an assisting department's part: to that department's group)."""
    if kind == "escalate":
        department = db.session.get(Department, department_id) if department_id is not None else None
        notify_group(case, "escalation", department=department, clock=clock, due_at=due_at,
                     note="协办部分已超时" if department is not None else None)


def group_notifications(case_id):
    """The case's group notifications, oldest first, as in the case JSON."""
    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.case_id == case_id)
                              .order_by(WebhookDelivery.id)).all()
    return [row.to_dict() for row in rows]
