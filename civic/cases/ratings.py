"""The reporter's verdict on the work: a rating per round of handling (满意 /
基本满意 / 不满意) and, when unsatisfied, a recheck (复核) by someone independent
that upholds the result or reopens the case."""
from sqlalchemy import func, select

from ..errors import ApiError
from ..extensions import db
from .models import CaseEvent, Rating, Recheck, RecheckStatus, Score
from .steps import WorkflowError, clean_note

SCORES = tuple(score.value for score in Score)  # 满意 / 基本满意 / 不满意


def pending_recheck(case):
    if case.id is None:
        return None
    return db.session.scalar(select(Recheck).where(Recheck.case_id == case.id, Recheck.status == RecheckStatus.PENDING.value))


def handling_round(case):
    """How many times the case has been marked handled: ratings are per round."""
    if case.id is None:
        return 1
    return max(1, db.session.scalar(select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "handle")) or 0)


def rating_of(case, user):
    """`user`'s rating of the present round of handling, if they gave one."""
    if case.id is None or user is None or getattr(user, "id", None) is None:
        return None
    return db.session.scalar(select(Rating).where(Rating.case_id == case.id, Rating.user_id == user.id,
                                                  Rating.round == handling_round(case)))


def check_recheck(rule, case):
    if rule.recheck and pending_recheck(case) is None:
        raise WorkflowError(409, "no_pending_recheck", "Nobody has asked for a recheck of this case; there is "
                            "nothing to decide.", case)
    if rule.action == "verify" and pending_recheck(case) is not None:
        raise WorkflowError(409, "recheck_pending", "The reporter was not satisfied; the recheck (复核) decides "
                            "this case now.", case)


def check_rating(rule, case, actor, rating, note):
    if not rule.rating:
        if rating is not None:
            raise ApiError(422, "invalid", "A rating can only be given with 'rate'.", "rating")
        return
    if rating_of(case, actor) is not None:
        raise WorkflowError(409, "already_rated", "You have rated this result already.", case)
    if rating is None:
        raise ApiError(422, "required", "Choose satisfied, basic or unsatisfied (rating).", "rating")
    if rating not in SCORES:
        raise ApiError(422, "invalid", "rating must be one of satisfied, basic or unsatisfied.", "rating")
    if rating == Score.UNSATISFIED.value and not clean_note(note):
        raise ApiError(422, "note_required", "Say what is still wrong (a comment is required when unsatisfied).",
                       "note")


def rate(case, actor, rating, note, now):
    """The rating row, and a pending recheck when unsatisfied (unless one is pending)."""
    row = Rating(case_id=case.id, user_id=actor.id, department_id=case.department_id, score=rating, comment=note,
                 round=handling_round(case), created_at=now)
    db.session.add(row)
    db.session.flush()  # the unique key: a concurrent second rating fails here
    if rating != Score.UNSATISFIED.value or pending_recheck(case) is not None:
        return {"rating_id": row.id}
    recheck = Recheck(case_id=case.id, rating_id=row.id, department_id=case.department_id, status=RecheckStatus.PENDING.value,
                      created_at=now)
    db.session.add(recheck)
    db.session.flush()  # the partial unique index: one pending recheck per case
    return {"rating_id": row.id, "recheck_id": recheck.id}


def decide_recheck(rule, case, actor, note, now):
    """The recheck (复核) decided: the result upheld, or the case reopened."""
    recheck = pending_recheck(case)
    recheck.status = (RecheckStatus.REOPENED if rule.to_status else RecheckStatus.UPHELD).value
    recheck.decided_by, recheck.decided_at, recheck.note = actor.id, now, note
    return {"recheck_id": recheck.id, "outcome": recheck.status}
