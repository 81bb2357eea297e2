"""Idempotent task actions from devices: one action done on a phone (often
offline, sent later, maybe several times) becomes exactly one CaseEvent.

The phone makes a `client_id` (UUID) for each action. The same client_id with
the same content from the same user is a replay and answers with the event
already written; with other content, or from someone else, it is a conflict.
Concurrent replays meet either the conditional status update (the case has
moved on) or the unique constraint on case_events.client_id: the loser rolls
back, removes the files it wrote and answers as a replay.

Order of work, as for reports (intake.py): validate and inspect the photos in
memory, check the rule, render, write the files, then one transaction for the
status, the photos and the event; files are removed again if it fails.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..cases import workflow
from ..cases.access import can_view_case
from ..cases.models import Case, CaseEvent
from ..cases.assists import MAX_ASSISTING
from ..cases.parking import NEEDS_MAX
from ..errors import ApiError
from ..extensions import db
from ..grids.models import Department
from ..photos.storage import get_storage
from ..transaction import create_or_replay, on_failure
from . import fields
from . import photos as photo_steps
from .fields import invalid

AT_FUTURE_SLACK = timedelta(days=1)  # phone clocks drift; a day ahead is a wrong clock


@dataclass(frozen=True)
class ActionMeta:
    client_id: str
    action: str
    note: str | None
    at: datetime | None
    assignee_id: int | None
    department: str | None
    until: datetime | None = None  # request_extension: the new resolve deadline asked for
    into: str | None = None        # merge: the ref of the case this one duplicates
    rating: str | None = None      # rate: satisfied, basic or unsatisfied
    urgency: str | None = None     # set_urgency: emergency, urgent, normal or complex
    needs: str | None = None       # request_park: what the case needs to be solved
    assisting: tuple | None = None  # dispatch, reroute, arbitrate: the assisting departments' codes (协办)


@dataclass
class ActionResult:
    event: CaseEvent
    created: bool


def _assignee_id(data):
    value = data.get("assignee_id")
    if value is None:
        return None
    if not fields.is_integer(value) or not 0 < value < 2**31:  # an INTEGER id on PostgreSQL
        raise invalid("assignee_id", "assignee_id must be a user id.")
    return value


def _assisting(data):
    value = data.get("assisting")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(code, str) and 0 < len(code.strip()) <= 32 for code in value):
        raise invalid("assisting", "assisting must be a list of department codes.")
    if len(value) > MAX_ASSISTING:
        raise ApiError(422, "too_many", f"At most {MAX_ASSISTING} assisting departments.", "assisting")
    return tuple(code.strip() for code in value)


def parse_action(raw, *, note_max):
    """`raw` is the JSON text of the action (the body, or the 'meta' part), or a dict."""
    data = fields.json_object(raw, missing="The action has no 'meta' part.",
                              not_json="The action is not valid JSON.", not_object="The action must be a JSON object.")
    client_id = fields.client_id(data)
    action = data.get("action")
    if action is None or action == "":
        raise invalid("action", "action is required.", "required")
    if not isinstance(action, str):
        raise invalid("action", "action must be text.")
    workflow.rule_for(action)  # 422 on an unknown action
    return ActionMeta(client_id=client_id, action=action, note=fields.text(data, "note", note_max) or None,
                      at=fields.timestamp(data, "at", AT_FUTURE_SLACK), assignee_id=_assignee_id(data),
                      department=fields.text(data, "department", 32) or None,
                      until=fields.timestamp(data, "until"), into=fields.text(data, "into", 32) or None,
                      rating=fields.text(data, "rating", 16) or None,
                      urgency=fields.text(data, "urgency", 16) or None,
                      needs=fields.text(data, "needs", NEEDS_MAX) or None, assisting=_assisting(data))


def find_event(client_id):
    return db.session.scalar(select(CaseEvent).where(CaseEvent.client_id == client_id))


def _replay(existing, case, fingerprint, user):
    data = existing.data or {}
    if existing.case_id == case.id and existing.actor_id == user.id and data.get("content_hash") == fingerprint:
        return ActionResult(existing, created=False)
    raise ApiError(409, "client_id_conflict",
                   "This client_id was already used for a different action.", "client_id")


def _merge_target(meta, user):
    """The case to merge into: one that does not exist and one the user may not see
    get the same answer."""
    if meta.into is None:
        return None
    into = db.session.scalar(select(Case).where(Case.ref == meta.into))
    if into is None or not can_view_case(user, into):
        raise invalid("into", f"No case {meta.into}.")
    return into


def _dispatch_targets(meta):
    assignee = department = None
    if meta.assignee_id is not None:
        assignee = db.session.get(User, meta.assignee_id)
        if assignee is None or not assignee.active or not assignee.is_staff:  # the same answer for both
            raise invalid("assignee_id", "A case can only be assigned to active staff.")
    if meta.department is not None:
        department = db.session.scalar(select(Department).where(Department.code == meta.department,
                                                                Department.active.is_(True)))
        if department is None:
            raise invalid("department", f"Unknown department '{meta.department}'.")
    return assignee, department


def _assisting_departments(meta):
    """The named assisting departments, active ones only (None when none were named)."""
    if meta.assisting is None:
        return None
    found = {d.code: d for d in db.session.scalars(select(Department).where(Department.code.in_(meta.assisting),
                                                                           Department.active.is_(True)))}
    unknown = [code for code in meta.assisting if code not in found]
    if unknown:
        raise invalid("assisting", f"Unknown department '{unknown[0][:32]}'.")
    return [found[code] for code in meta.assisting]


def submit_action(case, meta, uploads, user):
    """Apply `meta` (a parsed ActionMeta) with the photos' bytes `uploads` to `case`."""
    config = current_app.config
    photo_steps.check_count(uploads, config)
    inspected = photo_steps.inspect_all(uploads, config)
    fingerprint = workflow.fingerprint(case.id, meta.action, meta.note, meta.at, [i.sha256 for i in inspected],
                                       meta.assignee_id, meta.department, meta.until, meta.into, meta.rating,
                                       meta.urgency, meta.needs, meta.assisting)
    existing = find_event(meta.client_id)
    if existing is not None:
        return _replay(existing, case, fingerprint, user)

    workflow.check_permission(case, meta.action, user)  # 403 before any target is looked up
    assignee, department = _dispatch_targets(meta)
    assisting = _assisting_departments(meta)
    into = _merge_target(meta, user)
    workflow.check_action(case, meta.action, user, note=meta.note, photo_count=len(inspected),
                          assignee=assignee, department=department, until=meta.until, into=into,
                          rating=meta.rating, urgency=meta.urgency, needs=meta.needs, assisting=assisting)
    rendered = photo_steps.render_all(inspected, config)

    storage = get_storage(current_app)

    def create():
        written_keys = []
        on_failure(lambda: photo_steps.remove(storage, written_keys), unless_commit_failed=True)
        photos = photo_steps.write_photos(storage, inspected, rendered, written_keys,
                                          kind=workflow.rule_for(meta.action).photo_kind)
        event = workflow.apply_action(case, meta.action, user, client_id=meta.client_id, note=meta.note,
                                      photos=photos, at=meta.at, assignee=assignee, department=department,
                                      until=meta.until, into=into, rating=meta.rating, urgency=meta.urgency,
                                      needs=meta.needs, assisting=assisting)
        return ActionResult(event, created=True)

    # A concurrent twin may have won: its event answers this request too (its
    # status change makes this one's a 409, or its client_id the unique key's error).
    try:
        return create_or_replay(lambda: find_event(meta.client_id), create,
                                lambda found: _replay(found, case, fingerprint, user),
                                conflicts=(IntegrityError, ApiError))
    except IntegrityError:
        # Not a replay: another request took a one-at-a-time place at the same moment
        # (the case's one pending extension or park request). Decide again on what is
        # there now: this request gets the refusal it would have had a moment later.
        db.session.expire_all()
        workflow.check_action(db.session.get(Case, case.id), meta.action, user, note=meta.note,
                              photo_count=len(inspected), assignee=assignee, department=department,
                              until=meta.until, into=into, rating=meta.rating, urgency=meta.urgency,
                              needs=meta.needs, assisting=assisting)
        raise  # still allowed: a fault of another kind, not the user's
