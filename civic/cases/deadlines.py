"""The two clocks of a case: acknowledge (minutes) and resolve (working time).

Working time follows the official Chinese holiday calendar, make-up working
days (调休) included, through the chinese-calendar package, and the configured
working hours. Urgent categories run on calendar time. All inputs and outputs
are naive UTC; the arithmetic happens in the local zone.
"""
from datetime import date, datetime, time, timedelta, timezone

from ..config import DEFAULT_TIMEZONE, DEFAULT_WORKING_HOURS
from ..timeutil import local_zone

import chinese_calendar

MAX_DAYS_SEARCHED = 3660


def parse_working_hours(spec):
    """'08:30-12:00,13:30-17:30' → [(time(8, 30), time(12)), (time(13, 30), time(17, 30))]."""
    periods = []
    for part in spec.split(","):
        start, end = (time.fromisoformat(x.strip()) for x in part.split("-"))
        if end <= start:
            raise ValueError(f"working period {part!r} ends before it starts")
        periods.append((start, end))
    return sorted(periods)


def is_workday(day: date):
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year the package does not know yet: plain weekdays
        return day.weekday() < 5


class WorkingClock:
    def __init__(self, tz_name=DEFAULT_TIMEZONE, working_hours=DEFAULT_WORKING_HOURS):
        self.tz = local_zone({"TIMEZONE": tz_name})
        self.periods = parse_working_hours(working_hours)
        self.minutes_per_day = sum(
            (datetime.combine(date.min, e) - datetime.combine(date.min, s)).seconds // 60 for s, e in self.periods
        )

    def _local(self, utc_naive):
        return utc_naive.replace(tzinfo=timezone.utc).astimezone(self.tz)

    @staticmethod
    def _utc(local):
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    def add_working_minutes(self, start_utc, minutes):
        """The moment `minutes` of working time after `start_utc` have passed."""
        current = self._local(start_utc)
        remaining = timedelta(minutes=minutes)
        for _ in range(MAX_DAYS_SEARCHED):
            day = current.date()
            if is_workday(day):
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

    def deadlines(self, received_utc, category):
        """(acknowledge by, resolve by) for a case of `category` received at `received_utc`."""
        if category.urgent:
            ack = received_utc + timedelta(minutes=category.ack_minutes)
        else:
            ack = self.add_working_minutes(received_utc, category.ack_minutes)
        if category.urgent or category.resolve_unit == "calendar_hours":
            resolve = received_utc + timedelta(hours=category.resolve_limit)
        elif category.resolve_unit == "working_hours":
            resolve = self.add_working_minutes(received_utc, category.resolve_limit * 60)
        else:  # working_days: the same working moment N working days later
            resolve = self.add_working_minutes(received_utc, category.resolve_limit * self.minutes_per_day)
        return ack, resolve


def clock_for(app):
    return WorkingClock(app.config["TIMEZONE"], app.config["WORKING_HOURS"])
