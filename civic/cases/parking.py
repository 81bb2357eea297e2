"""Parking (挂账): a case the department cannot solve now (it needs a budget, a
season, another body's decision) is parked instead of running late.

The department asks (request_park: the reason as the note, what it needs, a
review date); a supervisor approves (approve_park: the case becomes "parked") or
refuses with a reason (deny_park). A parked case's handling stage ends as
"parked" (on time or not as it stood that moment), no clock runs on it, the
chasing job leaves it alone and no figure counts it overdue: it is open but not
in WORKING_STATUSES. It comes back to "in progress" on its review date (the
periodic job `resume_due`, or `flask cases chase` from cron), or earlier when the
department or a dispatcher resumes it, with a new handling stage on the
handling limit counted from then: the time before the parking was spent on work
that could not be finished, and the new deadline is as if the work started again.
The department is reminded when it comes back.
"""
from datetime import timedelta

from sqlalchemy import select

from ..errors import ApiError
from ..extensions import db
from ..timeutil import isoformat, utcnow
from ..transaction import unit_of_work
from .models import Case, CaseEvent, ParkRequest, ParkStatus, Status
from .pending import pending_request, refuse_by_pending

NEEDS_MAX = 500
DECIDED_STEPS = ("request", "approve", "deny")  # the steps of a request a supervisor decides (resume is not one)
LONGEST_PARKING = timedelta(days=366)  # a review date more than a year away is not a review


def pending_park(case):
    return pending_request(ParkRequest, case)


def current_park(case):
    """The approved request a parked case is parked on, or None."""
    if case.id is None or case.status != Status.PARKED.value:
        return None
    return _approved(case)


def _approved(case):
    return db.session.scalar(select(ParkRequest).where(ParkRequest.case_id == case.id,
                                                       ParkRequest.status == ParkStatus.APPROVED.value)
                             .order_by(ParkRequest.id.desc()).limit(1))


def check_park(rule, case, until, needs):
    """Refuse a request while one is pending, a decision when none is, and a request
    without what it needs or with a review date that is past or over a year away."""
    if rule.park in DECIDED_STEPS:
        refuse_by_pending(rule.park, pending_park(case), case, code="park",
                          asked="Parking this case has already been asked for; a supervisor has not decided yet.",
                          nothing="Nobody has asked to park this case; there is nothing to decide.")
    if rule.park != "request":
        if needs is not None:
            raise ApiError(422, "invalid", "What a case needs can only be given with 'request_park'.", "needs")
        return
    if not needs or not needs.strip():
        raise ApiError(422, "required", "Say what it needs to be solved (a budget, a season, a decision).", "needs")
    if until is None:
        raise ApiError(422, "required", "Give the review date (until), when the case comes back.", "until")
    now = utcnow()
    if until <= now:
        raise ApiError(422, "out_of_range", "The review date (until) must be in the future.", "until")
    if until > now + LONGEST_PARKING:
        raise ApiError(422, "out_of_range", "The review date (until) must be within a year.", "until")


def record_park(rule, case, actor, *, until, needs, note, now):
    """The request (a new row), the decision on the pending one, or the end of the
    parking; returns what the step's event records of it, and the case columns it sets."""
    if rule.park == "request":
        request = ParkRequest(case_id=case.id, requested_by=actor.id, reason=note, needs=needs.strip(),
                              review_at=until, status=ParkStatus.PENDING.value, created_at=now)
        db.session.add(request)
        db.session.flush()  # the partial unique index: a concurrent second request fails here
        return {"park_id": request.id, "until": isoformat(until), "needs": request.needs}
    if rule.park == "resume":
        parked = _approved(case)  # the case is "in progress" again already
        if parked is not None:
            parked.status, parked.resumed_at = ParkStatus.RESUMED.value, now
        return {"park_id": parked.id if parked else None}
    pending = pending_park(case)
    pending.status = (ParkStatus.APPROVED if rule.park == "approve" else ParkStatus.DENIED).value
    pending.decided_by, pending.decided_at = actor.id, now
    return {"park_id": pending.id, "until": isoformat(pending.review_at), "needs": pending.needs}


def parked_until(rule, case):
    """The review date an approval parks the case until."""
    return pending_park(case).review_at if rule.park == "approve" else None


# -- back on the review date ---------------------------------------------------------------

def due_for_review(now):
    return list(db.session.scalars(select(Case.id).where(Case.status == Status.PARKED.value,
                                                         Case.parked_until <= now).order_by(Case.id)))


def resume_due(now=None):
    """Bring back every parked case whose review date has come (the periodic job):
    each in its own transaction, as the system, with a reminder to the people
    working it. Returns how many came back. Safe to run twice or concurrently: the
    workflow's conditional update lets one run resume a case."""
    from ..push.fanout import build_payload, department_staff, notify_users
    from .steps import WorkflowError as Refused
    from .workflow import apply_action

    now = now or utcnow()
    resumed = 0
    for case_id in due_for_review(now):
        with unit_of_work():
            case = db.session.get(Case, case_id)
            try:
                apply_action(case, "resume", None, client_id=None, system=True, note="挂账到期，恢复办理")
            except Refused:
                continue  # another run resumed it, or someone did by hand
            people = [u for u in ([case.assignee] if case.assignee is not None else [])
                      + list(department_staff(case.department_id)) if u.active]
            payload = {**build_payload("reminder", case), "title": f"挂账到期：{case.category.name_zh}"}
            notify_users(people, "reminder", case, payload=payload)
            # The reminder in the trail, as the chasing job writes its own (who was told).
            db.session.add(CaseEvent(case=case, actor=None, action="remind", from_status=case.status,
                                     to_status=case.status, created_at=now,
                                     data={"clock": "resolve", "due_at": isoformat(case.resolve_due_at),
                                           "reason": "review_date", "notified": sorted({u.id for u in people})}))
            resumed += 1
    return resumed
