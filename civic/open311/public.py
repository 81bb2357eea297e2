"""Requests as the public sees them, as the public board shows cases: screened
ones (and those this channel filed), no reporter, phone and ID numbers masked,
the point rounded to about 100 m, the grid for an address."""
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..cases.access import public_clause
from ..cases.models import Case, CaseEvent, Channel, Status
from ..cases.privacy import PUBLIC_NOTE_ACTIONS, scrub
from ..extensions import db
from ..grids.models import Category
from ..timeutil import local_zone, utcnow
from ..urls import external_url
from .catalogue import service_notice
from .formats import Open311Error


MAX_IDS = 100
LIST_LIMIT = 1000
DEFAULT_DAYS = 90
CLOSED_STATUSES = (Status.CLOSED.value, Status.REJECTED.value)


def w3c(at):
    """A naive UTC datetime as W3C / ISO 8601 with the city's offset, e.g. 2026-12-01T10:30:00+08:00."""
    if at is None:
        return None
    tz = local_zone()
    return at.replace(tzinfo=timezone.utc, microsecond=0).astimezone(tz).isoformat()


def parse_w3c(raw, name):
    """A W3C datetime (2026-12-01T10:30:00+08:00, …Z, or a date) as naive UTC; 400 when it is not one."""
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if "\x00" in text or len(text) > 40:
        raise Open311Error(400, f"{name}: not a W3C datetime.")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name}: not a W3C datetime (e.g. 2026-12-01T10:30:00+08:00).") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    try:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise Open311Error(400, f"{name}: out of range.") from None


def _visible():
    """The public's cases (cases/access.py), and every case filed through this API:
    its filer asked to follow it."""
    return public_clause() | (Case.channel == Channel.OPEN311.value)


def find_requests(ids):
    refs = [i.strip() for i in ids.split(",") if i.strip()]
    if not refs or len(refs) > MAX_IDS or any(len(r) > 32 or "\x00" in r for r in refs):
        raise Open311Error(400, f"service_request_id: 1 to {MAX_IDS} comma-separated ids.")
    found = db.session.scalars(select(Case).where(Case.ref.in_(refs), _visible())).all()
    by_ref = {c.ref: c for c in found}
    return [by_ref[r] for r in dict.fromkeys(refs) if r in by_ref]


def find_request(ref):
    if not ref or len(ref) > 32:
        return None
    return db.session.scalar(select(Case).where(Case.ref == ref, _visible()))


def find_by_token(token):
    try:
        client_id = str(uuid.UUID(token))
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(Case).where(Case.client_id == client_id, Case.channel == Channel.OPEN311.value))


def list_requests(args, *, now=None):
    """GET requests: service_code, start_date, end_date (at most 90 days apart;
    the last 90 days by default), status (open, closed or both); newest first,
    at most 1000."""
    now = now or utcnow()
    stmt = select(Case).where(_visible())
    code = args.get("service_code")
    if code:
        category = db.session.scalar(select(Category).where(Category.code == code[:16]))
        if category is None or len(code) > 16:
            raise Open311Error(400, f"service_code: no service '{code[:40]}'.")
        stmt = stmt.where(Case.category_id == category.id)
    start, end = parse_w3c(args.get("start_date"), "start_date"), parse_w3c(args.get("end_date"), "end_date")
    if start is None and end is None:
        end, start = now, now - timedelta(days=DEFAULT_DAYS)
    elif start is None:
        start = end - timedelta(days=DEFAULT_DAYS)
    elif end is None:
        end = min(now, start + timedelta(days=DEFAULT_DAYS)) if start < now else start + timedelta(days=DEFAULT_DAYS)
    if end < start:
        raise Open311Error(400, "end_date: before start_date.")
    if end - start > timedelta(days=DEFAULT_DAYS):
        raise Open311Error(400, f"start_date, end_date: at most {DEFAULT_DAYS} days apart.")
    stmt = stmt.where(Case.received_at >= start, Case.received_at <= end)
    status = args.get("status")
    if status:
        wanted = {s.strip() for s in status.split(",") if s.strip()}
        if not wanted or not wanted <= {"open", "closed"}:
            raise Open311Error(400, "status: open, closed, or open,closed.")
        if wanted == {"open"}:
            stmt = stmt.where(Case.status.not_in(CLOSED_STATUSES))
        elif wanted == {"closed"}:
            stmt = stmt.where(Case.status.in_(CLOSED_STATUSES))
    return db.session.scalars(stmt.order_by(Case.received_at.desc(), Case.id.desc()).limit(LIST_LIMIT)).all()


def request_dicts(cases):
    """Cases as GeoReport requests: nothing about who reported them. Their latest
    public replies and report events are read in two queries for the whole list,
    and their relations in one each, not per case."""
    ids = [c.id for c in cases]
    if not ids:
        return []
    notes, reports = {}, {}
    for case_id, note in db.session.execute(
            select(CaseEvent.case_id, CaseEvent.note).where(CaseEvent.case_id.in_(ids),
                                                           CaseEvent.action.in_(PUBLIC_NOTE_ACTIONS),
                                                           CaseEvent.note.is_not(None))
            .order_by(CaseEvent.id)):
        notes[case_id] = note  # the later reply wins
    for case_id, data in db.session.execute(select(CaseEvent.case_id, CaseEvent.data)
                                            .where(CaseEvent.case_id.in_(ids), CaseEvent.action == "report")):
        reports.setdefault(case_id, data or {})
    loaded = {c.id: c for c in db.session.scalars(
        select(Case).where(Case.id.in_(ids)).options(
            selectinload(Case.category), selectinload(Case.department), selectinload(Case.grid),
            selectinload(Case.photos)))}
    return [_request_dict(loaded[i], notes.get(i), reports.get(i, {})) for i in ids]


def _request_dict(case, note, report_data):
    category = case.category
    photo = case.photos[0] if case.photos else None
    media = external_url("media.photo", key=photo.display_key) if photo else report_data.get("media_url")
    where = " ".join(x for x in ((case.grid.street if case.grid else None), (case.grid.name if case.grid else None))
                     if x) or None
    return {
        "service_request_id": case.ref,
        "status": "closed" if case.status in CLOSED_STATUSES else "open",
        "status_notes": scrub(note) if note else None,
        "service_name": category.name_zh,
        "service_code": category.code,
        "description": scrub(case.description) or None,
        "agency_responsible": case.department.name if case.department else None,
        "service_notice": service_notice(category),
        "requested_datetime": w3c(case.received_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.resolve_due_at),
        "address": where,
        "address_id": None,
        "zipcode": None,
        "lat": round(case.lat, 3) if case.lat is not None else None,
        "long": round(case.lng, 3) if case.lng is not None else None,
        "media_url": media,
    }
