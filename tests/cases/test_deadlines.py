"""Deadlines on the working-day calendar, with holidays and make-up days (调休)."""
from datetime import datetime, timedelta
from types import SimpleNamespace

from civic.cases.deadlines import WorkingClock

CLOCK = WorkingClock("Asia/Shanghai", "08:30-12:00,13:30-17:30")


def utc(local_text):
    """A Beijing wall-clock time as naive UTC."""
    return datetime.fromisoformat(local_text) - timedelta(hours=8)


def category(**kw):
    base = {"urgent": False, "ack_minutes": 30, "resolve_limit": 4, "resolve_unit": "working_hours"}
    base.update(kw)
    base.setdefault("urgency", "emergency" if base["urgent"] else "normal")  # the category's level
    return SimpleNamespace(**base)


def test_working_hours_skip_lunch_and_night():
    # Monday 2026-11-23 11:00 + 4 working hours: 1 h before lunch, 3 h after → 16:30.
    assert CLOCK.add_working_minutes(utc("2026-11-23T11:00"), 240) == utc("2026-11-23T16:30")
    # Friday 16:00 + 4 h: 1.5 h on Friday, 2.5 h on Monday morning → Monday 11:00.
    assert CLOCK.add_working_minutes(utc("2026-11-27T16:00"), 240) == utc("2026-11-30T11:00")
    # Reported at night: the clock starts at 08:30 the next working day.
    assert CLOCK.add_working_minutes(utc("2026-11-24T22:00"), 30) == utc("2026-11-25T09:00")


def test_national_day_holiday_and_make_up_working_day():
    # 2025: 1–8 October are holidays; Saturday 11 October is a make-up working day (调休).
    assert CLOCK.add_working_minutes(utc("2025-09-30T17:00"), 60) == utc("2025-10-09T09:00")
    assert CLOCK.add_working_minutes(utc("2025-10-10T17:00"), 60) == utc("2025-10-11T09:00")


def test_working_days_and_urgent_calendar_time():
    ack, resolve = CLOCK.deadlines(utc("2026-11-23T10:00"), category(resolve_limit=2, resolve_unit="working_days"))
    assert ack == utc("2026-11-23T10:30") and resolve == utc("2026-11-25T10:00")
    ack, resolve = CLOCK.deadlines(utc("2026-11-28T23:00"), category(urgent=True, ack_minutes=15, resolve_limit=6,
                                                                       resolve_unit="calendar_hours"))
    assert ack == utc("2026-11-28T23:15") and resolve == utc("2026-11-29T05:00")


def test_years_the_calendar_package_does_not_know_fall_back_to_weekdays():
    # A Friday evening in 2031: Monday morning.
    assert CLOCK.add_working_minutes(utc("2031-01-03T18:00"), 30) == utc("2031-01-06T09:00")
