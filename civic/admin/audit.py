"""Recording what administrators change, and every login: one entry per change,
with who did it, when, from where, and the object before and after. Called by the
services that make the change, inside its unit of work, so the entry exists
exactly when the change does."""
from sqlalchemy import select

from ..extensions import db
from ..timeutil import utcnow
from .models import AuditEntry

COMMAND_LINE = "command line"


def record(action, *, actor=None, ip=None, target=None, before=None, after=None, label=None, now=None):
    """Add an entry; `target` is the changed object (its table and id are kept),
    `before`/`after` plain dicts (None for a creation or a deletion)."""
    entry = AuditEntry(
        at=now or utcnow(), action=action, ip=(ip or None) and ip[:64],
        actor_id=getattr(actor, "id", None),
        actor_name=(actor.username if actor is not None else COMMAND_LINE)[:100],
        target_type=target.__tablename__ if target is not None else None,
        target_id=getattr(target, "id", None),
        target_label=(label or _label(target))[:200] if (label or target is not None) else None,
        before=before, after=after)
    db.session.add(entry)
    return entry


def _label(target):
    return getattr(target, "username", None) or getattr(target, "code", None) or str(getattr(target, "id", ""))


def changed(before, after):
    """Only the fields that differ, for a short before/after."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def entries(*, action=None, actor=None, target_type=None, since=None, until=None, limit=200):
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_name == actor)
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return db.session.scalars(query.limit(limit)).all()
