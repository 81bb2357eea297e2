"""A request filed here enters the same intake as a phone's report
(intake/reports.py open_report): located in a grid, routed to a department, given
working-time deadlines, channel "open311", no reporter account (the key's system
files it). A retry of the same request on the same day by the same key is the same
case, never a second."""
import hashlib
import uuid
from datetime import timezone

from sqlalchemy import select, update

from ..cases.models import Case, Channel, LocationSource
from ..extensions import db
from ..intake.reports import open_report
from ..timeutil import local_zone, utcnow
from ..transaction import create_or_replay
from .catalogue import service_notice
from .models import ApiKey


REQUEST_NAMESPACE = uuid.UUID("5f0f3c1e-7d0a-4c5e-9a59-3b1c0e6d3111")


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
    extra = {"open311_key": key.id, "attributes": new.attributes or None, "media_url": new.media_url,
             "address_id": new.address_id, "contact": new.contact or None}

    def create():
        case = open_report(
            client_id=client_id, content_hash=fingerprint, channel=Channel.OPEN311.value, reporter=None, actor=None,
            caller_phone=new.phone, category=new.category, description=new.description, lat=new.lat, lng=new.lng,
            location_source=LocationSource.DEVICE.value if new.lat is not None else LocationSource.MANUAL.value,
            accuracy_m=None, address=new.address, captured_at=None, photos=[], received_at=now,
            extra={k: v for k, v in extra.items() if v is not None})
        db.session.execute(update(ApiKey).where(ApiKey.id == key.id)
                           .values(requests=ApiKey.requests + 1, last_used_at=now))
        return case, True

    # The same request at the same moment from another worker: its case answers.
    return create_or_replay(find, create, lambda found: (found, False))


def filed_notice(case):
    return f"已受理登记，案件编号 {case.ref}。{service_notice(case.category)}。"
