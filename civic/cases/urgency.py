"""Urgency levels and the time limit of each stage at each level (docs/time-limits.md).

A category has a level (its usual urgency); a dispatcher may set another for one
case, with a reason. The table level × stage → limit is the deployment's: the
defaults below, with any cell replaced from the JSON file named by
CIVIC_TIME_LIMITS, e.g. {"normal": {"handle": "5 working_days"}}. A limit is
"<amount> <unit>", the unit saying which clock counts it: calendar_minutes,
calendar_hours and calendar_days run round the clock; working_minutes,
working_hours and working_days count the county's working time (its hours,
holidays and make-up working days: cases/deadlines.py).

At the category's own level the acknowledge and handle limits are the category's
(its ack_minutes and resolve limit: the county's standard for that problem, e.g.
暴露垃圾 4 working hours); the table gives them at any other level, and gives the
accept, dispatch and verify limits at every level.
"""
import json
from dataclasses import dataclass

from flask import current_app

LEVELS = ("emergency", "urgent", "normal", "complex")
LEVEL_NAMES = {"emergency": "紧急", "urgent": "较急", "normal": "一般", "complex": "复杂"}
DEFAULT_LEVEL = "normal"
UNITS = ("calendar_minutes", "calendar_hours", "calendar_days", "working_minutes", "working_hours", "working_days")
# The stages with a clock; closing (结案) follows the verification at once.
TIMED_STAGES = ("accept", "dispatch", "acknowledge", "handle", "verify")


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str

    @property
    def calendar(self):
        return self.unit.startswith("calendar")

    def __str__(self):
        return f"{self.amount} {self.unit}"


def parse_limit(text):
    """'15 calendar_minutes' → Limit(15, 'calendar_minutes'); ValueError for anything else."""
    parts = str(text).split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in UNITS:
        raise ValueError(f"a time limit is '<whole number> <unit>' with a unit among {', '.join(UNITS)}; "
                         f"not {text!r}")
    if int(parts[0]) <= 0:
        raise ValueError(f"a time limit is more than nothing; not {text!r}")
    return Limit(int(parts[0]), parts[1])


# Where these come from: docs/time-limits.md.
DEFAULT_LIMITS = {
    "emergency": {"accept": "15 calendar_minutes", "dispatch": "15 calendar_minutes",
                  "acknowledge": "15 calendar_minutes", "handle": "2 calendar_hours", "verify": "1 calendar_hours"},
    "urgent": {"accept": "30 calendar_minutes", "dispatch": "30 calendar_minutes",
               "acknowledge": "30 calendar_minutes", "handle": "24 calendar_hours", "verify": "4 calendar_hours"},
    "normal": {"accept": "1 working_hours", "dispatch": "1 working_hours", "acknowledge": "1 working_hours",
               "handle": "7 working_days", "verify": "1 working_days"},
    "complex": {"accept": "1 working_hours", "dispatch": "1 working_hours", "acknowledge": "1 working_hours",
                "handle": "15 working_days", "verify": "2 working_days"},
}


def build_table(overrides=None):
    """{level: {stage: Limit}} from the defaults with `overrides` ({level: {stage: text}})
    laid over them; ValueError naming the cell for anything that is not a level, a
    stage or a limit."""
    table = {level: {stage: parse_limit(text) for stage, text in stages.items()}
             for level, stages in DEFAULT_LIMITS.items()}
    if overrides is None:
        return table
    if not isinstance(overrides, dict):
        raise ValueError("the time limits are an object of levels")
    for level, stages in overrides.items():
        if level not in LEVELS:
            raise ValueError(f"unknown urgency level {level!r}; one of {', '.join(LEVELS)}")
        if not isinstance(stages, dict):
            raise ValueError(f"{level}: an object of stages")
        for stage, text in stages.items():
            if stage not in TIMED_STAGES:
                raise ValueError(f"{level}: unknown stage {stage!r}; one of {', '.join(TIMED_STAGES)}")
            try:
                table[level][stage] = parse_limit(text)
            except ValueError as exc:
                raise ValueError(f"{level}.{stage}: {exc}") from None
    return table


def load_table(path):
    """The table from the file at `path` (None: the defaults)."""
    if not path:
        return build_table()
    try:
        with open(path, encoding="utf-8") as handle:
            overrides = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"CIVIC_TIME_LIMITS={path}: {exc}") from None
    try:
        return build_table(overrides)
    except ValueError as exc:
        raise ValueError(f"CIVIC_TIME_LIMITS={path}: {exc}") from None


def install(app):
    """Read the table once, at start: a mistake in the file stops the app with its reason."""
    app.extensions["time_limits"] = load_table(app.config.get("TIME_LIMITS_FILE"))


def table(app=None):
    app = app or current_app
    limits = app.extensions.get("time_limits")
    if limits is None:
        install(app)
        limits = app.extensions["time_limits"]
    return limits


def category_limit(category, stage):
    """The category's own limit for the acknowledge and handle stages, else None."""
    calendar = category.urgency == "emergency"
    if stage == "acknowledge":
        return Limit(category.ack_minutes, "calendar_minutes" if calendar else "working_minutes")
    if stage == "handle":
        if calendar or category.resolve_unit == "calendar_hours":
            return Limit(category.resolve_limit, "calendar_hours")
        return Limit(category.resolve_limit, category.resolve_unit)
    return None


def limit_for(stage, category, level=None, app=None):
    """The limit of `stage` for a case of `category` at urgency `level` (None: the
    category's own), or None for a stage without a clock."""
    if stage not in TIMED_STAGES:
        return None
    level = level or category.urgency
    if level == category.urgency:
        own = category_limit(category, stage)
        if own is not None:
            return own
    return table(app)[level][stage]


def check_level(value):
    """`value` as a level, or ValueError."""
    if value not in LEVELS:
        raise ValueError(f"urgency is one of {', '.join(LEVELS)}")
    return value
