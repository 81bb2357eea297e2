"""谁主管谁负责: which department answers for a category at a place.

Most specific rule first: this level-2 grid and category, this grid for all
categories, then the same two for its level-1 parent, then the category's
default department. None means the dispatcher routes the case by hand.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select

from ..extensions import db
from .models import Department, RoutingRule


@dataclass(frozen=True)
class Route:
    department: Department | None
    liaison_group: str | None


# Built once: a statement made anew for every report spends more time in SQLAlchemy
# (building the IN, its cache key) than in the database. Only the rules that could
# apply to this category are read, as plain rows (bench/dispatch.py).
_RULES = (
    select(RoutingRule.grid_id, RoutingRule.category_id, RoutingRule.department_id, RoutingRule.liaison_group)
    .where(RoutingRule.grid_id.in_(bindparam("grid_ids", expanding=True)),
           or_(RoutingRule.category_id == bindparam("category_id"), RoutingRule.category_id.is_(None)))
    .order_by(RoutingRule.id)
)


def route(category, grid_id, parent_grid_id=None):
    grid_ids = [g for g in (grid_id, parent_grid_id) if g is not None]
    if grid_ids:
        rules = db.session.execute(_RULES, {"grid_ids": grid_ids, "category_id": category.id}).all()
        for gid in grid_ids:
            for category_id in (category.id, None):
                for rule in rules:
                    if rule.grid_id == gid and rule.category_id == category_id:
                        department = db.session.get(Department, rule.department_id)
                        return Route(department, rule.liaison_group or department.liaison_group)
    department = category.department
    if department is None or not department.active:
        return Route(None, None)
    return Route(department, department.liaison_group)
