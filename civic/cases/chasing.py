"""Chasing (催办 / 督办): the periodic job that reminds before a deadline and
escalates after it. Run on a clock: by `flask jobs worker` every
CHASE_INTERVAL_SECONDS with Redis (civic/jobs.py), else `flask --app app cases
chase` from cron (e.g. every minute).

Two clocks, as on the case (deadlines.py):
- acknowledge ("ack"): ack_due_at, while the case is dispatched;
- resolve: resolve_due_at, while it is acknowledged or in progress.

A reminder ("remind") goes out when a deadline is less than REMIND_BEFORE_ACK_MINUTES
/ REMIND_BEFORE_RESOLVE_MINUTES away, counted on the deadline's own clock: in
working minutes (the working hours and the holiday calendar) for normal
categories, in calendar minutes for urgent ones (and resolve limits counted in
calendar hours). So with 60 minutes, a deadline at 09:30 on Monday is reminded
from 17:00 on the Friday before, not at 08:30 on Monday. An escalation
("escalate", 督办) goes out once the deadline has passed; a case whose reminder
time was missed (the job did not run) is only escalated.

Each is written at most once per case, clock and deadline: the row in
case_reminders (unique on case_id, kind, clock, due_at) is inserted with ON
CONFLICT DO NOTHING in the same transaction as the case event and the
notifications, so running the job twice, or two jobs at once, sends nothing
twice. A new deadline (an approved extension, a reopened case) is chased anew.

Who is told (civic.push.fanout.notify_users): reminders go to the assignee and
the department's staff; escalations to the supervisors and the assignee.
`case_chased` (blinker) is sent for each, before the commit, for other
listeners (group webhooks).

An assisting department's part (协办, cases/assists.py) is chased on its own
clocks the same way: its running stage row's deadline (its acknowledgement on
the "ack" thresholds, its report on the "resolve" ones); the reminder goes to
that department's staff, the escalation to the supervisors, and the bookkeeping
row's clock names the part's stage row ("part<id>"), so each part and deadline
is chased once.
"""
from dataclasses import dataclass
from datetime import timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db, upsert
from ..timeutil import isoformat, utcnow
from ..transaction import unit_of_work
from .assists import PART_STAGES
from .deadlines import clock_for
from .models import Case, CaseEvent, CaseReminder, CaseStage, Status

# case_chased.send(case, event=…, kind="remind"|"escalate", clock="ack"|"resolve", due_at=…,
#                  department_id=… (an assisting department's part; None: the case's department))
case_chased = Namespace().signal("case-chased")

ACK_STATUSES = (Status.DISPATCHED.value,)
RESOLVE_STATUSES = (Status.ACKNOWLEDGED.value, Status.IN_PROGRESS.value)
PUSH_KIND = {"remind": "reminder", "escalate": "escalation"}


@dataclass(frozen=True)
class Due:
    case_id: int
    kind: str      # remind | escalate
    clock: str     # ack | resolve, or part<stage row id> for an assisting department's part
    due_at: object
    part: object = None  # the part's running stage row


def _clock_of_part(row):
    return "ack" if PART_STAGES[row.stage] == "acknowledge" else "resolve"


def _calendar(case, clock):
    category = case.category
    if clock == "ack":
        return bool(category.urgent)
    return bool(category.urgent) or category.resolve_unit == "calendar_hours"


def due_now(now):
    """What should have been sent by `now` (sent or not): a list of Due."""
    config = current_app.config
    clock = clock_for(current_app)
    before = {"ack": config["REMIND_BEFORE_ACK_MINUTES"],
              "resolve": config["REMIND_BEFORE_RESOLVE_MINUTES"]}
    thresholds = {name: {"calendar": now + timedelta(minutes=minutes),
                         "working": clock.add_working_minutes(now, minutes)}
                  for name, minutes in before.items()}
    horizon = {name: max(t.values()) for name, t in thresholds.items()}
    cases = db.session.scalars(
        select(Case).options(selectinload(Case.category))
        .where(or_((Case.status.in_(ACK_STATUSES)) & (Case.ack_due_at <= horizon["ack"]),
                   (Case.status.in_(RESOLVE_STATUSES)) & (Case.resolve_due_at <= horizon["resolve"])))
        .order_by(Case.id)).all()
    found = []
    for case in cases:
        name = "ack" if case.status in ACK_STATUSES else "resolve"
        due_at = case.ack_due_at if name == "ack" else case.resolve_due_at
        if due_at is None:
            continue
        if due_at <= now:
            found.append(Due(case.id, "escalate", name, due_at))
        elif due_at <= thresholds[name]["calendar" if _calendar(case, name) else "working"]:
            found.append(Due(case.id, "remind", name, due_at))
    return found + _parts_due(now, thresholds, max(horizon.values()))


def _parts_due(now, thresholds, horizon):
    """The assisting departments' parts whose deadline is near or past, on cases still worked on."""
    rows = db.session.execute(
        select(CaseStage, Case).join(Case, Case.id == CaseStage.case_id).options(selectinload(Case.category))
        .where(CaseStage.stage.in_(list(PART_STAGES)), CaseStage.done_at.is_(None),
               CaseStage.due_at.is_not(None), CaseStage.due_at <= horizon,
               Case.status.in_(ACK_STATUSES + RESOLVE_STATUSES))
        .order_by(CaseStage.id)).all()
    found = []
    for row, case in rows:
        name = _clock_of_part(row)
        if row.due_at <= now:
            found.append(Due(case.id, "escalate", f"part{row.id}", row.due_at, row))
        elif row.due_at <= thresholds[name]["calendar" if _calendar(case, name) else "working"]:
            found.append(Due(case.id, "remind", f"part{row.id}", row.due_at, row))
    return found


def _insert_reminder(values):
    statement = upsert(CaseReminder.__table__).values(**values).on_conflict_do_nothing(
        index_elements=["case_id", "kind", "clock", "due_at"]).returning(CaseReminder.__table__.c.id)
    # RETURNING, not rowcount: psycopg reports -1 for this statement
    return db.session.execute(statement).scalar_one_or_none() is not None


def recipients(case, kind, part=None):
    """Reminders: the assignee and the department's staff; escalations: the supervisors
    and the assignee. A part's: its department's staff, or the supervisors."""
    from ..push.fanout import department_staff, supervisors

    if part is not None:
        return list(department_staff(part.owner_id)) if kind == "remind" else list(supervisors())
    assignee = [case.assignee] if case.assignee is not None else []
    if kind == "remind":
        return assignee + list(department_staff(case.department_id))
    return list(supervisors()) + assignee


def _still_due(case, due):
    """Whether the deadline `due` chases is still the one running (the case may have
    moved on since due_now() read it: acknowledged meanwhile, the part reported)."""
    if case is None:
        return False
    if due.part is not None:
        row = db.session.get(CaseStage, due.part.id, populate_existing=True)
        return row is not None and row.done_at is None and row.due_at == due.due_at \
            and case.status in ACK_STATUSES + RESOLVE_STATUSES
    return (case.ack_due_at if due.clock == "ack" else case.resolve_due_at) == due.due_at \
        and case.status in (ACK_STATUSES if due.clock == "ack" else RESOLVE_STATUSES)


def _send(due, now):
    """Write one reminder/escalation in its own transaction; False when it was sent already."""
    from ..push.fanout import notify_users

    case = db.session.get(Case, due.case_id, populate_existing=True)
    if not _still_due(case, due):
        return False
    if not _insert_reminder({"case_id": case.id, "kind": due.kind, "clock": due.clock, "due_at": due.due_at,
                             "created_at": now}):
        return False  # another run sent it: nothing written here
    users = recipients(case, due.kind, due.part)
    clock = due.clock if due.part is None else _clock_of_part(due.part)
    data = {"clock": clock, "due_at": isoformat(due.due_at), "notified": sorted({u.id for u in users if u.active})}
    if due.part is not None:
        data["part_department_id"] = due.part.owner_id
    event = CaseEvent(case=case, actor=None, action=due.kind, from_status=case.status, to_status=case.status,
                      data=data, created_at=now)
    db.session.add(event)
    notify_users(users, PUSH_KIND[due.kind], case)  # deliveries on the real clock, not the job's `now`
    case_chased.send(case, event=event, kind=due.kind, clock=clock, due_at=due.due_at,
                     department_id=due.part.owner_id if due.part is not None else None)
    return True


def chase(now=None):
    """Send what is due at `now` (naive UTC; default: the present). Returns counts
    {"remind": n, "escalate": m} of what this run sent."""
    now = now or utcnow()
    counts = {"remind": 0, "escalate": 0}
    for due in due_now(now):
        with unit_of_work():  # each reminder its own: one failing does not undo the others
            if _send(due, now):
                counts[due.kind] += 1
    return counts
