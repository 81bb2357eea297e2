"""The routing table (谁主管谁负责) as administrators keep it: one rule per scope
× category (a level-2 or level-1 grid, a street, everywhere; one category or
every category) → department; setting and deleting a rule; the table as rows for
an XLSX and back (checked whole first: by default nothing is applied while any
row is invalid; re-importing an export changes nothing); and "who would get
this?", which asks civic/grids/routing.route itself, so the tester and the
intake never disagree. Services: they add and flush, the caller commits."""
import io
import unicodedata
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select

from ..extensions import db
from ..grids.models import Category, Department, Grid, RoutingRule
from ..grids.routing import STEPS, route
from . import audit
from .tables import RowPlan, header_columns

COLUMNS = ("scope", "grid", "street", "category", "department", "liaison_group")
HEADERS = {"scope": "scope", "范围": "scope", "grid": "grid", "网格": "grid", "street": "street", "街道": "street",
           "category": "category", "类别": "category", "department": "department", "部门": "department",
           "liaison_group": "liaison_group", "联络群": "liaison_group"}
SCOPES = ("grid", "street", "all")
EVERY = "*"  # the category cell of a rule for every category
STEP_WORDS = dict(STEPS)
SCOPE_ORDER = {"grid": 0, "street": 1, "all": 2}


class RuleError(ValueError):
    """A rule that cannot be written: said for the person who asked."""


def rules():
    """Every rule, most specific first (grids by level, then streets, then everywhere;
    a category's rule before the every-category rule of the same scope)."""
    rows = db.session.scalars(select(RoutingRule)).all()
    return sorted(rows, key=lambda r: (SCOPE_ORDER[r.scope], -(r.grid.level if r.grid else 0),
                                       r.grid.code if r.grid else (r.street or ""),
                                       r.category_id is None, r.category.code if r.category else ""))


def facts(rule):
    """A rule as the audit log, the export and an import compare it."""
    return {"scope": rule.scope, "grid": rule.grid.code if rule.grid else "", "street": rule.street or "",
            "category": rule.category.code if rule.category else EVERY,
            "department": rule.department.code, "liaison_group": rule.liaison_group or ""}


def describe(rule):
    where = {"grid": lambda: f"grid {rule.grid.code}", "street": lambda: f"street {rule.street}",
             "all": lambda: "everywhere"}[rule.scope]()
    what = rule.category.code if rule.category else "every category"
    return f"{where} × {what} → {rule.department.code}"


@dataclass
class Wanted:
    """A rule asked for (a form, a command, a row), resolved to objects."""
    grid: Grid | None
    street: str | None
    category: Category | None
    department: Department
    liaison_group: str | None

    def key(self):
        where = (f"grid:{self.grid.id}" if self.grid is not None else f"street:{self.street}" if self.street
                 else "all")
        return f"{where}|category:{self.category.id if self.category is not None else '*'}"


def _clean(text):
    return unicodedata.normalize("NFKC", text or "").strip()


def resolve(scope, grid_code, street, category_code, department_code, liaison_group):
    """Wanted, or RuleError(column, message) naming what is wrong."""
    scope = _clean(scope).lower() or ("grid" if _clean(grid_code) else "street" if _clean(street) else "all")
    if scope not in SCOPES:
        raise RuleError("scope", f"unknown scope {scope[:20]!r}: grid, street or all")
    grid, street = None, _clean(street) or None
    if scope == "grid":
        code = _clean(grid_code)
        grid = db.session.scalar(select(Grid).where(Grid.code == code)) if code else None
        if grid is None:
            raise RuleError("grid", f"no grid with code {code[:32]!r}" if code else "a grid rule needs a grid code")
        if not grid.active:
            raise RuleError("grid", f"grid {grid.code} is retired")
        street = None
    elif scope == "street":
        if street is None:
            raise RuleError("street", "a street rule needs a street")
        if db.session.scalar(select(Grid.id).where(Grid.street == street).limit(1)) is None:
            raise RuleError("street", f"no grid lies in the street {street[:40]!r}")
    else:
        street = None
    category = None
    code = _clean(category_code)
    if code and code != EVERY:
        category = db.session.scalar(select(Category).where(Category.code == code))
        if category is None:
            raise RuleError("category", f"no category with code {code[:16]!r}")
    code = _clean(department_code)
    department = db.session.scalar(select(Department).where(Department.code == code)) if code else None
    if department is None:
        raise RuleError("department", f"no department with code {code[:32]!r}" if code else "a department is required")
    if not department.active:
        # Refused: a retired department reads no queue (grids/routing.py skips such rules).
        raise RuleError("department", f"department {department.code} is retired")
    group = _clean(liaison_group) or None
    if group and len(group) > 200:
        raise RuleError("liaison_group", "at most 200 characters")
    return Wanted(grid, street, category, department, group)


def set_rule(wanted, *, actor=None, ip=None):
    """Create the rule of this scope × category, or change its department; returns
    (rule, "create" | "update" | "unchanged")."""
    rule = db.session.scalar(select(RoutingRule).where(RoutingRule.key == wanted.key()))
    before = facts(rule) if rule else None
    if rule is None:
        rule = RoutingRule()
        db.session.add(rule)
    rule.grid, rule.street, rule.category = wanted.grid, wanted.street, wanted.category
    rule.department, rule.liaison_group = wanted.department, wanted.liaison_group
    db.session.flush()
    after = facts(rule)
    if before == after:
        return rule, "unchanged"
    if before is None:
        audit.record("routing_rule.create", actor=actor, ip=ip, target=rule, after=after, label=describe(rule))
        return rule, "create"
    old, new = audit.changed(before, after)
    audit.record("routing_rule.update", actor=actor, ip=ip, target=rule, before=old, after=new, label=describe(rule))
    return rule, "update"


def delete_rule(rule, *, actor=None, ip=None):
    audit.record("routing_rule.delete", actor=actor, ip=ip, target=rule, before=facts(rule), label=describe(rule))
    db.session.delete(rule)
    db.session.flush()


# -- who would get this? --------------------------------------------------------------------

@dataclass
class Answer:
    grid: Grid | None
    department: Department | None
    liaison_group: str | None
    step: str | None
    rule: RoutingRule | None

    @property
    def decided_by(self):
        """In words: the rule, the category's default, or nobody."""
        if self.rule is not None:
            return f"{STEP_WORDS[self.step]}: {describe(self.rule)}"
        if self.step is not None:
            return STEP_WORDS[self.step]
        return "no rule: the dispatcher routes it by hand"

    def to_json(self):
        return {"grid": self.grid.to_brief() if self.grid else None,
                "department": self.department.to_brief() if self.department else None,
                "rule": {"id": self.rule.id if self.rule else None, "step": self.step,
                         "precedence": list(STEP_WORDS).index(self.step) + 1 if self.step else None,
                         "description": self.decided_by, "liaison_group": self.liaison_group}}


def who_gets(category, grid):
    """Where a new case of `category` in `grid` (None: outside every grid) goes."""
    destination = route(category, grid.id if grid else None, grid.parent_id if grid else None)
    rule = db.session.get(RoutingRule, destination.rule_id) if destination.rule_id else None
    return Answer(grid, destination.department, destination.liaison_group, destination.step, rule)


# -- the table as rows -------------------------------------------------------------------------

def export_rows():
    return [[facts(rule)[column] for column in COLUMNS] for rule in rules()]


def workbook(header, rows, title):
    """An XLSX of text cells (as people.passwords_workbook): a cell starting with "="
    is never a formula, a code never a number."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)

    def text(value):
        cell = WriteOnlyCell(sheet, value="" if value is None else str(value))
        cell.data_type = "s"
        return cell

    sheet.append([text(name) for name in header])
    for row in rows:
        sheet.append([text(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_workbook():
    return workbook(COLUMNS, export_rows(), "routing")


@dataclass
class Row:
    number: int
    values: dict
    wanted: Wanted | None = None
    action: str = "invalid"  # create, update, unchanged, invalid
    errors: list = field(default_factory=list)  # [(column, message)]


@dataclass
class Plan(RowPlan):
    deletions: list = field(default_factory=list)  # rules not in the file (with replace)

    def summary(self):
        return super().summary() + (f", {len(self.deletions)} deleted" if self.deletions else "")


def check_import(table_rows, *, replace=False):
    (header_number, header), *data = table_rows
    columns = header_columns(header, HEADERS)
    plan = Plan(rows=[])
    if "department" not in columns or not {"grid", "street", "scope"} & set(columns):
        plan.problems.append(f"Row {header_number} must be the header: {', '.join(COLUMNS)}.")
        return plan
    existing = {rule.key: rule for rule in db.session.scalars(select(RoutingRule))}
    seen = {}
    for number, cells in data:
        values = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(columns) if column}
        row = Row(number, values)
        plan.rows.append(row)
        try:
            row.wanted = resolve(*(values.get(column, "") for column in COLUMNS))
        except RuleError as error:
            row.errors.append(error.args)
            continue
        key = row.wanted.key()
        if key in seen:
            other = seen[key]
            message = f"the same scope and category as row {other.number}"
            row.errors.append(("category", message))
            if other.action != "invalid":
                other.errors.append(("category", f"the same scope and category as row {number}"))
                other.action = "invalid"
            continue
        seen[key] = row
        rule = existing.get(key)
        if rule is not None and "liaison_group" not in columns:
            row.wanted.liaison_group = rule.liaison_group  # a file without the column keeps the groups
        if rule is None:
            row.action = "create"
        else:
            now = facts(rule)
            wanted = {"department": row.wanted.department.code, "liaison_group": row.wanted.liaison_group or ""}
            row.action = "unchanged" if all(now[k] == v for k, v in wanted.items()) else "update"
    if replace:
        plan.deletions = [rule for key, rule in existing.items() if key not in seen]
    return plan


def apply_import(plan, *, actor=None, ip=None):
    """All or nothing: refused while any row (or the file) is invalid."""
    plan.refuse_unless_valid()
    for rule in plan.deletions:
        delete_rule(rule, actor=actor, ip=ip)
    for row in plan.rows:
        if row.action in ("create", "update"):
            set_rule(row.wanted, actor=actor, ip=ip)
    return plan
