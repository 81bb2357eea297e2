"""The clocks of a case's stages: a limit (cases/urgency.py) counted on calendar
time or on working time from the moment the stage starts.

Working time follows the official Chinese holiday calendar, make-up working
days (调休) included, through the chinese-calendar package, over which the
county's own days win (CalendarDay: a holiday of a year the package does not
know yet, a local make-up day, a typhoon closure), and the working hours of the
department (else the county's). Urgent categories run on calendar time. All
inputs and outputs are naive UTC; the arithmetic happens in the local zone.

The county's days are read on the report's hot path, so they are kept in memory
per process (CountyCalendar): a commit of this process that changes one drops the
copy at once, and at most every CALENDAR_CHECK_SECONDS one small query (count and
newest update) tells whether another process (another gunicorn worker, the
command line) changed them. Deadlines already set are not counted again.
"""
import itertools
import threading
import time as clock_time
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
from flask import current_app, has_app_context
from sqlalchemy import event, func, select

from ..config import DEFAULT_TIMEZONE, DEFAULT_WORKING_HOURS
from ..extensions import db
from ..grids.models import CalendarDay
from ..timeutil import local_zone
from .urgency import limit_for

MAX_DAYS_SEARCHED = 3660


def parse_working_hours(spec):
    """'08:30-12:00,13:30-17:30' → [(time(8, 30), time(12)), (time(13, 30), time(17, 30))].
    Raises ValueError for anything else (a period ending before it starts, two overlapping)."""
    periods = []
    for part in spec.split(","):
        bounds = part.split("-")
        if len(bounds) != 2:
            raise ValueError(f"working period {part.strip()!r} is not HH:MM-HH:MM")
        start, end = (time.fromisoformat(x.strip()) for x in bounds)
        if end <= start:
            raise ValueError(f"working period {part!r} ends before it starts")
        periods.append((start, end))
    periods.sort()
    for (_, end), (start, _) in itertools.pairwise(periods):
        if start < end:
            raise ValueError(f"working periods overlap at {start.strftime('%H:%M')}")
    return periods


def is_workday(day: date):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package does not know yet: plain weekdays
        return day.weekday() < 5


def national_day(day: date):
    """How the national calendar counts `day`: (workday, source, holiday name or None);
    source "national", or "weekday" for a year the package does not know yet."""
    try:
        holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return day.weekday() < 5, "weekday", None
    return not holiday, "national", name


def last_known_year():
    """The last year whose holidays the installed chinese-calendar knows."""
    return max(chinese_calendar.holidays).year


class WorkingClock:
    def __init__(self, tz_name=DEFAULT_TIMEZONE, working_hours=DEFAULT_WORKING_HOURS, overrides=None):
        self.tz = local_zone({"TIMEZONE": tz_name})
        # {date: workday} of the county's own days, over the national calendar
        self.overrides = overrides or {}
        self.periods = parse_working_hours(working_hours)
        self.minutes_per_day = sum(
            (datetime.combine(date.min, e) - datetime.combine(date.min, s)).seconds // 60 for s, e in self.periods
        )

    def is_workday(self, day):
        override = self.overrides.get(day)
        return is_workday(day) if override is None else override

    def _local(self, utc_naive):
        return utc_naive.replace(tzinfo=UTC).astimezone(self.tz)

    @staticmethod
    def _utc(local):
        return local.astimezone(UTC).replace(tzinfo=None)

    def add_working_minutes(self, start_utc, minutes):
        """The moment `minutes` of working time after `start_utc` have passed."""
        current = self._local(start_utc)
        remaining = timedelta(minutes=minutes)
        for _ in range(MAX_DAYS_SEARCHED):
            day = current.date()
            if self.is_workday(day):
                for start, end in self.periods:
                    opens = datetime.combine(day, start, self.tz)
                    closes = datetime.combine(day, end, self.tz)
                    if current >= closes:
                        continue
                    begin = max(current, opens)
                    available = closes - begin
                    if remaining <= available:
                        return self._utc(begin + remaining)
                    remaining -= available
                    current = closes
            current = datetime.combine(day + timedelta(days=1), time.min, self.tz)
        raise ValueError("deadline beyond the searchable calendar")

    def due(self, start_utc, limit):
        """The moment `limit` (urgency.Limit) runs out for a stage started at `start_utc`."""
        unit = limit.unit
        if unit == "calendar_minutes":
            return start_utc + timedelta(minutes=limit.amount)
        if unit == "calendar_hours":
            return start_utc + timedelta(hours=limit.amount)
        if unit == "calendar_days":
            return start_utc + timedelta(days=limit.amount)
        if unit == "working_minutes":
            return self.add_working_minutes(start_utc, limit.amount)
        if unit == "working_hours":
            return self.add_working_minutes(start_utc, limit.amount * 60)
        # working_days: the same working moment N working days later
        return self.add_working_minutes(start_utc, limit.amount * self.minutes_per_day)

    def deadlines(self, start_utc, category, level=None):
        """(acknowledge by, resolve by) for a case of `category` at urgency `level`
        (None: the category's own), both counted from `start_utc`: the moment the
        case reached the stage before (its arrival, its dispatch)."""
        return (self.due(start_utc, limit_for("acknowledge", category, level)),
                self.due(start_utc, limit_for("handle", category, level)))


class CountyCalendar:
    """The county's CalendarDay rows in memory, {date: workday}: see the module's note."""

    def __init__(self, check_seconds=30):
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._days = None
        self._stamp = None
        self._checked_at = 0.0

    @staticmethod
    def _current_stamp():
        return tuple(db.session.execute(select(func.count(), func.max(CalendarDay.updated_at))
                                        .select_from(CalendarDay)).one())

    def reload(self):
        stamp = self._current_stamp()
        days = {row.day: row.workday for row in db.session.execute(select(CalendarDay.day, CalendarDay.workday))}
        with self._lock:
            self._days, self._stamp, self._checked_at = days, stamp, clock_time.monotonic()

    def invalidate(self):
        with self._lock:
            self._days = None

    def days(self):
        """{date: workday}, current to within check_seconds (at once for this process's own commits)."""
        if self._days is None:
            self.reload()
        elif clock_time.monotonic() - self._checked_at > self.check_seconds:
            self._checked_at = clock_time.monotonic()
            if self._current_stamp() != self._stamp:
                self.reload()
        return self._days


def county_calendar(app):
    calendar = app.extensions.get("county_calendar")
    if calendar is None:
        calendar = app.extensions["county_calendar"] = CountyCalendar(app.config.get("CALENDAR_CHECK_SECONDS", 30))
    return calendar


@event.listens_for(db.session, "after_flush")
def _note_calendar_changes(session, _ctx):
    if any(isinstance(obj, CalendarDay) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info["calendar_changed"] = True


@event.listens_for(db.session, "after_commit")
def _drop_stale_calendar(session):
    if session.info.pop("calendar_changed", False) and has_app_context():
        county_calendar(current_app).invalidate()


def clock_for(app, department=None):
    """The clock of `department` (its own working hours, else the county's), with the county's days."""
    hours = (department.working_hours if department is not None else None) or app.config["WORKING_HOURS"]
    return WorkingClock(app.config["TIMEZONE"], hours, county_calendar(app).days())
