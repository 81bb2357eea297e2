"""A user's tasks: the cases the field app keeps on the phone for them to work.

- grid worker: open cases assigned to them, and handled cases in their grids
  (or the grids below a level-1 grid they belong to) waiting for verification
- department staff: open cases of their department that are dispatched,
  acknowledged or in progress, the same of other departments where their own
  department's part (协办) is open, and open cases assigned to them
- dispatcher, supervisor, admin: open cases assigned to them
- residents: none

Most urgent first: the earliest resolve deadline first, cases without one last.
"""
import hashlib

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..accounts.models import OVERSIGHT_ROLES, Role
from ..extensions import db
from .access import related_clause
from .models import OPEN_STATUSES, WORKING_STATUSES, Case, Status

TASK_LIMIT = 200
# What the case JSON reads, loaded in a few queries for the whole list.
LIST_LOADS = [selectinload(Case.category), selectinload(Case.grid), selectinload(Case.department),
              selectinload(Case.photos), selectinload(Case.assignee), selectinload(Case.reporter),
              selectinload(Case.stages)]
TASK_ROLES = (Role.GRID_WORKER, Role.DEPT_STAFF, *OVERSIGHT_ROLES)


def tasks_query(user, limit=TASK_LIMIT):
    """The select() of `user`'s tasks, or None when the user has none by role."""
    role = user.role_enum
    if role not in TASK_ROLES:
        return None
    # Assigned to me and open; a department's cases while they are being worked;
    # a grid's cases once handled, for its workers to verify (核查).
    condition = or_(related_clause(user, ("assignee",)) & Case.status.in_(OPEN_STATUSES),
                    related_clause(user, ("department",)) & Case.status.in_(WORKING_STATUSES),
                    # 协办: a part of it is theirs and still open
                    related_clause(user, ("assisting",)) & Case.status.in_(WORKING_STATUSES),
                    related_clause(user, ("grid_worker",)) & (Case.status == Status.HANDLED.value))
    return (select(Case).where(condition).options(*LIST_LOADS)
            .order_by(Case.resolve_due_at.is_(None), Case.resolve_due_at, Case.id)
            .limit(limit))


def tasks_for(user, limit=TASK_LIMIT):
    query = tasks_query(user, limit)
    return [] if query is None else db.session.scalars(query).all()


def tasks_etag(user, cases):
    """Changes whenever a task comes, goes or changes (every change of a case
    moves its updated_at), and differs between users and their roles."""
    digest = hashlib.sha256(f"{user.id}|{user.role}|{user.department_id}|".encode())
    for case in cases:
        digest.update(f"{case.id}:{case.status}:{case.updated_at.isoformat()};".encode())
    return digest.hexdigest()[:32]
