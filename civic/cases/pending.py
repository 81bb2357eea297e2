"""A request that waits for a supervisor's decision (more time 延期, parking 挂账):
one pending at a time per case, asked for by the people working it and decided
by a supervisor. The rule of which step is refused when, written once for both."""
from sqlalchemy import select

from ..extensions import db
from .steps import WorkflowError

PENDING = "pending"


def pending_request(model, case):
    """The case's pending request of `model` (ExtensionRequest, ParkRequest), or None."""
    if case.id is None:
        return None
    return db.session.scalar(select(model).where(model.case_id == case.id, model.status == PENDING))


def refuse_by_pending(step, pending, case, *, code, asked, nothing):
    """`step` is "request", or a decision ("approve", "deny"). A request while one is
    pending is refused (409 `code`_pending, `asked`); a decision when none is
    (409 no_pending_`code`, `nothing`)."""
    if step == "request" and pending is not None:
        raise WorkflowError(409, f"{code}_pending", asked, case)
    if step != "request" and pending is None:
        raise WorkflowError(409, f"no_pending_{code}", nothing, case)


def offered(step, pending):
    """Whether a step of this kind is offered now: a request when none is pending, a decision when one is."""
    return (step == "request") != (pending is not None)
