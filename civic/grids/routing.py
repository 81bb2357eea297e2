"""谁主管谁负责: which department answers for a category at a place.

The one routing rule of the code (intake.placement for every channel, the
administrators' "who would get this?" tester and GET /api/v1/routing/preview
all call `route`). Precedence, most specific first:

  1. the level-2 grid, this category
  2. the level-2 grid, every category
  3. its level-1 parent, this category
  4. its level-1 parent, every category
  5. the grid's street (街道/乡镇, Grid.street), this category
  6. the grid's street, every category
  7. everywhere, this category
  8. the category's own default department (if it is active)
  9. everywhere, every category
 10. none: the dispatcher routes the case by hand.

A rule to a retired (inactive) department is skipped, and the next step
decides: a retired department reads no queue, so a case sent there would wait
unseen. (The administrators' pages and commands refuse to write such a rule;
one can still exist when its department is retired afterwards.)
Changes apply to new cases: a case keeps the department it was routed to.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select

from ..extensions import db
from .models import Department, Grid, RoutingRule

# (step, what the page says), in precedence order; a Route names its step.
STEPS = (
    ("grid_category", "this grid, this category"),
    ("grid_all", "this grid, every category"),
    ("parent_category", "the level-1 grid, this category"),
    ("parent_all", "the level-1 grid, every category"),
    ("street_category", "the street, this category"),
    ("street_all", "the street, every category"),
    ("everywhere_category", "everywhere, this category"),
    ("category_default", "the category's default department"),
    ("everywhere_all", "everywhere, every category"),
)
RANK = {step: rank for rank, (step, _words) in enumerate(STEPS)}
DEFAULT_RANK = RANK["category_default"]


@dataclass(frozen=True)
class Route:
    department: Department | None
    liaison_group: str | None
    step: str | None = None     # one of STEPS, None: nothing routes it
    rule_id: int | None = None  # the RoutingRule that decided (None: the category's default, or nothing)


# Built once: a statement made anew for every report spends more time in SQLAlchemy
# (building the IN, its cache key) than in the database. One query reads the few
# rules that could apply (this category or every category; these grids, the grid's
# street, everywhere) as plain rows (bench/dispatch.py).
_GRID_STREET = select(Grid.street).where(Grid.id == bindparam("grid_id")).scalar_subquery()
_RULES = (
    select(RoutingRule.id, RoutingRule.scope, RoutingRule.grid_id, RoutingRule.category_id,
           RoutingRule.department_id, RoutingRule.liaison_group, Department)
    .join(Department, Department.id == RoutingRule.department_id)  # in the same read, not one get per rule
    .where(or_(RoutingRule.category_id == bindparam("category_id"), RoutingRule.category_id.is_(None)),
           or_(RoutingRule.grid_id.in_(bindparam("grid_ids", expanding=True)),
               RoutingRule.street == _GRID_STREET,
               RoutingRule.scope == "all"))
)


def _rank(rule, grid_id):
    """The rule's place in STEPS (0 most specific)."""
    every = rule.category_id is None
    if rule.scope == "grid":
        return (0 if rule.grid_id == grid_id else 2) + every
    if rule.scope == "street":
        return 4 + every
    return 8 if every else 6  # the category's default (7) sits between everywhere's two


def route(category, grid_id, parent_grid_id=None):
    """The Route for `category` in the level-2 grid `grid_id` (None: outside every grid)."""
    grid_ids = [g for g in (grid_id, parent_grid_id) if g is not None]
    rules = db.session.execute(_RULES, {"grid_ids": grid_ids, "grid_id": grid_id, "category_id": category.id}).all()
    # Most specific first; a retired department's rule is passed over.
    candidates = sorted(((_rank(rule, grid_id), rule) for rule in rules), key=lambda pair: pair[0])
    default = category.department
    for rank, rule in candidates:
        if rank > DEFAULT_RANK and default is not None and default.active:
            break
        department = rule.Department
        if department.active:
            return Route(department, rule.liaison_group or department.liaison_group, STEPS[rank][0], rule.id)
    if default is not None and default.active:
        return Route(default, default.liaison_group, "category_default")
    return Route(None, None)
