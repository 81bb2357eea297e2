"""The county's calendar: its own word on days over the national holiday calendar
(a year chinese-calendar does not know yet, a local make-up working day, a typhoon
closure), added one by one or imported from a spreadsheet, and the next days as
the deadlines will count them (cases/deadlines.py reads the same rows).

An import is checked whole: a row that cannot be read (a date that is no date, a
formula, a type that is neither working day nor day off, a date twice in the file)
refuses the file with the row named, and nothing is written.
"""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..cases.deadlines import last_known_year, national_day
from ..extensions import db
from ..grids.models import CalendarDay
from . import audit

NOTE_MAX = 200
HEADERS = {"date": "date", "day": "date", "日期": "date",
           "type": "type", "workday": "type", "类型": "type", "是否上班": "type", "上班": "type",
           "note": "note", "备注": "note", "说明": "note", "原因": "note"}
WORKING = {"workday", "work", "working", "1", "yes", "true", "上班", "工作日", "补班", "调休上班", "是"}
OFF = {"off", "holiday", "closed", "rest", "0", "no", "false", "休息", "放假", "休", "节假日", "停工", "否"}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")


class CalendarError(ValueError):
    """A day or a file refused, said for the person who sent it."""


def _clean(text):
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_day(text):
    text = _clean(text)
    if " " in text:  # a date Excel saved as a date reads "2027-01-01 00:00:00"
        head, tail = text.split(" ", 1)
        if re.fullmatch(r"0{1,2}:00(:00)?", tail):
            text = head
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CalendarError(f"'{text[:30]}' is not a date (write it as 2027-01-01)")


def parse_kind(text):
    value = _clean(text).lower()
    if value in WORKING:
        return True
    if value in OFF:
        return False
    raise CalendarError(f"'{value[:30]}' is neither a working day (workday, 上班) nor a day off (off, 休息)")


def facts(row):
    return {"day": row.day.isoformat(), "workday": row.workday, "note": row.note}


def set_day(day, workday, note=None, *, actor=None, ip=None):
    """Add or change the county's word on `day`. Returns the row, or None when nothing changed."""
    note = _clean(note)[:NOTE_MAX] or None
    row = db.session.get(CalendarDay, day)
    if row is not None and (row.workday, row.note) == (workday, note):
        return None
    before = facts(row) if row is not None else None
    if row is None:
        row = CalendarDay(day=day, workday=workday, note=note)
        db.session.add(row)
    else:
        row.workday, row.note = workday, note
    db.session.flush()
    audit.record("calendar.set", actor=actor, ip=ip, target=row, label=day.isoformat(), before=before,
                 after=facts(row))
    return row


def remove_day(day, *, actor=None, ip=None):
    """The day counts as the national calendar says again. Returns whether there was a row."""
    row = db.session.get(CalendarDay, day)
    if row is None:
        return False
    before = facts(row)
    db.session.delete(row)
    db.session.flush()
    audit.record("calendar.remove", actor=actor, ip=ip, target=row, label=day.isoformat(), before=before)
    return True


def overrides(since=None):
    query = select(CalendarDay).order_by(CalendarDay.day)
    if since is not None:
        query = query.where(CalendarDay.day >= since)
    return db.session.scalars(query).all()


# -- importing ------------------------------------------------------------------------

@dataclass
class ImportRow:
    number: int
    day: date | None = None
    workday: bool | None = None
    note: str | None = None
    errors: list = field(default_factory=list)  # [(column, reason)]


@dataclass
class ImportPlan:
    rows: list
    problems: list = field(default_factory=list)

    @property
    def invalid(self):
        return [row for row in self.rows if row.errors]

    def messages(self):
        """Every reason the file is refused, each naming its row."""
        return self.problems + [f"Row {row.number}, {column}: {reason}." for row in self.invalid
                                for column, reason in row.errors]


def check_import(table_rows):
    """The plan for rows read by tables.read_rows (header: date, type, note)."""
    (header_number, header), *data = table_rows
    columns = [HEADERS.get(_clean(cell).lower()) for cell in header]
    plan = ImportPlan(rows=[])
    if "date" not in columns or "type" not in columns:
        plan.problems.append(f"Row {header_number} must be the header: date, type, note (日期, 类型, 备注).")
        return plan
    seen = {}
    for number, cells in data:
        values = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(columns) if column}
        row = ImportRow(number)
        for column, parse, attribute in (("date", parse_day, "day"), ("type", parse_kind, "workday")):
            text = values.get(column) or ""
            if text.startswith("="):
                row.errors.append((column, f"'{text[:30]}' is a formula; type the value itself"))
            elif not text:
                row.errors.append((column, "empty (a formula cell without a saved value reads as empty)"))
            else:
                try:
                    setattr(row, attribute, parse(text))
                except CalendarError as exc:
                    row.errors.append((column, str(exc)))
        note = _clean(values.get("note"))
        if note.startswith("="):
            row.errors.append(("note", "a formula; type the text itself"))
        elif len(note) > NOTE_MAX:
            row.errors.append(("note", f"at most {NOTE_MAX} characters"))
        row.note = note or None
        if row.day is not None:
            if row.day in seen:
                row.errors.append(("date", f"{row.day.isoformat()} is also in row {seen[row.day]}"))
            else:
                seen[row.day] = number
        plan.rows.append(row)
    return plan


def apply_import(plan, *, actor=None, ip=None):
    """Write every row of a plan without errors (refused whole otherwise). Returns (added or changed, unchanged)."""
    if plan.problems or plan.invalid:
        raise CalendarError(" ".join(plan.messages()[:10]) + " Nothing was imported.")
    changed = sum(1 for row in plan.rows if set_day(row.day, row.workday, row.note, actor=actor, ip=ip) is not None)
    return changed, len(plan.rows) - changed


# -- the days ahead ----------------------------------------------------------------------

@dataclass
class Day:
    day: date
    workday: bool
    source: str          # "local" (the county's word), "national" (chinese-calendar) or "weekday" (a year it does not know)
    reason: str | None   # the note, the holiday's name, or None

    @property
    def weekend(self):
        return self.day.weekday() >= 5


def describe(day, local=None):
    """How the deadlines count `day`: the county's row if there is one, else the national calendar."""
    row = local.get(day) if local is not None else db.session.get(CalendarDay, day)
    if row is not None:
        return Day(day, row.workday, "local", row.note)
    workday, source, name = national_day(day)
    return Day(day, workday, source, name)


def next_days(today, n=60):
    """The `n` days from `today`, each as the deadlines will count it."""
    local = {row.day: row for row in overrides(since=today) if row.day < today + timedelta(days=n)}
    return [describe(today + timedelta(days=i), local) for i in range(n)]


def unknown_years(today, n=60):
    """Years within the next `n` days the holiday package does not know, and whether
    the county has entered any day of each (the page warns about the others)."""
    last = last_known_year()
    years = sorted({(today + timedelta(days=i)).year for i in range(n)} - set(range(today.year, last + 1)))
    return [(year, db.session.scalar(select(CalendarDay.day).where(CalendarDay.day >= date(year, 1, 1),
                                                                   CalendarDay.day <= date(year, 12, 31)).limit(1))
             is not None) for year in years]
