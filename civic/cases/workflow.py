"""The case workflow as one table: which action moves a case from which statuses
to which, who may do it, what it needs, and which step time it records.

Views and clients never decide a transition themselves: they call
`apply_action`, which checks the rule, moves the status with a conditional
UPDATE (… WHERE id = :id AND status = :expected, so two concurrent actions can
never both apply to the same status on SQLite or PostgreSQL) and writes exactly
one CaseEvent. `allowed_actions` tells a client what a user could do now.

No request objects here; the caller commits. `action_applied` is sent (blinker)
after each applied action, before the commit, so listeners (push notifications)
can add their rows to the same transaction.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_app_context

from blinker import Namespace
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..config import DEFAULT_REOPEN_DAYS
from ..errors import ApiError
from ..extensions import db
from ..photos.models import Photo
from ..timeutil import isoformat, utcnow
from . import stages
from .access import RELATIONS, related
from .assists import check_assisting, part_refusal
from .extension_requests import check_extension, pending_extension, record_extension
from .merging import check_merge_target, merge
from .parking import DECIDED_STEPS, check_park, parked_until, pending_park, record_park
from .pending import offered
from .models import Case, CaseEvent, Score, Status
from .ratings import check_rating, check_recheck, decide_recheck, pending_recheck, rate, rating_of
from .steps import STATUS_WORDS, WorkflowError, clean_note

S = Status

# action_applied.send(case, event=…, actor=…, rule=…): an action was applied, not yet committed.
action_applied = Namespace().signal("action-applied")


# -- who --------------------------------------------------------------------------
# Each rule lists the relations to the case that allow it (cases/access.py).

OVERSIGHT = ("oversight",)
DOERS = ("assignee", "department", "admin")              # the people who work a case on site
VERIFIERS = ("grid_worker", "reporter", "oversight")     # the people who check the work
SUPERVISORS = ("supervisor",)                            # decide extensions
REOPENERS = ("reporter", "oversight")
RATERS = ("reporter", "follower")
RECHECKERS = ("independent",)
ASSISTING = ("assisting",)                               # staff of a department with an open part (协办)


# -- the table ----------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    action: str
    from_statuses: frozenset
    to_status: str | None          # None: the status stays as it is
    who: tuple
    verb: str                      # "acknowledge it": for "you cannot …"
    done: str                      # "acknowledged": for "it can no longer be …"
    note_required: bool = False
    stamp: str | None = None       # the case column set to the time of the action
    photos: str = "none"           # "none", "optional" or "required" (stored as kind "after")
    after_photo_check: bool = False  # needs an "after" photo when the category asks for one
    dispatch_options: bool = False   # takes an assignee and/or a department
    clears: tuple = ()             # case columns set to NULL (e.g. "return" clears the department)
    reopen_window: bool = False    # only within REOPEN_DAYS of closed_at
    restart_clocks: bool = False   # new acknowledge/resolve deadlines counted from now
    restart_resolve: bool = False  # a new resolve deadline counted from now (the handling starts)
    extension: str | None = None   # "request", "approve" or "deny": works on extension_requests
    merge: bool = False            # takes `into`: the open case this duplicate goes on as
    redirect: bool = False         # needs a new department or person (re-route)
    closes_handled: bool = False   # from "handled" it closes the case (stamp closed_at); otherwise no move
    rating: bool = False           # takes a score (satisfied, basic, unsatisfied); unsatisfied opens a recheck
    recheck: bool = False          # decides the pending recheck
    urgency: bool = False          # takes an urgency level: the case's stages run on its limits from now on
    arbitration: bool = False      # decides a disputed case's department (after its second return): final
    park: str | None = None        # "request", "approve", "deny" or "resume": works on park_requests (挂账)
    part: str | None = None        # "acknowledge", "report" or "waive": an assisting department's part (协办)
    photo_kind: str = "after"      # the kind its photos are stored as


def _rule(action, from_statuses, to_status, who, verb, done, **kw):
    return Rule(action, frozenset(s.value for s in from_statuses), to_status.value if to_status else None,
                tuple(who), verb, done, **kw)


TRANSITIONS = {rule.action: rule for rule in [
    _rule("accept", [S.REPORTED], S.ACCEPTED, OVERSIGHT, "accept it", "accepted", stamp="accepted_at"),
    _rule("reject", [S.REPORTED, S.ACCEPTED], S.REJECTED, OVERSIGHT, "reject it", "rejected",
          note_required=True),
    # The department's clocks start when the case reaches it (cases/stages.py): it
    # acknowledges within its limit from the dispatch, and handles within its limit
    # from the acknowledgement.
    _rule("dispatch", [S.ACCEPTED, S.REPORTED], S.DISPATCHED, OVERSIGHT, "dispatch it", "dispatched",
          stamp="dispatched_at", dispatch_options=True, restart_clocks=True),
    _rule("acknowledge", [S.DISPATCHED], S.ACKNOWLEDGED, DOERS, "acknowledge it", "acknowledged",
          stamp="acknowledged_at", restart_resolve=True),
    _rule("start", [S.ACKNOWLEDGED], S.IN_PROGRESS, DOERS, "start work on it", "started"),
    _rule("handle", [S.ACKNOWLEDGED, S.IN_PROGRESS], S.HANDLED, DOERS, "mark it handled", "marked handled",
          stamp="handled_at", photos="optional", after_photo_check=True),
    _rule("add_photo", [S.ACKNOWLEDGED, S.IN_PROGRESS, S.HANDLED], None, DOERS, "add photos to it",
          "given more photos", photos="required"),
    _rule("verify", [S.HANDLED], S.CLOSED, VERIFIERS, "verify it", "verified", stamp="closed_at"),
    # 退回: not ours (wrong department); back to the dispatcher's queue to be routed
    # again. The second return of a case goes to a supervisor instead (arbitrate).
    _rule("return", [S.ACKNOWLEDGED, S.DISPATCHED, S.IN_PROGRESS], S.ACCEPTED, DOERS, "return it", "returned",
          note_required=True, clears=("department_id", "assignee_id", "assigned_at", "dispatched_at",
                                      "acknowledged_at")),
    # 核查不通过 / 返工: the check failed, back to the same people to work on.
    _rule("verify_fail", [S.HANDLED], S.IN_PROGRESS, VERIFIERS, "send it back for rework", "sent back",
          note_required=True, clears=("handled_at",)),
    # Reopened by the reporter or oversight within REOPEN_DAYS: the same department and
    # assignee acknowledge it again, on fresh deadlines.
    _rule("reopen", [S.CLOSED], S.DISPATCHED, REOPENERS, "reopen it", "reopened", note_required=True,
          stamp="dispatched_at", reopen_window=True, restart_clocks=True,
          clears=("closed_at", "handled_at", "acknowledged_at")),
    # 合并 ("me too"): a duplicate of an open case. It is rejected; its reporter follows
    # that case and its photos are added to it.
    _rule("merge", [S.REPORTED, S.ACCEPTED], S.REJECTED, OVERSIGHT, "merge it", "merged", merge=True),
    # 改派: the dispatcher moves a case already dispatched to another department or
    # person, who acknowledge it again on fresh deadlines (the detour was not theirs).
    _rule("reroute", [S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS], S.DISPATCHED, OVERSIGHT, "re-route it",
          "re-routed", note_required=True, stamp="dispatched_at", dispatch_options=True, redirect=True,
          restart_clocks=True, clears=("assignee_id", "assigned_at", "acknowledged_at")),
    # 评价: the reporter (and the people whose duplicates were merged in) rate the
    # result once per round of handling. Satisfied on a handled case closes it;
    # unsatisfied opens a recheck (复核).
    _rule("rate", [S.HANDLED, S.CLOSED], None, RATERS, "rate it", "rated", closes_handled=True, rating=True,
          reopen_window=True),
    # 复核: someone other than the handling department decides an unsatisfied rating:
    # the work stands (a handled case closes), or the case goes back to the department.
    _rule("recheck_uphold", [S.HANDLED, S.CLOSED], None, RECHECKERS, "uphold the result", "upheld",
          note_required=True, closes_handled=True, recheck=True),
    _rule("recheck_reopen", [S.HANDLED, S.CLOSED], S.DISPATCHED, RECHECKERS, "reopen it after the recheck",
          "reopened", note_required=True, stamp="dispatched_at", restart_clocks=True, recheck=True,
          clears=("closed_at", "handled_at", "acknowledged_at")),
    # 延期: asked for by the people working it (with the new deadline), decided by a supervisor.
    _rule("request_extension", [S.ACKNOWLEDGED, S.IN_PROGRESS], None, DOERS, "ask for more time on it",
          "given more time", note_required=True, extension="request"),
    _rule("approve_extension", [S.ACKNOWLEDGED, S.IN_PROGRESS], None, SUPERVISORS, "approve more time for it",
          "given more time", extension="approve"),
    _rule("deny_extension", [S.ACKNOWLEDGED, S.IN_PROGRESS], None, SUPERVISORS, "refuse more time for it",
          "refused more time", extension="deny"),
    # 挂账: the department asks to park a case it cannot solve now (the reason, what it
    # needs, a review date); a supervisor decides. Parked, no clock runs; it comes back
    # on its review date (cases/parking.py) or when the people working it resume it.
    _rule("request_park", [S.ACKNOWLEDGED, S.IN_PROGRESS], None, DOERS, "ask to park it", "asked to be parked",
          note_required=True, park="request"),
    _rule("approve_park", [S.ACKNOWLEDGED, S.IN_PROGRESS], S.PARKED, SUPERVISORS, "park it", "parked",
          park="approve"),
    _rule("deny_park", [S.ACKNOWLEDGED, S.IN_PROGRESS], None, SUPERVISORS, "refuse to park it", "refused parking",
          note_required=True, park="deny"),
    _rule("resume", [S.PARKED], S.IN_PROGRESS, DOERS + OVERSIGHT, "resume it", "resumed", restart_resolve=True,
          clears=("parked_until",), park="resume"),
    # 仲裁: a supervisor decides which department handles a case returned twice; that
    # department acknowledges it on fresh clocks and can no longer return it.
    _rule("arbitrate", [S.ACCEPTED], S.DISPATCHED, SUPERVISORS, "decide its department", "decided",
          note_required=True, stamp="dispatched_at", dispatch_options=True, restart_clocks=True, arbitration=True),
    # 紧急程度: a dispatcher sets another urgency level than the category's for this
    # case, with a reason; the running stages are timed again on its limits.
    _rule("set_urgency", [S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS], None, OVERSIGHT,
          "change its urgency", "given another urgency", note_required=True, urgency=True),
    # 协办: an assisting department signs for its part and reports it (cases/assists.py);
    # the lead handles the case once the parts are in, or goes on without them with a reason.
    _rule("assist_acknowledge", [S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS], None, ASSISTING,
          "acknowledge your part", "acknowledged", part="acknowledge"),
    _rule("assist_report", [S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS], None, ASSISTING, "report your part",
          "reported", note_required=True, photos="optional", photo_kind="assist", part="report"),
    _rule("waive_assists", [S.ACKNOWLEDGED, S.IN_PROGRESS], None, DOERS, "go on without the assisting departments",
          "given up waiting for", note_required=True, part="waive"),
]}

# The actions that send a case to a department (or person), who must hear of it
# and whose acknowledge clock starts: push, group posts and the statistics use this.
DISPATCHING = frozenset(name for name, rule in TRANSITIONS.items() if rule.dispatch_options)

# Workflow order, for telling "not yet" from "no longer" in messages.
ORDER = [S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.PARKED, S.HANDLED, S.CLOSED,
         S.REJECTED]
RANK = {s.value: n for n, s in enumerate(ORDER)}
MAX_ATTEMPTS = 3  # re-decisions when another request moved the case between our read and our write


def rule_for(action):
    if not isinstance(action, str) or not action:
        raise ApiError(422, "required" if not action else "invalid", "action is required.", "action")
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise ApiError(422, "unknown_action",
                       f"Unknown action '{action[:40]}'; one of {', '.join(TRANSITIONS)}.", "action")
    return rule


def permits(rule, actor, case):
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.active:
        return False
    return related(actor, case, rule.who)


def allowed_actions(case, user):
    """The actions `user` could do on `case` in its present status."""
    allowed = [name for name, rule in TRANSITIONS.items()
               if case.status in rule.from_statuses and permits(rule, user, case)]
    if any(TRANSITIONS[name].extension for name in allowed):
        pending = pending_extension(case)
        allowed = [name for name in allowed if TRANSITIONS[name].extension is None
                   or offered(TRANSITIONS[name].extension, pending)]
    now = utcnow()
    allowed = [name for name in allowed if not (TRANSITIONS[name].reopen_window and _reopen_expired(case, now))]
    if any(TRANSITIONS[name].recheck or name == "verify" for name in allowed):
        pending = pending_recheck(case) is not None
        allowed = [name for name in allowed if not (TRANSITIONS[name].recheck and not pending)
                   and not (name == "verify" and pending)]
    if "rate" in allowed and rating_of(case, user) is not None:
        allowed.remove("rate")
    if any(TRANSITIONS[name].park in DECIDED_STEPS for name in allowed):
        pending = pending_park(case)
        allowed = [name for name in allowed if TRANSITIONS[name].park not in DECIDED_STEPS
                   or offered(TRANSITIONS[name].park, pending)]
    return [name for name in allowed if _dispute_refusal(TRANSITIONS[name], case) is None
            and part_refusal(TRANSITIONS[name], case, user) is None]


def reopen_days():
    return current_app.config["REOPEN_DAYS"] if has_app_context() else DEFAULT_REOPEN_DAYS


def _reopen_expired(case, now):
    return case.closed_at is not None and now > case.closed_at + timedelta(days=reopen_days())


def _forbidden(rule, actor, case):
    if "assignee" in rule.who and case.assignee_id is not None and case.assignee_id != actor.id:
        name = case.assignee.display_name if case.assignee else "someone else"
        return WorkflowError(403, "forbidden", f"This case has been reassigned to {name}; "
                             f"you can no longer {rule.verb}.", case)
    who = [RELATIONS[name].who for name in rule.who]
    listed = who[0] if len(who) == 1 else ", ".join(who[:-1]) + " or " + who[-1]
    return WorkflowError(403, "forbidden", f"You cannot {rule.verb}: only {listed} can.", case)


def _not_now(rule, case):
    word = STATUS_WORDS.get(case.status, case.status)
    if RANK.get(case.status, 0) < min(RANK[s] for s in rule.from_statuses):
        message = f"This case is {word}; it cannot be {rule.done} yet."
    else:
        message = f"This case is {word} now; it can no longer be {rule.done}."
    return WorkflowError(409, "transition_not_allowed", message, case)


def _has_after_photo(case):
    if case.id is None:
        return any(p.kind == "after" for p in case.photos)
    return bool(db.session.scalar(
        select(func.count(Photo.id)).where(Photo.case_id == case.id, Photo.kind == "after")))


def check_permission(case, action, actor):
    """Raise the 403 of `action` on `case` for `actor`, if it is one: asked before
    any target of the action is looked up, so that whoever may not act learns
    nothing of which cases and people exist."""
    rule = rule_for(action)
    if not permits(rule, actor, case):
        raise _forbidden(rule, actor, case)
    return rule


def check_action(case, action, actor, *, note=None, photo_count=0, assignee=None, department=None, until=None,
                 into=None, rating=None, urgency=None, needs=None, assisting=None, system=False):
    """Raise the error `apply_action` would raise for this, without writing anything.
    Order: who (403; not asked of the system's own steps), then the status (409:
    also the reopen window and pending requests), then what the action needs (422)."""
    rule = rule_for(action) if system else check_permission(case, action, actor)
    if case.status not in rule.from_statuses:
        raise _not_now(rule, case)
    if rule.reopen_window and _reopen_expired(case, utcnow()):
        days = reopen_days()
        raise WorkflowError(409, "reopen_window_passed",
                            f"This case was closed on {isoformat(case.closed_at)}; it can only be {rule.done} "
                            f"within {days} day{'s' if days != 1 else ''} of closing.", case)
    _check_dispute(rule, case)
    refusal = part_refusal(rule, case, actor)
    if refusal is not None:
        raise refusal
    check_recheck(rule, case)
    check_rating(rule, case, actor, rating, note)
    check_extension(rule, case, until)
    check_park(rule, case, until, needs)
    if until is not None and rule.extension != "request" and rule.park != "request":
        raise ApiError(422, "invalid", "A date (until) can only be given with 'request_extension' (the new "
                       "deadline) or 'request_park' (the review date).", "until")
    if rule.note_required and not clean_note(note):
        raise ApiError(422, "note_required", f"Say why (a note is required to {rule.verb}).", "note")
    if rule.photos == "none" and photo_count:
        raise ApiError(422, "photos_not_allowed", f"Photos cannot be sent with '{action}'.", "photo")
    if rule.photos == "required" and not photo_count:
        raise ApiError(422, "photo_required", "Add at least one photo.", "photo")
    if rule.after_photo_check and case.category.after_photo_required and not photo_count \
            and not _has_after_photo(case):
        raise ApiError(422, "after_photo_required",
                       "This kind of case needs a photo taken after the work; add one to mark it handled.", "photo")
    if not rule.dispatch_options and (assignee is not None or department is not None):
        raise ApiError(422, "invalid", "An assignee or department can only be given with 'dispatch'.",
                       "assignee_id" if assignee is not None else "department")
    if rule.dispatch_options and department is None and assignee is None and case.department_id is None:
        raise ApiError(422, "department_required", "Choose the department (or person) to dispatch it to.",
                       "department")
    if assignee is not None and (not assignee.active or not assignee.is_staff):
        raise ApiError(422, "invalid", "A case can only be assigned to active staff.", "assignee_id")
    if rule.redirect:
        _check_redirect(case, assignee, department)
    check_merge_target(rule, case, into)
    _check_urgency(rule, case, urgency)
    check_assisting(rule, case, department, assisting)
    return rule


def _check_dispute(rule, case):
    refusal = _dispute_refusal(rule, case)
    if refusal is not None:
        raise refusal


def _dispute_refusal(rule, case):
    """The 409 of a disputed case, or None: a supervisor decides a case returned
    twice, and once decided it stays with the department decided on. Both the check
    and allowed_actions ask this."""
    if rule.arbitration and case.dispute != "arbitration":
        return WorkflowError(409, "no_arbitration_pending", "This case is not waiting for arbitration: it was not "
                             "returned twice; dispatch it as usual.", case)
    if rule.action == "dispatch" and case.dispute == "arbitration":
        return WorkflowError(409, "arbitration_pending", "This case was returned twice: a supervisor decides which "
                             "department handles it (arbitrate).", case)
    if rule.action == "return" and case.dispute == "decided":
        return WorkflowError(409, "department_decided", "A supervisor decided that this case is yours; it can no "
                             "longer be returned. Ask for more time if you need it.", case)
    return None


def returns_of(case):
    """How many times `case` has been returned (退回)."""
    return db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id,
                                                                    CaseEvent.action == "return"))


def _check_urgency(rule, case, urgency):
    from .urgency import LEVELS

    if not rule.urgency:
        if urgency is not None:
            raise ApiError(422, "invalid", "An urgency level can only be given with 'set_urgency'.", "urgency")
        return
    if urgency is None:
        raise ApiError(422, "required", f"Choose the urgency level: one of {', '.join(LEVELS)}.", "urgency")
    if urgency not in LEVELS:
        raise ApiError(422, "invalid", f"Unknown urgency level '{urgency[:20]}'; one of {', '.join(LEVELS)}.",
                       "urgency")
    if urgency == case.urgency:
        raise ApiError(422, "same_urgency", f"The case is at the level '{urgency}' already.", "urgency")


def _check_redirect(case, assignee, department):
    if department is None and assignee is None:
        raise ApiError(422, "department_required", "Choose the department (or person) to send it to instead.",
                       "department")
    if assignee is None and department.id == case.department_id:
        raise ApiError(422, "same_department", f"It is with {department.name} already; choose another department "
                       "or a person.", "department")


def fingerprint(case_id, action, note=None, at=None, photo_hashes=(), assignee_id=None, department_code=None,
                until=None, into_ref=None, rating=None, urgency=None, needs=None, assisting=None):
    """SHA-256 over what an action says: tells a replay (same) from a reuse of its client_id."""
    content = {"case": case_id, "action": action, "note": clean_note(note),
               "at": isoformat(at), "photos": list(photo_hashes),
               "assignee": assignee_id, "department": department_code}
    if until is not None:  # only when given: older fingerprints stay the same
        content["until"] = isoformat(until)
    if into_ref is not None:
        content["into"] = into_ref
    if rating is not None:
        content["rating"] = rating
    if urgency is not None:
        content["urgency"] = urgency
    if needs is not None:
        content["needs"] = needs
    if assisting is not None:
        content["assisting"] = list(assisting)
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def apply_action(case, action, actor, *, client_id, note=None, photos=(), at=None, assignee=None, department=None,
                 until=None, into=None, rating=None, urgency=None, needs=None, assisting=None, system=False):
    """Do `action` on `case` as `actor`; returns the one CaseEvent written.

    `photos` are unsaved Photo rows (their files written already); they are kept
    as kind "after". `at` is when the device says it was done (naive UTC, kept in
    the event's data as device_at); the event and step times are the server's.
    `until` (naive UTC) is the new resolve deadline a "request_extension" asks for;
    `into` the open Case a "merge" adds this duplicate to; `rating` the score a "rate" gives;
    `urgency` the level a "set_urgency" sets; `until` and `needs` the review date and
    what it needs of a "request_park"; `assisting` the Departments a dispatching
    action names to assist the lead (协办; None: as they are). `system`: a step the app takes itself (a
    parked case back on its review date), with no actor and no permission asked.
    Raises WorkflowError (403 forbidden, 409 transition_not_allowed and the like) or ApiError (422).
    Flushes nothing but the status change; the caller commits or rolls back.
    """
    photos = list(photos)
    note = clean_note(note)
    for _attempt in range(MAX_ATTEMPTS):
        rule = check_action(case, action, actor, note=note, photo_count=len(photos), assignee=assignee,
                            department=department, until=until, into=into, rating=rating, urgency=urgency,
                            needs=needs, assisting=assisting, system=system)
        from_status, case_urgency_before = case.status, case.urgency
        now = utcnow()
        to_status, stamp = _target(rule, from_status, rating)
        values = {"updated_at": now, "status": to_status}
        for column in rule.clears:
            values[column] = None
        if stamp:
            values[stamp] = now
        if rule.restart_clocks:
            values["ack_due_at"], values["resolve_due_at"] = _fresh_deadlines(case, now, department)
        if rule.restart_resolve:
            values["resolve_due_at"] = _fresh_deadlines(case, now)[1]
        pending = pending_extension(case) if rule.extension in ("approve", "deny") else None
        if rule.extension == "approve":
            values["resolve_due_at"] = pending.until
        if rule.park == "approve":
            values["parked_until"] = parked_until(rule, case)
        if rule.action == "return" and returns_of(case) >= 1:
            values["dispute"] = "arbitration"  # the second return: a supervisor decides
        if rule.arbitration:
            values["dispute"] = "decided"
        if rule.urgency:
            values["urgency"] = urgency
            values["ack_due_at"], values["resolve_due_at"] = _retimed_deadlines(case, urgency)
        if assignee is not None:
            values.update(assignee_id=assignee.id, assigned_at=now)
        if department is not None:
            values["department_id"] = department.id
        if into is not None:
            values["merged_into_id"] = into.id
        result = db.session.execute(
            update(Case).where(Case.id == case.id, Case.status == from_status).values(**values)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            break
        # Another request moved the case between our read and our write: decide
        # again on what it is now (the rule may refuse, or still allow, the action).
        db.session.refresh(case)
    else:
        raise _not_now(rule, case)

    for key, value in values.items():
        set_committed_value(case, key, value)  # as written: no second UPDATE at flush
    if assignee is not None or department is not None or rule.clears:
        db.session.expire(case, ["assignee", "department"])

    first_position = len(case.photos)
    for offset, photo in enumerate(photos):
        photo.kind, photo.position = rule.photo_kind, first_position + offset
        case.photos.append(photo)

    data = {"photos": len(photos),
            "content_hash": fingerprint(case.id, action, note, at, [p.sha256 for p in photos],
                                        assignee.id if assignee else None, department.code if department else None, until,
                                        into.ref if into is not None else None, rating, urgency, needs,
                                        [d.code for d in assisting] if assisting is not None else None),
            "device_at": isoformat(at)}
    if assignee is not None:
        data["assignee_id"] = assignee.id
    if department is not None:
        data["department"] = department.code
    if rule.clears and (from_status != values["status"]):
        data["cleared"] = list(rule.clears)
    if rule.restart_clocks:
        data.update(ack_due_at=isoformat(values["ack_due_at"]), resolve_due_at=isoformat(values["resolve_due_at"]))
    if rule.restart_resolve:
        data["resolve_due_at"] = isoformat(values["resolve_due_at"])
    if rule.extension:
        data.update(record_extension(rule, case, actor, until=until, note=note, pending=pending, now=now))
    if into is not None:
        data.update(into=into.ref, **merge(case, into, actor, now))
    if rule.rating:
        data.update(rating=rating, **rate(case, actor, rating, note, now))
    if rule.recheck:
        data.update(decide_recheck(rule, case, actor, note, now))
    if rule.park:
        data.update(record_park(rule, case, actor, until=until, needs=needs, note=note, now=now))
    if values.get("dispute") == "arbitration":
        data["arbitration"] = True
    named = {}  # the departments whose parts the stages start or end, by code
    if assisting is not None:
        data["assisting"] = [d.code for d in assisting]
        named = {d.code: d for d in assisting}
    if rule.part in ("acknowledge", "report"):
        data["part"] = actor.department.code
        named = {actor.department.code: actor.department}
    if rule.urgency:
        data.update(urgency=urgency, from_urgency=case_urgency_before, ack_due_at=isoformat(values["ack_due_at"]),
                    resolve_due_at=isoformat(values["resolve_due_at"]))
    event = CaseEvent(case=case, actor=actor, action=action, from_status=from_status,
                      to_status=to_status, note=note, data=data, client_id=client_id,
                      created_at=now)
    db.session.add(event)
    # The stages it ends and starts; the roll-ups count the ended ones' on-time flags.
    event.stages_ended = stages.advance(case, event, named)
    action_applied.send(case, event=event, actor=actor, rule=rule)
    return event


def _target(rule, from_status, rating):
    """The status an action moves to, and the step time it stamps."""
    if rule.closes_handled:
        if from_status == S.HANDLED.value and rating != Score.UNSATISFIED.value:
            return S.CLOSED.value, "closed_at"
        return from_status, None
    return rule.to_status or from_status, rule.stamp


def _fresh_deadlines(case, now, department=None):
    """Both deadlines counted again from `now` (a dispatched, reopened or re-routed
    case), by the case's category and urgency, on the working hours of the
    department it goes to."""
    from .deadlines import WorkingClock, clock_for

    clock = clock_for(current_app, department or case.department) if has_app_context() else WorkingClock()
    return clock.deadlines(now, case.category, case.urgency)


def _retimed_deadlines(case, level):
    """The case's (acknowledge by, resolve by) at urgency `level`, counted from when
    its department's stages started: the running acknowledgement's start (both),
    else the running handling's start (the resolve deadline; the acknowledgement is
    past), else the report's arrival (a case not yet dispatched)."""
    from .deadlines import WorkingClock, clock_for
    from .urgency import limit_for

    clock = clock_for(current_app, case.department) if has_app_context() else WorkingClock()
    running = {row.stage: row for row in case.stages if row.done_at is None}
    if "handle" in running:
        return case.ack_due_at, clock.due(running["handle"].started_at, limit_for("handle", case.category, level))
    start = running["acknowledge"].started_at if "acknowledge" in running else case.received_at
    return clock.deadlines(start, case.category, level)
