"""One person's account, changed by an administrator: role, grids and department
(first saying what happens to the cases in their hands), a new one-time password,
logging them out everywhere, and phone codes (civic/accounts/provisioning.py).
Each is also a `flask users` command and an entry in the audit log; each adds and
flushes, and the caller's unit of work commits.

Changing what someone covers may leave them holding tasks they could no longer
see: an open task assigned to them stays theirs only while the new role, grids or
department still cover it (civic/cases/access.py's relations, the same rules the
task list reads); the others go back to the grid's or department's queue with an
"unassign" event, as deactivating does.
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts import provisioning, sessions
from ..accounts.models import STAFF_ROLES, DeviceToken, LoginSession, Role, User
from ..cases.access import related
from ..cases.models import OPEN_STATUSES, Case, CaseEvent
from ..extensions import db
from ..grids.models import Department, Grid
from ..timeutil import utcnow
from . import audit, people

# Relations by which a person covers a case besides its being assigned to them.
COVERING = ("oversight", "department", "grid_worker")

PROBLEMS = {
    "resident": _l("residents' accounts have no role, grids or department to change"),
    "unknown_role": _l("unknown role '%(role)s': one of %(roles)s"),
    "own_role": _l("you cannot change your own role"),
    "grid_required": _l("a grid worker needs at least one grid"),
    "department_required": _l("department staff need a department"),
    "unknown_grid": _l("no grid with code %(codes)s"),
    "retired_grid": _l("grid %(codes)s is retired"),
    "unknown_department": _l("no department with code %(department)s"),
    "inactive_department": _l("department %(department)s is no longer in use"),
}


@dataclass
class Prospect:
    """The person as they would be after the change, for the access rules' tests."""
    id: int
    role: str
    grids: list
    department_id: int | None
    is_authenticated: bool = True

    @property
    def role_enum(self):
        return Role(self.role)


@dataclass
class Change:
    user: User
    role: str | None
    grids: list = field(default_factory=list)
    department: Department | None = None
    errors: list = field(default_factory=list)  # [(field, code, values)]
    kept: list = field(default_factory=list)  # open tasks that stay theirs
    released: list = field(default_factory=list)  # open tasks that go back to the queue

    def refuse(self, name, code, **values):
        self.errors.append((name, code, values))

    def reasons(self):
        return [(name, str(PROBLEMS[code]) % values) for name, code, values in self.errors]

    @property
    def after(self):
        return {"role": self.role, "grids": sorted(grid.code for grid in self.grids),
                "department": self.department.code if self.department else None}

    @property
    def before(self):
        facts = people.user_facts(self.user)
        return {key: facts[key] for key in ("role", "grids", "department")}

    @property
    def changes(self):
        before, after = self.before, self.after
        return {key: (before[key], after[key]) for key in after if before[key] != after[key]}


def open_tasks(user):
    return db.session.scalars(select(Case).where(Case.assignee_id == user.id, Case.status.in_(OPEN_STATUSES))
                              .order_by(Case.id)).all()


def plan_change(user, *, role, grid_codes, department_code, actor=None):
    """What changing `user` to this role, these grids and this department would do;
    writes nothing. `grid_codes`: a list, or text with codes separated as an import's."""
    if isinstance(grid_codes, str):
        grid_codes = [code for code in people.LIST_SEPARATORS.split(people._clean(grid_codes)) if code]
    grid_codes = list(dict.fromkeys(grid_codes or ()))
    role_text = people._clean(role) if isinstance(role, str) else ""
    department_code = people._clean(department_code) if isinstance(department_code, str) else None
    wanted = people.ROLE_NAMES.get(role_text) or people.ROLE_NAMES.get(role_text.lower())
    change = Change(user=user, role=wanted or user.role)
    if user.role == Role.RESIDENT.value:
        change.refuse("role", "resident")
        return change
    if role_text and wanted is None:
        change.refuse("role", "unknown_role", role=role_text[:40],
                      roles=", ".join(sorted(r.value for r in STAFF_ROLES)))
    elif actor is not None and actor.id == user.id and change.role != user.role:
        change.refuse("role", "own_role")  # an administrator never locks themselves out
    grids = {grid.code: grid for grid in db.session.scalars(select(Grid).where(Grid.code.in_(grid_codes)))}
    unknown = [code for code in grid_codes if code not in grids]
    if unknown:
        change.refuse("grids", "unknown_grid", codes=", ".join(unknown[:5]))
    retired = [code for code in grid_codes if code in grids and not grids[code].active
               and grids[code] not in user.grids]
    if retired:
        change.refuse("grids", "retired_grid", codes=", ".join(retired[:5]))
    change.grids = [grids[code] for code in grid_codes if code in grids]
    if department_code:
        department = db.session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            change.refuse("department", "unknown_department", department=department_code[:40])
        elif not department.active and department is not user.department:
            change.refuse("department", "inactive_department", department=department.code)
        change.department = department
    if change.role == Role.GRID_WORKER.value and not change.grids and not unknown:
        change.refuse("grids", "grid_required")
    if change.role == Role.DEPT_STAFF.value and change.department is None and not department_code:
        change.refuse("department", "department_required")
    if not change.errors:
        prospect = Prospect(id=user.id, role=change.role, grids=change.grids,
                            department_id=change.department.id if change.department else None)
        for case in open_tasks(user):
            (change.kept if related(prospect, case, COVERING) else change.released).append(case)
    return change


class ChangeRefused(ValueError):
    pass


def apply_change(change, *, actor=None, ip=None, now=None):
    """Make the planned change (planned again by the caller if time has passed: the
    tasks in hand are those of the moment). Returns the cases released."""
    if change.errors:
        raise ChangeRefused("; ".join(f"{name}: {reason}" for name, reason in change.reasons()))
    user = change.user
    if not change.changes:
        return []
    now = now or utcnow()
    before = people.user_facts(user)
    user.role = change.role
    user.grids = list(change.grids)
    user.department = change.department
    for case in change.released:
        case.assignee_id, case.updated_at = None, now
        db.session.add(CaseEvent(case=case, actor=actor, action="unassign", from_status=case.status,
                                 to_status=case.status, note=f"{user.display_name} 的职责已调整，任务退回待办",
                                 data={"assignee_id": user.id, "reason": "reassigned"}, created_at=now))
    db.session.flush()
    old, new = audit.changed(before, people.user_facts(user))
    new["tasks_released"] = [case.ref for case in change.released]
    audit.record("user.update", actor=actor, ip=ip, target=user, before=old, after=new, now=now)
    return change.released


def reset_password(user, *, actor=None, ip=None):
    """A new one-time password (returned once; only its hash is kept): it must be
    changed at the next login, and every session and device token ends now."""
    password = people.one_time_password()
    user.password_hash = people.hash_all([password])[0]
    user.must_change_password = True
    sessions.end_everywhere(user)
    audit.record("user.reset_password", actor=actor, ip=ip, target=user,
                 before={"must_change_password": False}, after={"must_change_password": True,
                                                               "logged_out_everywhere": True})
    return password


def logout_everywhere(user, *, actor=None, ip=None):
    """Every login session and device token of `user` ends: their phone's next request answers 401."""
    live = _live_logins(user)
    sessions.end_everywhere(user)
    audit.record("user.logout_everywhere", actor=actor, ip=ip, target=user, before=live,
                 after={"sessions": 0, "devices": 0})
    return live


def _live_logins(user):
    return {"sessions": len(db.session.scalars(select(LoginSession.id).where(
                LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))).all()),
            "devices": len(db.session.scalars(select(DeviceToken.id).where(
                DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None))).all())}


def issue_phone_codes(users, *, base_url, actor=None, ip=None):
    """A one-time phone code for each of `users` who may have one: [(user, link, expires_at)],
    and the names of those skipped (deactivated, residents)."""
    issued, skipped = [], []
    for user in users:
        if not provisioning.may_have_code(user):
            skipped.append(user.username)
            continue
        code, record = provisioning.issue(user, actor=actor)
        audit.record("user.phone_code", actor=actor, ip=ip, target=user,
                     after={"code_id": record.id, "expires_at": record.expires_at.isoformat(timespec="seconds")})
        issued.append((user, provisioning.link(base_url, code), record.expires_at))
    return issued, skipped
