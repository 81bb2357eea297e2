"""Who may see which case, and how each person is related to one: every rule once,
as a Python predicate (for the case in hand) and a SQL clause (for a list) side
by side. The home list, the case page and API, the tasks, the workflow's WHO and
the merge target all read them here; tests/cases/test_access_agreement.py checks
that each predicate and its clause agree on every pair of user and case.

A relation's `test(user, case)` answers for one case; its `clause(user)` is the
WHERE condition that selects exactly the cases the test accepts (false() when
none can be)."""
from dataclasses import dataclass
from typing import Callable

from flask import abort
from sqlalchemy import false, or_, select, true

from ..accounts.models import OVERSIGHT_ROLES, Role
from ..extensions import db
from ..grids.models import Grid
from .assists import PART_STAGES
from .models import Case, CaseFollower, CaseStage, Status


def worker_grid_ids(user):
    """The grids `user` works in (the relationship is loaded once per session and
    refreshed after each commit, so a list that checks many cases reads it once)."""
    return {grid.id for grid in user.grids}


# -- the relations ------------------------------------------------------------------

def _by_role(roles):
    """A relation that holds for every case, for users of these roles: (test, clause)."""
    roles = frozenset(roles)

    def test(user, case):
        return user.role_enum in roles

    def clause(user):
        return true() if user.role_enum in roles else false()

    return test, clause


_is_oversight, _oversight_clause = _by_role(OVERSIGHT_ROLES)


def _is_assignee(user, case):
    return case.assignee_id is not None and case.assignee_id == user.id


def _assignee_clause(user):
    return Case.assignee_id == user.id


def _is_reporter(user, case):
    return case.reporter_id is not None and case.reporter_id == user.id


def _reporter_clause(user):
    return Case.reporter_id == user.id


def _in_department(user, case):
    """Department staff see their department's cases (谁主管谁负责); staff not yet
    placed in a department see none by this rule."""
    return (user.role_enum == Role.DEPT_STAFF and user.department_id is not None
            and case.department_id == user.department_id)


def _department_clause(user):
    if user.role_enum != Role.DEPT_STAFF or user.department_id is None:
        return false()
    return Case.department_id == user.department_id


def _assists(running):
    """Staff of a department that assists with a case (协办): with a part open
    (`running`: they work it now), or with any part, open or ended (they may see it)."""

    def test(user, case):
        if user.role_enum != Role.DEPT_STAFF or user.department_id is None:
            return False
        return any(row.stage in PART_STAGES and row.owner_id == user.department_id
                   and (row.done_at is None or not running) for row in case.stages)

    def clause(user):
        if user.role_enum != Role.DEPT_STAFF or user.department_id is None:
            return false()
        parts = select(CaseStage.case_id).where(CaseStage.stage.in_(list(PART_STAGES)),
                                                CaseStage.owner_kind == "department",
                                                CaseStage.owner_id == user.department_id)
        return Case.id.in_(parts.where(CaseStage.done_at.is_(None)) if running else parts)

    return test, clause


def _in_my_grids(user, case):
    """A grid worker's grids and, for a level-1 grid's worker, its level-2 grids."""
    if user.role_enum != Role.GRID_WORKER or case.grid_id is None:
        return False
    grids = worker_grid_ids(user)
    return case.grid_id in grids or (case.grid is not None and case.grid.parent_id in grids)


def _grids_clause(user):
    if user.role_enum != Role.GRID_WORKER:
        return false()
    grids = worker_grid_ids(user)
    if not grids:
        return false()
    return Case.grid_id.in_(select(Grid.id).where(or_(Grid.id.in_(grids), Grid.parent_id.in_(grids))))


def _chiefs_grid(user, case):
    """A grid's chief (网格长, or a street chief 街长 for a road segment) sees its cases,
    and a level-1 grid's chief those of its level-2 grids, whatever their role."""
    grid = case.grid
    return grid is not None and user.id is not None and (
        grid.chief_id == user.id or (grid.parent is not None and grid.parent.chief_id == user.id))


def _chief_clause(user):
    led = select(Grid.id).where(Grid.chief_id == user.id)
    return Case.grid_id.in_(select(Grid.id).where(or_(Grid.chief_id == user.id, Grid.parent_id.in_(led))))


def is_follower(user, case):
    """Whether `user` follows `case` because a report of theirs was merged into it ("me too")."""
    return case.id is not None and db.session.get(CaseFollower, (case.id, user.id)) is not None


def _follower_clause(user):
    return Case.id.in_(select(CaseFollower.case_id).where(CaseFollower.user_id == user.id))


def _is_independent(user, case):
    """Someone other than the department whose work is in question: oversight, or
    the grid's workers (复核 is never done by the department that handled it)."""
    if user.department_id is not None and user.department_id == case.department_id:
        return False
    return _is_oversight(user, case) or _in_my_grids(user, case)


def _independent_clause(user):
    others = (Case.department_id.is_(None) | (Case.department_id != user.department_id)
              if user.department_id is not None else true())
    return others & or_(_oversight_clause(user), _grids_clause(user))


@dataclass(frozen=True)
class Relation:
    name: str
    test: Callable        # (user, case) -> bool
    clause: Callable      # (user) -> SQL condition on Case
    who: str              # for "only … may": plain words


RELATIONS = {relation.name: relation for relation in [
    Relation("oversight", _is_oversight, _oversight_clause, "dispatchers, supervisors and administrators"),
    Relation("admin", *_by_role({Role.ADMIN}), "administrators"),
    Relation("supervisor", *_by_role({Role.SUPERVISOR, Role.ADMIN}), "supervisors and administrators"),
    Relation("assignee", _is_assignee, _assignee_clause, "the person it is assigned to"),
    Relation("department", _in_department, _department_clause, "the department's staff"),
    Relation("assisting", *_assists(running=True), "the assisting departments' staff"),
    Relation("assisted", *_assists(running=False), "the staff of a department that assists with it"),
    Relation("grid_worker", _in_my_grids, _grids_clause, "the grid's workers"),
    Relation("chief", _chiefs_grid, _chief_clause, "the grid's chief"),
    Relation("reporter", _is_reporter, _reporter_clause, "the reporter"),
    Relation("follower", is_follower, _follower_clause, "the people who reported it"),
    Relation("independent", _is_independent, _independent_clause,
             "dispatchers, supervisors or the grid's workers, not the department that handled it"),
]}

# Who may see a case at all: each of these relations lets a signed-in user see it.
VIEWERS = ("oversight", "assignee", "department", "assisted", "grid_worker", "chief", "reporter", "follower")


def related(user, case, names):
    """Whether `user` stands in any of the named relations to `case`."""
    return bool(user and user.is_authenticated) and any(RELATIONS[name].test(user, case) for name in names)


def related_clause(user, names):
    """The SQL condition selecting the cases for which `related(user, case, names)` holds."""
    if not (user and user.is_authenticated):
        return false()
    return or_(*(RELATIONS[name].clause(user) for name in names))


def can_view_case(user, case):
    return related(user, case, VIEWERS)


def visible_clause(user):
    """The cases `user` may see (the SQL twin of can_view_case)."""
    return related_clause(user, VIEWERS)


# -- the public ---------------------------------------------------------------------
# Anyone (the board, Open311) sees a case once it is screened: "reported" may be
# abusive, "rejected" was refused. What of it they see is cases/privacy.py's rule.
PUBLIC_STATUSES = tuple(s.value for s in Status if s not in (Status.REPORTED, Status.REJECTED))


def is_public(case):
    return case.status in PUBLIC_STATUSES


def public_clause():
    return Case.status.in_(PUBLIC_STATUSES)


def reporter_and_followers(case):
    """The ids of the people who hear of a case's progress as its reporters do."""
    ids = [case.reporter_id] if case.reporter_id is not None else []
    if case.id is not None:
        ids += [uid for uid in db.session.scalars(select(CaseFollower.user_id).where(CaseFollower.case_id == case.id)
                                                  .order_by(CaseFollower.user_id)) if uid not in ids]
    return ids


def sees_in_full(user, case):
    """Whether `user` sees `case` as those who handle it do: the exact point, the
    address, every note and the staff's names. That is the staff who may see it and
    its reporter; a follower (their own report merged into it) sees it as the public
    board shows it, and their own report in full on its own page."""
    if not user or not user.is_authenticated:
        return False
    return user.is_staff or _is_reporter(user, case)


def can_see_reporter(user):
    """Reporters' identities (masked phone) are for oversight roles only."""
    return user.is_authenticated and user.role_enum in OVERSIGHT_ROLES


def get_case_or_404(case_id=None, *, ref=None, user):
    """The case if it exists and `user` may see it; 404 otherwise, so that
    nobody learns which case numbers exist by trying them."""
    if ref is not None:
        case = db.session.scalar(select(Case).where(Case.ref == ref))
    else:
        case = db.session.get(Case, case_id)
    if case is None or not can_view_case(user, case):
        abort(404)
    return case
