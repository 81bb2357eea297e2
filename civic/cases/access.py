"""Who may see which case: one place for the object-level rule."""
from flask import abort
from sqlalchemy import select

from ..accounts.models import OVERSIGHT_ROLES, Role
from ..extensions import db
from ..grids.models import grid_members
from .models import Case, CaseFollower


def worker_grid_ids(user):
    return set(db.session.scalars(select(grid_members.c.grid_id).where(grid_members.c.user_id == user.id)))


def is_follower(user, case):
    """Whether `user` follows `case` because a report of theirs was merged into it."""
    return case.id is not None and db.session.get(CaseFollower, (case.id, user.id)) is not None


def reporter_and_followers(case):
    """The ids of the people who hear of a case's progress as its reporters do."""
    ids = [case.reporter_id] if case.reporter_id is not None else []
    if case.id is not None:
        ids += [uid for uid in db.session.scalars(select(CaseFollower.user_id).where(CaseFollower.case_id == case.id)
                                                  .order_by(CaseFollower.user_id)) if uid not in ids]
    return ids


def can_view_case(user, case):
    if not user or not user.is_authenticated:
        return False
    if case.reporter_id == user.id or (case.assignee_id is not None and case.assignee_id == user.id):
        return True
    role = user.role_enum
    if role in OVERSIGHT_ROLES:
        return True
    if role == Role.DEPT_STAFF:
        return user.department_id is not None and case.department_id == user.department_id
    if role == Role.GRID_WORKER:
        grids = worker_grid_ids(user)
        if case.grid_id in grids or (case.grid is not None and case.grid.parent_id in grids):
            return True
    return is_follower(user, case)


def sees_in_full(user, case):
    """Whether `user` sees `case` as those who handle it do: the exact point, the
    address, every note and the staff's names. That is the staff who may see it and
    its reporter; a follower (their own report merged into it) sees it as the public
    board shows it, and their own report in full on its own page."""
    if not user or not user.is_authenticated:
        return False
    return user.is_staff or (case.reporter_id is not None and case.reporter_id == user.id)


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
