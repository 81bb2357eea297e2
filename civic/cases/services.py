"""Opening cases and recording what happens to them. No request objects here:
callers pass plain values and commit once."""
from blinker import Namespace
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import text

from ..extensions import db
from ..timeutil import isoformat, utcnow
from . import stages
from .models import Case, CaseEvent, Status

REF_PREFIX = "CG"

# case_opened.send(case, event=…): a new case and its "report" event were added, not yet committed.
case_opened = Namespace().signal("case-opened")


def make_ref(case):
    """Public reference CG-2026-000123: the year received and the case's id."""
    return f"{REF_PREFIX}-{case.received_at.year}-{case.id:06d}"


def reserve_id():
    """The next case id from PostgreSQL's sequence, so the INSERT carries the
    reference it makes (no UPDATE of the new row); None on SQLite, which has no
    sequence: there the id comes with the INSERT (an in-process call, not a round trip)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return db.session.scalar(_NEXT_CASE_ID)


_NEXT_CASE_ID = text("SELECT nextval(pg_get_serial_sequence('cases', 'id'))")


def set_location(case, lat, lng):
    case.lat, case.lng = lat, lng
    case.point = None if lat is None else from_shape(Point(lng, lat), srid=4326)


def record_event(case, action, actor=None, *, from_status=None, to_status=None, note=None, data=None, at=None):
    event = CaseEvent(case=case, actor=actor, action=action, from_status=from_status, to_status=to_status,
                      note=note, data=data, created_at=at or utcnow())
    db.session.add(event)
    return event


def open_case(*, client_id, content_hash, channel, reporter, category, description, lat, lng,
              location_source, accuracy_m, address, captured_at, grid, department, deadlines,
              photos, received_at=None, note=None, actor=None, caller_phone=None, poster=None, extra=None,
              location_flags=None):
    """Add a new case with its photos and its first event; flushes, does not commit.
    `actor` files it when that is not the reporter (a hotline operator taking a
    call: no reporter account, the caller's number in `caller_phone`). `poster`: the
    QR poster the report was started from, if any. `extra`: more facts for the
    report event's data (an Open311 request's attributes, media URL, contact).
    `location_flags`: what the place checks found (intake/place_checks.py)."""
    received_at = received_at or utcnow()
    case = Case(
        client_id=client_id,
        content_hash=content_hash,
        channel=channel,
        reporter=reporter,
        category=category,
        description=description,
        location_source=location_source,
        accuracy_m=accuracy_m,
        address=address,
        captured_at=captured_at,
        received_at=received_at,
        grid=grid,  # the object, not its id: the answer reads its name without another query
        department=department,
        status=Status.REPORTED.value,
        ack_due_at=deadlines[0],
        resolve_due_at=deadlines[1],
        photos=photos,
        caller_phone=caller_phone,
        poster=poster,
        urgency=category.urgency,
        location_flags=location_flags or None,
    )
    set_location(case, lat, lng)
    case.id = reserve_id()
    if case.id is not None:
        case.ref = make_ref(case)
    stages.opened(case, received_at)  # its accept stage, written with it
    db.session.add(case)
    if case.id is None:
        db.session.flush()  # SQLite: the id comes with the INSERT; the reference follows
        case.ref = make_ref(case)
    # The routing and deadlines it started with: later actions may change them, and
    # the statistics replay a case's history from its events (civic/stats).
    event = record_event(case, "report", actor or reporter, to_status=case.status, note=note, at=received_at,
                         data={**(extra or {}), "channel": channel, "photos": len(photos),
                               "department_id": department.id if department else None,
                               "ack_due_at": isoformat(deadlines[0]), "resolve_due_at": isoformat(deadlines[1])})
    case_opened.send(case, event=event)
    return case
