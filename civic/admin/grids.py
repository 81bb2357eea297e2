"""A grid's own details, kept by the administrators: its name, street, chief (网格长,
or a road segment's 街长: they see its cases) and grid workers. The page
(admin/grid_views.py) and `flask grids set` both call `update`. Outlines change by
import (grids/plan.py), never here.

Changing a grid's workers changes each of those people's grids, so it goes through
the people's own rule (admin/accounts.py plan_change/apply_change): a worker taken
off keeps only the tasks their other grids still cover (the rest go back to the
queue with an event), and a worker's last grid cannot be taken away here."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..accounts.models import Role, User
from ..extensions import db
from . import accounts, audit


@dataclass
class GridEdit:
    name: str
    street: str | None = None
    chief: str | None = None                     # a username, or None for no chief
    workers: list = field(default_factory=list)  # usernames


def split_usernames(text):
    """Usernames as typed: separated by ; or , (full-width too) or new lines."""
    for separator in ("；", ",", "，", "\n"):
        text = (text or "").replace(separator, ";")
    return [name for name in (part.strip() for part in text.split(";")) if name]


def snapshot(grid):
    return {"name": grid.name, "street": grid.street, "chief": grid.chief.username if grid.chief else None,
            "workers": sorted(user.username for user in grid.members)}


def check(edit):
    """Field → message for what is wrong with `edit`; the users it names, by lower-case username."""
    errors = {}
    if not edit.name or len(edit.name) > 100:
        errors["name"] = _l("A name of 1 to 100 characters.")
    if edit.street and len(edit.street) > 100:
        errors["street"] = _l("At most 100 characters.")
    wanted = [n.lower() for n in [edit.chief, *edit.workers] if n]
    users = {u.username.lower(): u for u in db.session.scalars(
        select(User).where(func.lower(User.username).in_(wanted), User.deleted_at.is_(None)))} if wanted else {}
    chief = users.get(edit.chief.lower()) if edit.chief else None
    if edit.chief and (chief is None or not chief.is_staff or not chief.active):
        errors["chief"] = _l("No active staff account has that username.")
    unknown = [name for name in edit.workers if name.lower() not in users]
    not_workers = [users[n.lower()].username for n in edit.workers
                   if n.lower() in users and users[n.lower()].role_enum != Role.GRID_WORKER]
    if unknown:
        errors["workers"] = _l("Unknown usernames: %(names)s.", names=", ".join(unknown))
    elif not_workers:
        errors["workers"] = _l("Not grid workers: %(names)s.", names=", ".join(not_workers))
    return errors, users


def _workers_changes(grid, workers, actor):
    """The people-changes that giving `grid` these workers makes (planned, not applied),
    and the first refusal in words, if any."""
    wanted = {user.id: user for user in workers}
    current = {user.id: user for user in grid.members}
    changes = []
    for user in [*(u for uid, u in current.items() if uid not in wanted), *(u for uid, u in wanted.items()
                                                                            if uid not in current)]:
        codes = [g.code for g in user.grids if g.id != grid.id] + ([grid.code] if user.id in wanted else [])
        change = accounts.plan_change(user, role=user.role, grid_codes=codes,
                                      department_code=user.department.code if user.department else None, actor=actor)
        if change.errors:
            reason = "; ".join(str(why) for _name, why in change.reasons())
            return [], _l("%(name)s: %(reason)s", name=user.username, reason=reason)
        changes.append(change)
    return changes, None


def update(grid, edit, *, actor=None, ip=None):
    """Apply `edit` (checked: returns the errors and changes nothing if any); the audit
    entries hold what changed (the grid's, and each worker's with the tasks released).
    Returns ({}, changed?) or (errors, False)."""
    errors, users = check(edit)
    if errors:
        return errors, False
    workers = [users[n.lower()] for n in edit.workers]
    people_changes, refusal = _workers_changes(grid, workers, actor)
    if refusal:
        return {"workers": refusal}, False
    before = snapshot(grid)
    grid.name, grid.street = edit.name, edit.street or None
    grid.chief = users[edit.chief.lower()] if edit.chief else None
    for change in people_changes:
        accounts.apply_change(change, actor=actor, ip=ip)
    db.session.refresh(grid, ["members"])
    old, new = audit.changed(before, snapshot(grid))
    if new:
        audit.record("grid.update", actor=actor, ip=ip, target=grid, before=old, after=new)
    return {}, bool(new)
