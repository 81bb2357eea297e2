"""The case JSON of the API contract."""
from flask import url_for

from ..timeutil import isoformat
from .access import can_see_reporter


def photo_to_dict(photo):
    return {
        "kind": photo.kind,
        "url": url_for("media.photo", key=photo.display_key),
        "thumb_url": url_for("media.photo", key=photo.thumb_key),
        "width": photo.width,
        "height": photo.height,
    }


def case_to_dict(case, viewer):
    data = {
        "id": case.id,
        "ref": case.ref,
        "client_id": case.client_id,
        "status": case.status,
        "channel": case.channel,
        "category": case.category.to_brief(),
        "description": case.description,
        "lat": case.lat,
        "lng": case.lng,
        "location_source": case.location_source,
        "accuracy_m": case.accuracy_m,
        "address": case.address,
        "grid": case.grid.to_brief() if case.grid else None,
        "department": case.department.to_brief() if case.department else None,
        "deadlines": {"acknowledge": isoformat(case.ack_due_at), "resolve": isoformat(case.resolve_due_at)},
        "photos": [photo_to_dict(p) for p in case.photos],
        "captured_at": isoformat(case.captured_at),
        "created_at": isoformat(case.received_at),
        "updated_at": isoformat(case.updated_at),
        "reported_by_me": viewer.is_authenticated and case.reporter_id == viewer.id,
    }
    if can_see_reporter(viewer) and case.reporter is not None:
        data["reporter"] = {"name": case.reporter.display_name, "phone": case.reporter.phone_masked}
    return data
