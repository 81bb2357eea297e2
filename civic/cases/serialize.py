"""The case JSON of the API contract."""
from flask import url_for

from ..accounts.models import mask_phone
from ..timeutil import isoformat
from .access import can_see_reporter, is_follower
from .privacy import scrub
from .workflow import allowed_actions


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
        # Assignees are staff; their names are shown like the staff names in the events.
        "assignee": {"id": case.assignee.id, "name": case.assignee.display_name} if case.assignee else None,
        "assigned_at": isoformat(case.assigned_at),
        "assigned_to_me": viewer.is_authenticated and case.assignee_id is not None and case.assignee_id == viewer.id,
    }
    if case.merged_into_id is not None:
        data["merged_into"] = {"id": case.merged_into_id, "ref": case.merged_into.ref}
    if viewer.is_authenticated and not viewer.is_staff and not data["reported_by_me"]:
        # A follower: someone else's report, shown as the public board shows it.
        data["following"] = is_follower(viewer, case)
        data["description"] = scrub(case.description)
    if can_see_reporter(viewer) and case.reporter is not None:
        data["reporter"] = {"name": case.reporter.display_name, "phone": case.reporter.phone_masked}
    if can_see_reporter(viewer):
        data["caller_phone_masked"] = masked_caller_phone(case, viewer)
    return data


def masked_caller_phone(case, viewer):
    """A hotline caller's number as oversight roles see it (138****1234), else None.
    The full number is only in the database: nobody reads it from a page or the API."""
    return mask_phone(case.caller_phone) if can_see_reporter(viewer) else None


def event_to_dict(event, viewer):
    """One step of the audit trail. The actor's name is shown when the actor is
    staff or the viewer: a resident never learns another resident's identity."""
    actor = event.actor
    show = actor is not None and (actor.is_staff or (viewer.is_authenticated and actor.id == viewer.id))
    return {
        "id": event.id,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "at": isoformat(event.created_at),
        "actor": actor.display_name if show else None,
    }


def case_with_actions(case, viewer):
    """The case as in lists of tasks: the case JSON and what the viewer can do now."""
    data = case_to_dict(case, viewer)
    data["allowed_actions"] = allowed_actions(case, viewer) if viewer.is_authenticated else []
    return data


def case_detail(case, viewer):
    """The case as on its own: with its audit trail and what the viewer can do now."""
    data = case_with_actions(case, viewer)
    data["events"] = [event_to_dict(event, viewer) for event in case.events]
    if viewer.is_authenticated and viewer.is_staff:
        from ..notify.services import group_notifications

        data["group_notifications"] = group_notifications(case.id)
    return data
