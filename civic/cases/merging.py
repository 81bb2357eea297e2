"""Merging a duplicate report (合并): it goes on as the open case it duplicates;
its reporter and followers follow that case, its photos are added to it."""
from sqlalchemy import select

from ..errors import ApiError
from ..extensions import db
from ..photos.models import Photo
from .models import OPEN_STATUSES, CaseEvent, CaseFollower
from .steps import STATUS_WORDS


def check_merge_target(rule, case, into):
    if not rule.merge:
        if into is not None:
            raise ApiError(422, "invalid", "A case to merge into (into) can only be given with 'merge'.", "into")
        return
    if into is None:
        raise ApiError(422, "required", "Give the case this one duplicates (into).", "into")
    if into.id == case.id:
        raise ApiError(422, "invalid", "A case cannot be merged into itself.", "into")
    if into.status not in OPEN_STATUSES:
        raise ApiError(422, "invalid", f"Case {into.ref} is {STATUS_WORDS.get(into.status, into.status)}; "
                       "merge into a case that is still open.", "into")


def merge(duplicate, into, actor, now):
    """The duplicate's reporter and followers follow `into`; its photos are added to
    `into` (sharing the stored files); `into` records it in its own trail."""
    people = set(db.session.scalars(select(CaseFollower.user_id).where(CaseFollower.case_id == duplicate.id)))
    if duplicate.reporter_id is not None:
        people.add(duplicate.reporter_id)
    people.discard(into.reporter_id)
    people -= set(db.session.scalars(select(CaseFollower.user_id).where(CaseFollower.case_id == into.id)))
    for user_id in sorted(people):
        db.session.add(CaseFollower(case_id=into.id, user_id=user_id, via_case_id=duplicate.id, created_at=now))
    copied = [Photo(kind="before", position=len(into.photos) + n, sha256=p.sha256, phash=p.phash, width=p.width,
                    height=p.height, bytes=p.bytes, source_format=p.source_format, display_key=p.display_key,
                    thumb_key=p.thumb_key, taken_at=p.taken_at, created_at=now)
              for n, p in enumerate(duplicate.photos)]
    into.photos.extend(copied)
    into.updated_at = now  # its followers' and workers' lists change
    db.session.add(CaseEvent(case=into, actor=actor, action="merged_in", from_status=into.status,
                             to_status=into.status, data={"from": duplicate.ref, "photos": len(copied),
                                                          "followers": len(people)}, created_at=now))
    return {"photos_added": len(copied), "followers_added": len(people)}
