"""谁主管谁负责: which department answers for a category at a place.

Most specific rule first: this level-2 grid and category, this grid for all
categories, then the same two for its level-1 parent, then the category's
default department. None means the dispatcher routes the case by hand.
"""
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from .models import Department, RoutingRule


@dataclass(frozen=True)
class Route:
    department: Department | None
    liaison_group: str | None


def route(category, grid_id, parent_grid_id=None):
    grid_ids = [g for g in (grid_id, parent_grid_id) if g is not None]
    if grid_ids:
        rules = db.session.scalars(
            select(RoutingRule).where(RoutingRule.grid_id.in_(grid_ids))
        ).all()
        for gid in grid_ids:
            for category_id in (category.id, None):
                for rule in rules:
                    if rule.grid_id == gid and rule.category_id == category_id:
                        return Route(rule.department, rule.liaison_group or rule.department.liaison_group)
    department = category.department
    if department is None or not department.active:
        return Route(None, None)
    return Route(department, department.liaison_group)
