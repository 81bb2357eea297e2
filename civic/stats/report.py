"""The unified table (一表通) and the daily report (通报) built on it.

One table serves the performance page, the daily report, its printable page,
the CSV and XLSX exports and the JSON for other systems: the same rows and the
same columns, so a number cannot differ between them. Rows are departments,
grids or categories (the `by` of the view); each row holds the figures of
queries.py for the period and the cases overdue now.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..grids.models import Category, Department, Grid
from . import queries

# (key, heading, kind): kind says how a value is shown and exported.
COLUMNS = (
    ("reported", _l("Reported"), "count"),
    ("accepted", _l("Accepted"), "count"),
    ("volume", _l("Dispatched"), "count"),
    ("acknowledged", _l("Acknowledged"), "count"),
    ("ack_on_time_rate", _l("Acknowledged on time"), "rate"),
    ("ack_minutes_median", _l("Minutes to acknowledge (median)"), "minutes"),
    ("ack_minutes_p90", _l("Minutes to acknowledge (P90)"), "minutes"),
    ("handled", _l("Handled"), "count"),
    ("handled_on_time_rate", _l("Handled on time"), "rate"),
    ("resolve_minutes_median", _l("Minutes to resolve (median)"), "minutes"),
    ("resolve_minutes_p90", _l("Minutes to resolve (P90)"), "minutes"),
    ("closed", _l("Closed"), "count"),
    ("ratings", _l("Ratings"), "count"),
    ("satisfaction_rate", _l("Satisfaction"), "rate"),
    ("reopen_rate", _l("Reopened"), "rate"),
    ("returned", _l("Returned"), "count"),
    ("overdue_now", _l("Overdue now"), "count"),
    # The command centre's stages on these cases: its lateness, not the department's.
    ("accept_on_time_rate", _l("Accepted on time (command centre)"), "rate"),
    ("dispatch_on_time_rate", _l("Dispatched on time (command centre)"), "rate"),
)
HEADINGS = {"department": _l("Department"), "grid": _l("Grid"), "category": _l("Category")}


@dataclass
class Table:
    by: str
    start: date
    end: date
    rows: list = field(default_factory=list)   # [{"key_id", "code", "name", **figures}]
    total: dict = field(default_factory=dict)
    generated_at: datetime | None = None


def names(by):
    """{id: (code, name)} of every department, grid or category (small tables)."""
    if by == "department":
        rows = db.session.execute(select(Department.id, Department.code, Department.name))
    elif by == "grid":
        rows = db.session.execute(select(Grid.id, Grid.code, Grid.name))
    else:
        rows = db.session.execute(select(Category.id, Category.code, Category.name_zh))
    return {row[0]: (row[1], row[2]) for row in rows}


def unified_table(start, end, by="department", *, now, department_id=None, grid_ids=None, category_id=None,
                  overdue=None):
    """The rows for the period, busiest first; departments (etc.) with no
    activity and nothing overdue are left out. `now` is a naive UTC datetime;
    `overdue` ({key: cases overdue now}) when the caller has counted it already."""
    filters = {"department_id": department_id, "grid_ids": grid_ids, "category_id": category_id}
    figures = queries.performance(start, end, by, **filters)
    if overdue is None:
        overdue = queries.overdue_counts(now, by, **filters)
    labels = names(by)
    rows = []
    for key in set(figures) | {k for k, v in overdue.items() if v}:
        row = dict(figures.get(key) or queries.empty_figures())
        code, name = labels.get(key, ("", None))
        row.update(key_id=key, code=code, name=name, overdue_now=overdue.get(key, 0))
        rows.append(row)
    rows.sort(key=lambda r: (-r["volume"], -r["reported"], -r["overdue_now"], r["code"] or "~"))
    total = queries.totals(start, end, **filters)
    total["overdue_now"] = sum(overdue.values())
    return Table(by=by, start=start, end=end, rows=rows, total=total, generated_at=now)


# -- showing and exporting a value the same way everywhere ---------------------------

def shown(value, kind):
    """The text of a value on the page and in the CSV: rates as 93.3%, minutes
    whole, counts as they are, a dash for nothing to divide by."""
    if value is None:
        return "–"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "minutes":
        return f"{value:.0f}"
    return str(value)


def _label(row):
    return row["name"] or str(_l("(none)"))


def to_csv(table):
    """UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(_l("Code")), str(HEADINGS[table.by])] + [str(h) for _, h, _ in COLUMNS])
    for row in table.rows:
        writer.writerow([row["code"], _label(row)] + [shown(row[k], kind) for k, _, kind in COLUMNS])
    writer.writerow(["", str(_l("Total"))] + [shown(table.total[k], kind) for k, _, kind in COLUMNS])
    return "\ufeff" + out.getvalue()


def to_xlsx(table, title):
    """An XLSX workbook (bytes): numbers as numbers, rates as fractions shown as
    percentages, so a spreadsheet can compute with them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "一表通"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"{table.start.isoformat()} – {table.end.isoformat()}"])
    header = [str(_l("Code")), str(HEADINGS[table.by])] + [str(h) for _, h, _ in COLUMNS]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in table.rows + [dict(table.total, code="", name=str(_l("Total")), key_id=0)]:
        sheet.append([row["code"], _label(row)] + [_cell(row[k], kind) for k, _, kind in COLUMNS])
        for (key, _, kind), cell in zip(COLUMNS, sheet[sheet.max_row][2:]):
            if kind == "rate":
                cell.number_format = "0.0%"
            elif kind == "minutes":
                cell.number_format = "0"
    sheet.freeze_panes = "C4"
    sheet.column_dimensions["B"].width = 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value, kind):
    if value is None:
        return None
    if kind == "minutes":
        return round(value)
    return value


def to_json(table):
    def clean(row):
        """The columns and every other figure behind them (counts under the rates, means)."""
        figures = {k: v for k, v in row.items() if k not in ("key_id", "department_id", "code", "name")}
        return {"code": row.get("code"), "name": row.get("name"),
                **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in figures.items()}}

    return {"by": table.by, "start": table.start.isoformat(), "end": table.end.isoformat(),
            "generated_at": table.generated_at.isoformat() + "Z" if table.generated_at else None,
            "columns": [{"key": k, "heading": str(h), "kind": kind} for k, h, kind in COLUMNS],
            "rows": [clean(r) for r in table.rows], "total": clean(dict(table.total, code=None, name=None))}
