"""The supervisors' view of push: per user, whether it works and when it last
did (the push page and GET /api/v1/push/status)."""
from sqlalchemy import and_, case as sql_case, func, select

from ..accounts.models import STAFF_ROLES, User
from ..extensions import db
from ..timeutil import isoformat
from .models import PushDelivery, PushSubscription


def push_status(role=None):
    """Per user: how many subscriptions, whether push works, when it last did and
    last failed. Staff roles unless `role` is given."""
    roles = [role] if role else sorted(r.value for r in STAFF_ROLES)
    users = db.session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True))
                               .order_by(User.role, User.username)).all()
    ids = [user.id for user in users]
    if not ids:
        return []
    subs = {row.user_id: row for row in db.session.execute(
        select(PushSubscription.user_id, func.count(PushSubscription.id).label("n"),
               func.sum(sql_case((PushSubscription.failures == 0, 1), else_=0)).label("working"),
               func.max(PushSubscription.last_success_at).label("success"))
        .where(PushSubscription.user_id.in_(ids)).group_by(PushSubscription.user_id))}
    sent = dict(db.session.execute(
        select(PushDelivery.user_id, func.max(PushDelivery.sent_at))
        .where(PushDelivery.user_id.in_(ids), PushDelivery.channel == "push", PushDelivery.status == "sent")
        .group_by(PushDelivery.user_id)).all())
    failures = {}
    # The latest failure on a subscription (kept while it exists) or of a delivery
    # (kept after a 404/410 removed its subscription).
    for user_id, at, error in db.session.execute(
            select(PushSubscription.user_id, PushSubscription.last_failure_at, PushSubscription.last_error)
            .where(PushSubscription.user_id.in_(ids), PushSubscription.last_failure_at.is_not(None))):
        if user_id not in failures or at > failures[user_id][0]:
            failures[user_id] = (at, error)
    latest = (select(PushDelivery.user_id, func.max(PushDelivery.last_attempt_at).label("at"))
              .where(PushDelivery.user_id.in_(ids), PushDelivery.channel == "push",
                     PushDelivery.status.in_(["failed", "gone"]))
              .group_by(PushDelivery.user_id).subquery())
    for user_id, at, error in db.session.execute(
            select(PushDelivery.user_id, PushDelivery.last_attempt_at, PushDelivery.last_error)
            .join(latest, and_(PushDelivery.user_id == latest.c.user_id, PushDelivery.last_attempt_at == latest.c.at))
            .where(PushDelivery.channel == "push", PushDelivery.status.in_(["failed", "gone"]))):
        if at is not None and (user_id not in failures or at > failures[user_id][0]):
            failures[user_id] = (at, error)
    out = []
    for user in users:
        row = subs.get(user.id)
        successes = [t for t in (row.success if row else None, sent.get(user.id)) if t is not None]
        failure = failures.get(user.id, (None, None))
        out.append({"id": user.id, "username": user.username, "display_name": user.display_name,
                    "role": user.role, "subscriptions": row.n if row else 0,
                    "push_active": bool(row and row.working),
                    "last_success_at": isoformat(max(successes)) if successes else None,
                    "last_failure_at": isoformat(failure[0]), "last_error": failure[1]})
    return out
