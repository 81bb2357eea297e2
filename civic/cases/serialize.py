"""The case JSON of the API contract."""
from flask import url_for

from ..accounts.models import mask_phone
from ..timeutil import isoformat
from .access import can_see_reporter, is_follower, sees_in_full
from .assists import parts_to_dict, reported_notes
from .privacy import public_note, public_point, scrub
from .ratings import handling_round, pending_recheck, rating_of
from .stages import stages_to_dict
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
        # Questions the place checks raised (outside_county, old_photo, photo_far_from_device): never a refusal.
        "location_flags": list(case.location_flags or []),
        "address": case.address,
        "grid": case.grid.to_brief() if case.grid else None,
        "department": case.department.to_brief() if case.department else None,
        # The department's two clocks: acknowledge from the dispatch, resolve from the
        # acknowledgement (until then, as if that stage started now).
        "deadlines": {"acknowledge": isoformat(case.ack_due_at), "resolve": isoformat(case.resolve_due_at)},
        "urgency": case.urgency,
        "dispute": case.dispute,  # null, "arbitration" (returned twice: a supervisor decides) or "decided"
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
    data["description"] = description_for(case, viewer)
    # Staff who own a stage are named as assignees are: not to those who see the case as the public does.
    data["stages"] = stages_to_dict(case, viewer, show_people=sees_in_full(viewer, case))
    # 协办: each assisting department's part with its own clocks ([] when the lead works alone).
    data["assists"] = parts_to_dict(case, viewer)
    if not sees_in_full(viewer, case):
        # A follower: someone else's report, shown as the public board shows it.
        data.update(public_fields(case))
        data["following"] = viewer.is_authenticated and is_follower(viewer, case)
    if can_see_reporter(viewer) and case.reporter is not None:
        data["reporter"] = {"name": case.reporter.display_name, "phone": case.reporter.phone_masked}
    if can_see_reporter(viewer):
        data["caller_phone_masked"] = masked_caller_phone(case, viewer)
    return data


def public_fields(case):
    """What the case JSON shows in place of the private fields to someone who sees
    a case as the public does: the point to about 100 m, the text masked, no
    address, accuracy or client id, nobody's name."""
    lat, lng = public_point(case.lat, case.lng)
    return {"lat": lat, "lng": lng, "accuracy_m": None, "address": None, "client_id": None,
            "assignee": None, "assigned_at": None}


def description_for(case, viewer):
    """A resident stays anonymous to the department too: a number they typed in
    their report is masked for everyone but them and oversight."""
    if not sees_in_full(viewer, case):
        return scrub(case.description)
    mine = viewer.is_authenticated and case.reporter_id == viewer.id
    by_resident = case.reporter is not None and case.reporter.role == "resident"
    return scrub(case.description) if by_resident and not mine and not can_see_reporter(viewer) else case.description


def masked_caller_phone(case, viewer):
    """A hotline caller's number as oversight roles see it (138****1234), else None.
    The full number is only in the database: nobody reads it from a page or the API."""
    return mask_phone(case.caller_phone) if can_see_reporter(viewer) else None


def event_to_dict(event, viewer):
    """One step of the audit trail. The actor's name is shown when the actor is
    staff or the viewer: a resident never learns another resident's identity."""
    actor = event.actor
    own = actor is not None and viewer.is_authenticated and actor.id == viewer.id
    full = sees_in_full(viewer, event.case)
    show = actor is not None and ((full and actor.is_staff) or own)
    return {
        "id": event.id,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note if full or own else public_note(event),
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
    if data["assists"] and sees_in_full(viewer, case):  # what each part's report said
        data["assists"] = parts_to_dict(case, viewer, notes=reported_notes(case.events))
    data.update(ratings_to_dict(case, viewer))
    if viewer.is_authenticated and viewer.is_staff:
        from ..notify.services import group_notifications

        data["group_notifications"] = group_notifications(case.id)
    return data


def ratings_to_dict(case, viewer):
    """The viewer's own rating of this round of handling, whether a recheck is
    pending, and for staff every rating (without who gave it)."""
    from sqlalchemy import select

    from ..extensions import db
    from .models import Rating

    mine = rating_of(case, viewer) if viewer.is_authenticated else None
    data = {"round": handling_round(case),
            "my_rating": {"score": mine.score, "comment": mine.comment, "at": isoformat(mine.created_at)}
            if mine else None,
            "recheck_pending": pending_recheck(case) is not None}
    if viewer.is_authenticated and viewer.is_staff:
        data["ratings"] = [{"score": r.score, "comment": r.comment, "round": r.round, "at": isoformat(r.created_at)}
                           for r in db.session.scalars(select(Rating).where(Rating.case_id == case.id)
                                                       .order_by(Rating.id))]
    return data
