"""GeoReport v2 on top of the category catalogue and the case workflow.

- Services are the active categories: service_code = category code, group = its
  CJ/T 214 class, keywords from its names. Attributes are data-driven per kind:
  a component (部件) asks which one and what is wrong with it, an event (事件)
  how large it is.
- A request filed here enters the same workflow as a phone's report: located in
  a grid, routed to a department, given working-time deadlines, channel
  "open311", no reporter account (the key's system files it). A retry of the
  same request on the same day by the same key is the same case, never a second.
- Requests are shown as the public board shows cases: screened ones (and those
  this channel filed), no reporter, phone and ID numbers masked, the point
  rounded to about 100 m, the grid for an address.
No request objects here: the blueprint parses and formats.
"""
import hashlib
import math
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from .. import phones
from ..cases import services as cases
from ..cases.access import public_clause
from ..cases.deadlines import clock_for
from ..cases.models import Case, CaseEvent, Channel, LocationSource, Status
from ..cases.privacy import PUBLIC_NOTE_ACTIONS, scrub
from ..extensions import db
from ..grids.models import Category
from ..timeutil import local_zone, utcnow
from ..urls import external_url
from ..transaction import create_or_replay
from ..intake.reports import placement
from ..grids.coordinates import OutOfRange, parse_degrees
from ..grids import catalogue
from .models import ApiKey

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DESCRIPTION_MAX = 4000
TEXT_MAX = 200
URL_MAX = 2000
MAX_IDS = 100
LIST_LIMIT = 1000
DEFAULT_DAYS = 90
CLOSED_STATUSES = (Status.CLOSED.value, Status.REJECTED.value)
REQUEST_NAMESPACE = uuid.UUID("5f0f3c1e-7d0a-4c5e-9a59-3b1c0e6d3111")


class Open311Error(Exception):
    """An answer of the specification's error list: [{code, description}]."""

    def __init__(self, status, description):
        super().__init__(description)
        self.status, self.description = status, description


# -- keys -----------------------------------------------------------------------------

def _hash(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(name, created_by=None):
    """A new key for the system `name`: (the key, its row). The key is shown once."""
    name = (name or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise ValueError("A key needs a name of 1 to 100 characters.")
    raw = secrets.token_urlsafe(24)
    key = ApiKey(name=name, key_hash=_hash(raw), prefix=raw[:6], created_by=created_by)
    db.session.add(key)
    db.session.flush()
    return raw, key


def find_key(raw):
    """The active key `raw` is, or None."""
    if not raw or len(raw) > 200:
        return None
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(raw), ApiKey.revoked_at.is_(None)))


def revoke_key(key):
    if key.revoked_at is None:
        key.revoked_at = utcnow()


# -- services ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    description: str
    required: bool = False
    datatype_description: str = ""
    values: tuple = ()  # (key, name)
    order: int = 1
    variable: bool = True

    def as_dict(self):
        return {"variable": self.variable, "code": self.code, "datatype": self.datatype, "required": self.required,
                "datatype_description": self.datatype_description or None, "order": self.order,
                "description": self.description, "values": [{"key": k, "name": n} for k, n in self.values]}


ATTRIBUTES = {
    "component": (
        Attribute("component_id", "string", "部件编号 Component number (CJ/T 214)",
                  datatype_description="16 digits: county code (6), class (2), subclass (2), serial (6)", order=1),
        Attribute("damage", "singlevaluelist", "损坏情况 What is wrong with it", required=True, order=2,
                  values=(("missing", "缺失 missing"), ("broken", "破损 broken"), ("displaced", "移位 displaced"),
                          ("dirty", "污损 dirty"), ("other", "其他 other"))),
    ),
    "event": (
        Attribute("scale", "singlevaluelist", "规模 How large", order=1,
                  values=(("small", "较小 small"), ("medium", "一般 medium"), ("large", "较大 large"))),
    ),
}
COMPONENT_ID = re.compile(r"^\d{16}$")


def attributes_for(category):
    return ATTRIBUTES.get(category.kind, ())


def active_categories():
    return catalogue.active_categories()


def find_service(code):
    if not code or len(code) > 16:
        return None
    return catalogue.active_category(code)


def service_dict(category):
    kind = "部件 component" if category.kind == "component" else "事件 event"
    return {
        "service_code": category.code,
        "service_name": category.name_zh,
        "description": f"{category.name_zh} ({category.name_en}) · {category.class_name} · {kind}",
        "metadata": bool(attributes_for(category)),
        "type": "realtime",
        "keywords": ",".join(dict.fromkeys([category.name_zh, category.name_en, category.class_name, kind])),
        "group": category.class_name,
    }


def service_definition(category):
    return {"service_code": category.code, "attributes": [a.as_dict() for a in attributes_for(category)]}


# -- filing a request -------------------------------------------------------------------

@dataclass
class NewRequest:
    category: Category
    lat: float | None = None
    lng: float | None = None
    address: str | None = None
    address_id: str | None = None
    attributes: dict = field(default_factory=dict)
    description: str = ""
    media_url: str | None = None
    phone: str | None = None
    contact: dict = field(default_factory=dict)  # email, first_name, last_name, account_id, device_id

    def canonical(self):
        parts = [self.category.code, repr(self.lat), repr(self.lng), self.address or "", self.address_id or "",
                 repr(sorted(self.attributes.items())), self.description, self.media_url or "", self.phone or "",
                 repr(sorted(self.contact.items()))]
        return "\x1f".join(parts)


def _text(form, name, limit=TEXT_MAX):
    value = form.get(name)
    if value is None:
        return None
    value = value.strip()
    if "\x00" in value:
        raise Open311Error(400, f"{name}: NUL characters are not allowed.")
    if len(value) > limit:
        raise Open311Error(400, f"{name}: at most {limit} characters.")
    return value or None


def _coordinate(form, name, low, high):
    try:
        return parse_degrees(_text(form, name, 40), low, high)
    except OutOfRange:
        raise Open311Error(400, f"{name}: must be between {low} and {high}.") from None
    except ValueError:
        raise Open311Error(400, f"{name}: a decimal number (WGS84 degrees) is expected.") from None


PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,18}[0-9]$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)

def parse_request(form):
    """The POST form (a MultiDict) as a NewRequest, or Open311Error 400 naming the field."""
    code = _text(form, "service_code", 16)
    if code is None:
        raise Open311Error(400, "service_code: required.")
    category = find_service(code)
    if category is None:
        raise Open311Error(400, f"service_code: no service '{code}'.")
    new = NewRequest(category=category)
    new.lat, new.lng = _coordinate(form, "lat", -90, 90), _coordinate(form, "long", -180, 180)
    if (new.lat is None) != (new.lng is None):
        raise Open311Error(400, "lat and long: both are needed.")
    new.address = _text(form, "address_string", 500)
    new.address_id = _text(form, "address_id", 100)
    if new.lat is None and not new.address and not new.address_id:
        raise Open311Error(400, "location: lat and long, address_string or address_id is required.")
    new.attributes = _attributes(form, category)
    new.description = _text(form, "description", DESCRIPTION_MAX) or ""
    new.media_url = _text(form, "media_url", URL_MAX)
    if new.media_url and not URL.match(new.media_url):
        raise Open311Error(400, "media_url: an http or https URL is expected.")
    typed = _text(form, "phone", 20)
    if typed:
        typed = phones.plain(typed)  # full-width and other scripts' digits are digits
        if not PHONE.match(typed):
            raise Open311Error(400, "phone: digits, spaces, '-' and a leading '+' only.")
    # The one reading of a Chinese number (as registration and the hotline read it); another country's as sent.
    new.phone = (phones.mobile_or_landline(typed) or typed) if typed else typed
    email = _text(form, "email", 254)
    if email and not EMAIL.match(email):
        raise Open311Error(400, "email: not an e-mail address.")
    new.contact = {k: v for k, v in (("email", email), ("first_name", _text(form, "first_name", 100)),
                                     ("last_name", _text(form, "last_name", 100)),
                                     ("account_id", _text(form, "account_id", 100)),
                                     ("device_id", _text(form, "device_id", 100))) if v}
    return new


ATTRIBUTE_FIELD = re.compile(r"^attribute\[([A-Za-z0-9_\-]{1,64})\](\[\])?$")


def _attributes(form, category):
    known = {a.code: a for a in attributes_for(category)}
    given = {}
    for name in form.keys():
        match = ATTRIBUTE_FIELD.match(name)
        if name.startswith("attribute") and not match:
            raise Open311Error(400, f"{name[:80]}: attributes are sent as attribute[CODE].")
        if not match:
            continue
        code = match[1]
        attribute = known.get(code)
        if attribute is None:
            raise Open311Error(400, f"attribute[{code}]: service {category.code} has no such attribute.")
        values = [v.strip() for v in form.getlist(name) if v and v.strip()]
        if any("\x00" in v or len(v) > TEXT_MAX for v in values):
            raise Open311Error(400, f"attribute[{code}]: at most {TEXT_MAX} characters, no NUL.")
        if not values:
            continue
        given[code] = _attribute_value(attribute, values)
    for attribute in known.values():
        if attribute.required and attribute.code not in given:
            raise Open311Error(400, f"attribute[{attribute.code}]: required for service {category.code}.")
    return given


def _attribute_value(attribute, values):
    code = f"attribute[{attribute.code}]"
    keys = {k for k, _ in attribute.values}
    if attribute.datatype == "multivaluelist":
        if any(v not in keys for v in values):
            raise Open311Error(400, f"{code}: one of {', '.join(sorted(keys))}.")
        return sorted(set(values))
    if len(values) > 1:
        raise Open311Error(400, f"{code}: one value only.")
    value = values[0]
    if attribute.datatype == "singlevaluelist" and value not in keys:
        raise Open311Error(400, f"{code}: one of {', '.join(sorted(keys))}.")
    if attribute.datatype == "number":
        try:
            number = float(value)
        except ValueError:
            raise Open311Error(400, f"{code}: a number is expected.") from None
        if not math.isfinite(number):
            raise Open311Error(400, f"{code}: a number is expected.")
    if attribute.code == "component_id" and not COMPONENT_ID.match(value):
        raise Open311Error(400, f"{code}: 16 digits.")
    return value


def file_request(new, key, *, now=None):
    """Open the case for `new` filed with `key`: (case, created). The same
    request again from the same key on the same local day is the same case."""
    now = now or utcnow()
    tz = local_zone()
    day = now.replace(tzinfo=timezone.utc).astimezone(tz).date().isoformat()
    client_id = str(uuid.uuid5(REQUEST_NAMESPACE, f"{key.id}\x1e{day}\x1e{new.canonical()}"))
    fingerprint = hashlib.sha256(new.canonical().encode()).hexdigest()
    def find():
        return db.session.scalar(select(Case).where(Case.client_id == client_id))

    existing = find()
    if existing is not None:
        return existing, False
    grid, department = placement(new.lat, new.lng, new.category)
    extra = {"open311_key": key.id, "attributes": new.attributes or None, "media_url": new.media_url,
             "address_id": new.address_id, "contact": new.contact or None}

    def create():
        case = cases.open_case(
            client_id=client_id, content_hash=fingerprint, channel=Channel.OPEN311.value, reporter=None, actor=None,
            caller_phone=new.phone, category=new.category, description=new.description, lat=new.lat, lng=new.lng,
            location_source=LocationSource.DEVICE.value if new.lat is not None else LocationSource.MANUAL.value,
            accuracy_m=None, address=new.address, captured_at=None, grid=grid, department=department,
            deadlines=clock_for(current_app).deadlines(now, new.category), photos=[], received_at=now,
            extra={k: v for k, v in extra.items() if v is not None})
        db.session.execute(update(ApiKey).where(ApiKey.id == key.id)
                           .values(requests=ApiKey.requests + 1, last_used_at=now))
        return case, True

    # The same request at the same moment from another worker: its case answers.
    return create_or_replay(find, create, lambda found: (found, False))


# -- requests as the public sees them ----------------------------------------------------

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


UNITS = {"working_hours": "个工作时", "working_days": "个工作日", "calendar_hours": "小时"}


def service_notice(category):
    """The category's time limits, as civic/cases/deadlines.py applies them."""
    if category.urgent:
        return f"紧急：{category.ack_minutes} 分钟内签收，{category.resolve_limit} 小时内处置"
    unit = UNITS.get(category.resolve_unit, category.resolve_unit)
    return f"{category.ack_minutes} 个工作分钟内签收，{category.resolve_limit} {unit}内处置"


def filed_notice(case):
    return f"已受理登记，案件编号 {case.ref}。{service_notice(case.category)}。"
