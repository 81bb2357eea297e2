"""Everything the system holds about one person, as one JSON document they can
download (个人信息副本): the account, their reports with photos, the ratings they
gave, the cases they follow, their points and redemptions, their devices.

`photo_url(key)` is passed in by the view (it builds absolute URLs), so this
module needs no request.
"""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..timeutil import isoformat, utcnow
from .models import DeviceToken


def _category(case):
    return {"code": case.category.code, "name": case.category.name_zh, "name_en": case.category.name_en}


def _report(case, photo_url):
    return {
        "ref": case.ref, "client_id": case.client_id, "status": case.status, "channel": case.channel,
        "category": _category(case), "description": case.description,
        "location": {"lat": case.lat, "lng": case.lng, "address": case.address, "source": case.location_source,
                     "accuracy_m": case.accuracy_m},
        "grid": case.grid.name if case.grid else None,
        "department": case.department.name if case.department else None,
        "captured_at": isoformat(case.captured_at), "reported_at": isoformat(case.received_at),
        "updated_at": isoformat(case.updated_at), "closed_at": isoformat(case.closed_at),
        "merged_into": case.merged_into.ref if case.merged_into_id else None,
        "photos": [{"kind": p.kind, "url": photo_url(p.display_key), "thumb_url": photo_url(p.thumb_key),
                    "taken_at": isoformat(p.taken_at)} for p in case.photos],
    }


def _reports(user, photo_url):
    from ..cases.models import Case

    cases = db.session.scalars(select(Case).where(Case.reporter_id == user.id)
                               .options(selectinload(Case.photos), selectinload(Case.category),
                                        selectinload(Case.grid), selectinload(Case.department))
                               .order_by(Case.received_at, Case.id)).all()
    return [_report(case, photo_url) for case in cases]


def _ratings(user):
    from ..cases.models import Case, Rating

    rows = db.session.execute(select(Rating, Case.ref).join(Case, Case.id == Rating.case_id)
                              .where(Rating.user_id == user.id).order_by(Rating.created_at, Rating.id)).all()
    return [{"case": ref, "score": r.score, "comment": r.comment, "round": r.round, "at": isoformat(r.created_at)}
            for r, ref in rows]


def _following(user):
    from ..cases.models import Case, CaseFollower

    rows = db.session.execute(select(CaseFollower, Case.ref, Case.status).join(Case, Case.id == CaseFollower.case_id)
                              .where(CaseFollower.user_id == user.id).order_by(CaseFollower.created_at)).all()
    return [{"case": ref, "status": status, "since": isoformat(f.created_at)} for f, ref, status in rows]


def _points(user):
    from ..cases.models import Case
    from ..rewards.models import PointEntry

    rows = db.session.execute(select(PointEntry, Case.ref).outerjoin(Case, Case.id == PointEntry.case_id)
                              .where(PointEntry.user_id == user.id)
                              .order_by(PointEntry.created_at, PointEntry.id)).all()
    entries = [{"kind": e.kind, "points": e.points, "reason": e.reason, "case": ref, "at": isoformat(e.created_at)}
               for e, ref in rows]
    return {"balance": sum(e["points"] for e in entries), "entries": entries}


def _redemptions(user):
    from ..rewards.models import Redemption

    rows = db.session.scalars(select(Redemption).where(Redemption.user_id == user.id)
                              .options(selectinload(Redemption.item)).order_by(Redemption.created_at)).all()
    return [{"item": r.item.name, "cost": r.cost, "code": r.code, "status": r.status,
             "created_at": isoformat(r.created_at), "used_at": isoformat(r.used_at)} for r in rows]


def _devices(user):
    tokens = db.session.scalars(select(DeviceToken).where(DeviceToken.user_id == user.id)
                                .order_by(DeviceToken.created_at)).all()
    return [{"device_id": t.device_id, "name": t.name, "logged_in_at": isoformat(t.created_at),
             "last_used_at": isoformat(t.last_used_at), "logged_out_at": isoformat(t.revoked_at)} for t in tokens]


def export_user(user, *, photo_url, now=None):
    return {
        "exported_at": isoformat(now or utcnow()),
        "account": {"id": user.id, "username": user.username, "phone": user.phone, "display_name": user.display_name,
                    "role": user.role, "created_at": isoformat(user.created_at), "on_leaderboard": user.on_leaderboard},
        "reports": _reports(user, photo_url),
        "ratings": _ratings(user),
        "following": _following(user),
        "points": _points(user),
        "redemptions": _redemptions(user),
        "devices": _devices(user),
    }
