"""Idempotent intake: one report from a device becomes exactly one case.

The device makes a `client_id` (UUID) when the report is captured and sends it
with every retry. The same client_id with the same content is a replay (a lost
response) and answers with the existing case; with other content it is a
conflict. Concurrent replays meet the unique constraint on client_id: the
loser rolls back, removes the files it wrote and answers with the winner's case.

Order of work: validate everything and render the photos in memory, then write
the photo files, then one transaction for the case, its photos and its first
event. If the transaction fails, the files are removed again; if the process
dies in between, `flask photos gc` removes files no photo row refers to.
"""
import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from ..accounts.models import Role
from ..cases import services as cases
from ..cases.deadlines import clock_for
from ..cases.models import Case, CaseEvent, Channel, LocationSource
from ..errors import ApiError
from ..extensions import db
from ..grids.lookup import get_index
from ..grids.catalogue import active_category
from ..grids.routing import route
from ..photos.storage import get_storage
from ..posters import services as posters
from ..transaction import create_or_replay, on_failure
from ..timeutil import utcnow
from . import photos as photo_steps
from .place_checks import location_flags

# Which channels each role may file under; the first is the default.
ROLE_CHANNELS = {
    Role.RESIDENT: ("resident", "qr"),
    Role.GRID_WORKER: ("grid_worker",),
    Role.DEPT_STAFF: ("grid_worker",),
    Role.DISPATCHER: ("hotline", "grid_worker", "resident", "qr"),
    Role.SUPERVISOR: ("hotline", "grid_worker", "resident", "qr"),
    Role.ADMIN: ("hotline", "grid_worker", "resident", "qr"),
}


@dataclass
class IntakeResult:
    case: Case
    created: bool


def content_hash(meta, photo_hashes):
    digest = hashlib.sha256(meta.canonical().encode())
    for photo_hash in photo_hashes:
        digest.update(photo_hash.encode())
    return digest.hexdigest()


def _channel(meta, user, poster=None):
    allowed = ROLE_CHANNELS[user.role_enum]
    if meta.channel is None:
        # A resident who scanned a poster reports through the QR channel.
        return Channel.QR.value if poster is not None and user.role_enum == Role.RESIDENT else allowed[0]
    if meta.channel not in {c.value for c in Channel}:
        raise ApiError(422, "invalid", f"Unknown channel '{meta.channel}'.", "channel")
    if meta.channel not in allowed:
        raise ApiError(403, "forbidden", f"Your role cannot file reports as '{meta.channel}'.", "channel")
    return meta.channel


def _filed_by(case):
    """Who sent the report: its reporter, or the operator who took a hotline call
    for a caller with no account (the actor of the "report" event)."""
    if case.reporter_id is not None:
        return case.reporter_id
    return db.session.scalar(select(CaseEvent.actor_id).where(CaseEvent.case_id == case.id,
                                                              CaseEvent.action == "report"))


def _replay(existing, fingerprint, user):
    if existing.content_hash == fingerprint and _filed_by(existing) == user.id:
        return IntakeResult(existing, created=False)
    raise ApiError(409, "client_id_conflict",
                   "This client_id was already used for a different report.", "client_id")


def _find(client_id):
    return db.session.scalar(select(Case).where(Case.client_id == client_id))


def _poster(meta):
    if meta.poster is None:
        return None
    poster = posters.find(meta.poster)
    if poster is None:
        raise ApiError(422, "unknown_poster", f"No poster has the code '{meta.poster}'. Scan the poster again, "
                       "or send the report without it.", "poster")
    return poster  # a retired poster too: its printouts may still hang somewhere


def _locate(meta, inspected, poster=None):
    """The client's position (phone GPS, EXIF read on the phone, or a placed
    pin), else the first photo's EXIF GPS, else the scanned poster's place (the
    reporter stands at it: "manual", a place they chose, not a measurement),
    else the address alone, or a grid poster's grid alone."""
    if meta.lat is not None:
        return meta.lat, meta.lng, meta.location_source or LocationSource.DEVICE.value
    for item in inspected:
        if item.gps:
            return item.gps[0], item.gps[1], LocationSource.EXIF.value
    if poster is not None and poster.lat is not None:
        return poster.lat, poster.lng, LocationSource.MANUAL.value
    if meta.address or (poster is not None and poster.grid_id is not None):
        return None, None, LocationSource.MANUAL.value
    raise ApiError(422, "location_required",
                   "Where is it? Allow location, use a photo taken with location on, or type an address.", "lat")


def locate_grid(lat, lng):
    """The grid a point falls in (the lookup's hit: id, name, parent_id), or None."""
    return get_index(current_app).locate(lat, lng) if lat is not None else None


def grid_at(lat, lng):
    """The level-2 grid a point falls in, as a Grid of this session, or None: no query
    (GridIndex.grid_at), its outline left out until something reads it."""
    return get_index(current_app).grid_at(lat, lng, db.session) if lat is not None else None


def placement(lat, lng, category, *, fallback_grid=None):
    """Where a report goes, the one rule for every channel: the grid its point falls
    in (else `fallback_grid`: a grid poster's, for a report without a position), and
    the department the routing rules give for its category there (谁主管谁负责).
    Returns (grid or None, department or None)."""
    grid = grid_at(lat, lng) or fallback_grid
    destination = route(category, grid.id if grid else None, grid.parent_id if grid else None)
    return grid, destination.department


def open_report(*, category, lat, lng, received_at, fallback_grid=None, photo_gps=None, photo_taken_at=None,
                **report):
    """Open the case for a report from any channel (a phone, the site, the hotline,
    Open311): placed in its grid, routed to its department, timed by the
    category's limits from `received_at`, its place checked (place_checks.py:
    `photo_gps` and `photo_taken_at` are its first photo's position and time,
    else its captured_at counts), with its first event.
    `report` is the rest of cases.open_case's arguments. Flushes, does not commit."""
    grid, department = placement(lat, lng, category, fallback_grid=fallback_grid)
    flags = location_flags(lat=lat, lng=lng, source=report.get("location_source"), photo_gps=photo_gps,
                           taken_at=photo_taken_at or report.get("captured_at"), received_at=received_at)
    return cases.open_case(category=category, lat=lat, lng=lng, received_at=received_at, grid=grid,
                           department=department,
                           deadlines=clock_for(current_app, department).deadlines(received_at, category),
                           location_flags=flags, **report)


def _photo_facts(meta, inspected):
    """What the place checks compare: the first photo's GPS (as the phone read it
    before shrinking, else from the file) and when it was taken (its EXIF time,
    else the time the client says it was captured)."""
    gps = (meta.photo_lat, meta.photo_lng) if meta.photo_lat is not None \
        else next((item.gps for item in inspected if item.gps), None)
    taken = next((item.taken_at for item in inspected if item.taken_at), None) or meta.captured_at
    return {"photo_gps": gps, "photo_taken_at": taken}


def submit_report(meta, uploads, user):
    """`meta` is a parsed ReportMeta, `uploads` the photos' bytes in order."""
    config = current_app.config
    photo_steps.check_count(uploads, config)
    inspected = photo_steps.inspect_all(uploads, config)
    fingerprint = content_hash(meta, [item.sha256 for item in inspected])

    existing = _find(meta.client_id)
    if existing is not None:
        return _replay(existing, fingerprint, user)

    category = active_category(meta.category)
    if category is None:
        raise ApiError(422, "unknown_category", f"Unknown category '{meta.category}'.", "category")
    poster = _poster(meta)
    channel = _channel(meta, user, poster)
    if meta.caller_phone is not None and channel != Channel.HOTLINE.value:
        raise ApiError(422, "invalid", "A caller's phone goes with the hotline channel.", "caller_phone")
    lat, lng, source = _locate(meta, inspected, poster)
    rendered = photo_steps.render_all(inspected, config)

    storage = get_storage(current_app)

    def create():
        written_keys = []
        # Files go when the report is not kept, unless the COMMIT failed: then the
        # outcome is unknown and the retry's answer may need them (photos gc).
        on_failure(lambda: photo_steps.remove(storage, written_keys), unless_commit_failed=True)
        photos = photo_steps.write_photos(storage, inspected, rendered, written_keys)
        received = utcnow()
        case = open_report(
            client_id=meta.client_id, content_hash=fingerprint, channel=channel,
            # A hotline call: the caller has no account; the operator files it.
            reporter=None if meta.caller_phone else user, actor=user, caller_phone=meta.caller_phone,
            category=category, description=meta.description, lat=lat, lng=lng, location_source=source,
            accuracy_m=meta.accuracy_m if source == LocationSource.DEVICE.value else None,
            address=meta.address, captured_at=meta.captured_at or (inspected[0].taken_at if inspected else None),
            # No position at all: a grid poster still says which grid.
            fallback_grid=poster.grid if lat is None and poster is not None else None,
            photos=photos, received_at=received, poster=poster,
            **_photo_facts(meta, inspected),
        )
        return IntakeResult(case, created=True)

    return create_or_replay(lambda: _find(meta.client_id), create, lambda found: _replay(found, fingerprint, user))
