"""The category catalogue as administrators keep it: enable or disable a category,
its default department, whether an after-photo is required, urgency, time limits
and icon; the whole catalogue as an XLSX and back. An import is checked whole
first (every row gets a verdict naming the column at fault) and by default
nothing is applied while any row is invalid; re-importing an export changes
nothing. A change applies to new cases: an open case keeps the deadlines it was
given. Services: they add and flush, the caller commits."""
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from ..grids.models import (
    COMPONENT_CLASSES,
    EVENT_CLASSES,
    RESOLVE_UNITS,
    Category,
    Department,
)
from . import audit
from .routing_admin import workbook
from .tables import RowPlan, header_columns

COLUMNS = ("code", "name_zh", "name_en", "department", "active", "urgent", "after_photo_required",
           "ack_minutes", "resolve_limit", "resolve_unit", "icon", "sort_order")
HEADERS = {name: name for name in COLUMNS} | {
    "编码": "code", "代码": "code", "名称": "name_zh", "name": "name_zh", "英文名称": "name_en",
    "部门": "department", "主管部门": "department", "启用": "active", "紧急": "urgent",
    "需要处置后照片": "after_photo_required", "受理时限(分钟)": "ack_minutes", "处置时限": "resolve_limit",
    "时限单位": "resolve_unit", "图标": "icon", "排序": "sort_order"}
CODE = re.compile(r"^[CE]\d{4}$")
ICON = re.compile(r"^[a-z0-9_-]{1,32}$")
YES = {"yes", "y", "true", "1", "是", "启用", "√"}
NO = {"no", "n", "false", "0", "否", "停用", ""}
FLAGS = ("active", "urgent", "after_photo_required")
LIMITS = {"ack_minutes": (1, 7 * 24 * 60), "resolve_limit": (1, 365), "sort_order": (0, 100_000)}


class CategoryError(ValueError):
    """(column, message) of a value that cannot be written."""


def catalogue():
    return db.session.scalars(select(Category).order_by(Category.sort_order, Category.code)).all()


def facts(category):
    """A category as the audit log, the export and an import compare it."""
    return {"code": category.code, "name_zh": category.name_zh, "name_en": category.name_en,
            "department": category.department.code if category.department else "",
            "active": category.active, "urgent": category.urgent,
            "after_photo_required": category.after_photo_required, "ack_minutes": category.ack_minutes,
            "resolve_limit": category.resolve_limit, "resolve_unit": category.resolve_unit,
            "icon": category.icon or "", "sort_order": category.sort_order}


def _clean(text):
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()


def parse(values, current=None):
    """The facts `values` ask for (text cells or form fields), over `current`'s; CategoryError names the column."""
    out = dict(current or {})
    for column in COLUMNS:
        if column not in values:
            continue
        text = _clean(values[column])
        if column == "code":
            if not CODE.fullmatch(text):
                raise CategoryError("code", "a code is C or E and four digits, e.g. E0102")
            out["code"] = text
        elif column in ("name_zh", "name_en"):
            if not text:
                raise CategoryError(column, "a name is required")
            if len(text) > 100:
                raise CategoryError(column, "at most 100 characters")
            out[column] = text
        elif column == "department":
            if text:
                department = db.session.scalar(select(Department).where(Department.code == text))
                if department is None:
                    raise CategoryError("department", f"no department with code {text[:32]!r}")
                if not department.active and text != (current or {}).get("department"):
                    raise CategoryError("department", f"department {text} is retired")
            out["department"] = text
        elif column in FLAGS:
            if text.lower() not in YES | NO:
                raise CategoryError(column, f"yes or no, not {text[:20]!r}")
            out[column] = text.lower() in YES
        elif column in LIMITS:
            low, high = LIMITS[column]
            if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
                raise CategoryError(column, f"a whole number from {low} to {high}")
            out[column] = int(text)
        elif column == "resolve_unit":
            if text not in RESOLVE_UNITS:
                raise CategoryError(column, f"one of {', '.join(RESOLVE_UNITS)}")
            out[column] = text
        elif column == "icon":
            if text and not ICON.fullmatch(text):
                raise CategoryError(column, "lower-case letters, digits, - and _ (at most 32)")
            out[column] = text
    for column in ("name_zh", "name_en"):
        if not out.get(column):
            raise CategoryError(column, "a name is required")
    return out


def _write(category, wanted):
    category.name_zh, category.name_en = wanted["name_zh"], wanted["name_en"]
    code = wanted.get("department")
    category.department = db.session.scalar(select(Department).where(Department.code == code)) if code else None
    for name in FLAGS + tuple(LIMITS) + ("resolve_unit",):
        if name in wanted:
            setattr(category, name, wanted[name])
    category.icon = wanted.get("icon") or None


NEW_DEFAULTS = {"active": True, "urgent": False, "after_photo_required": True, "ack_minutes": 30,
                "resolve_limit": 1, "resolve_unit": "working_days", "icon": "", "sort_order": 0, "department": ""}


def save(category, wanted, *, actor=None, ip=None):
    """Create (category None) or change a category; returns (category, action)."""
    before = facts(category) if category is not None else None
    if category is None:
        code = wanted["code"]
        category = Category(code=code, kind="component" if code[0] == "C" else "event", class_code=code[1:3])
        db.session.add(category)
    _write(category, wanted)
    db.session.flush()
    after = facts(category)
    if before is None:
        audit.record("category.create", actor=actor, ip=ip, target=category, after=after)
        return category, "create"
    if before == after:
        return category, "unchanged"
    old, new = audit.changed(before, after)
    audit.record("category.update", actor=actor, ip=ip, target=category, before=old, after=new)
    return category, "update"


def class_name(code):
    classes = COMPONENT_CLASSES if code[:1] == "C" else EVENT_CLASSES
    return classes.get(code[1:3], "其他")


# -- the catalogue as rows --------------------------------------------------------------------

def _cell(value):
    return ("yes" if value else "no") if isinstance(value, bool) else value


def export_workbook():
    rows = [[_cell(facts(category)[column]) for column in COLUMNS] for category in catalogue()]
    return workbook(COLUMNS, rows, "categories")


@dataclass
class Row:
    number: int
    values: dict
    category: Category | None = None
    wanted: dict | None = None
    action: str = "invalid"
    errors: list = field(default_factory=list)  # [(column, message)]
    changes: dict = field(default_factory=dict)


def check_import(table_rows):
    (header_number, header), *data = table_rows
    columns = header_columns(header, HEADERS)
    plan = RowPlan(rows=[])
    if "code" not in columns:
        plan.problems.append(f"Row {header_number} must be the header: {', '.join(COLUMNS)} (missing code).")
        return plan
    existing = {category.code: category for category in catalogue()}
    seen = {}
    for number, cells in data:
        values = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(columns) if column}
        row = Row(number, values)
        plan.rows.append(row)
        code = _clean(values.get("code"))
        if code in seen:
            row.errors.append(("code", f"{code} is also in row {seen[code].number}"))
            seen[code].errors.append(("code", f"{code} is also in row {number}"))
            seen[code].action = "invalid"
            continue
        seen[code] = row
        row.category = existing.get(code)
        current = facts(row.category) if row.category else {**NEW_DEFAULTS, "code": code}
        try:
            row.wanted = parse(values, current)
        except CategoryError as error:
            row.errors.append(error.args)
            continue
        if row.category is None:
            row.action = "create"
            continue
        row.changes = {key: (current[key], value) for key, value in row.wanted.items() if current[key] != value}
        row.action = "update" if row.changes else "unchanged"
    return plan


def apply_import(plan, *, actor=None, ip=None):
    plan.refuse_unless_valid()
    for row in plan.rows:
        if row.action in ("create", "update"):
            save(row.category, row.wanted, actor=actor, ip=ip)
    return plan
