"""More time (延期): the assignee asks for a later resolve deadline with a reason;
a supervisor approves (the deadline moves) or refuses. One pending request per
case at a time."""
from ..errors import ApiError
from ..extensions import db
from ..timeutil import isoformat, utcnow
from .models import ExtensionRequest, ExtensionStatus
from .pending import pending_request, refuse_by_pending


def pending_extension(case):
    return pending_request(ExtensionRequest, case)


def check_extension(rule, case, until):
    """Refuse a request for more time while one is pending, a decision when none is,
    and a new deadline (until) that is missing, past or not later than the present one."""
    if rule.extension:
        refuse_by_pending(rule.extension, pending_extension(case), case, code="extension",
                          asked="More time has already been asked for on this case; a supervisor has not "
                                "decided yet.",
                          nothing="Nobody has asked for more time on this case; there is nothing to decide.")
    if rule.extension == "request":
        if until is None:
            raise ApiError(422, "required", "Give the new deadline (until) you ask for.", "until")
        if until <= utcnow():
            raise ApiError(422, "out_of_range", "The new deadline (until) must be in the future.", "until")
        if case.resolve_due_at is not None and until <= case.resolve_due_at:
            raise ApiError(422, "out_of_range", f"The new deadline (until) must be after the present one, "
                           f"{isoformat(case.resolve_due_at)}.", "until")


def record_extension(rule, case, actor, *, until, note, pending, now):
    """The request for more time (a new row), or the decision on the pending one;
    returns what the step's event records of it."""
    if rule.extension == "request":
        request = ExtensionRequest(case_id=case.id, requested_by=actor.id, until=until, reason=note,
                                   status=ExtensionStatus.PENDING.value, created_at=now)
        db.session.add(request)
        db.session.flush()  # the partial unique index: a concurrent second request fails here
        return {"extension_id": request.id, "until": isoformat(until)}
    pending.status = (ExtensionStatus.APPROVED if rule.extension == "approve" else ExtensionStatus.DENIED).value
    pending.decided_by, pending.decided_at = actor.id, now
    return {"extension_id": pending.id, "until": isoformat(pending.until)}
