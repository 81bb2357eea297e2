"""The tests' clock: run the suite as if it were started at another moment.

    CIVIC_TEST_NOW=2026-10-10T09:30+08:00 make test

moves the clock of the test processes, and of every Python process they start
(the app servers of the browser tests, gunicorn, RQ workers), to that moment
at the start of the run; from there it ticks on as usual. The suite must pass
whatever the day: a holiday, a make-up working day, the last minute of a year.

The moment is turned once into a shift against the real clock
(CIVIC_TEST_CLOCK_SHIFT, seconds), which every process inherits, so that all
of them read the same time however late they start. Child processes pick it
up through tests/clockshift/sitecustomize.py, put first on their PYTHONPATH.
Databases keep their own clocks; the app reads time only in Python.
"""
import os
import sys
import time
from datetime import datetime
from pathlib import Path

NOW = "CIVIC_TEST_NOW"
SHIFT = "CIVIC_TEST_CLOCK_SHIFT"
SITE = Path(__file__).resolve().parent / "clockshift"


def parse_moment(text):
    """'2026-12-31T23:59+08:00' → a POSIX timestamp; the offset is required (whose midnight?)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{NOW} needs a UTC offset, e.g. 2026-12-31T23:59+08:00 (got {text!r})")
    return moment.timestamp()


def install():
    """Start the shifted clock in this process (and hand it to child processes), if one is asked for."""
    if SHIFT not in os.environ and os.environ.get(NOW):
        os.environ[SHIFT] = repr(parse_moment(os.environ[NOW]) - time.time())
    if os.environ.get(SHIFT):
        # Here too, not only where the shift was computed: pytest-xdist starts its
        # workers with a PYTHONPATH of its own.
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if str(SITE) not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([str(SITE), *paths])
        if getattr(sys.modules.get("sitecustomize"), "SHIFTED", False):
            return True  # this process started with the shifted clock already (an xdist worker)
        import time_machine

        time_machine.travel(time.time() + float(os.environ[SHIFT]), tick=True).start()
        return True
    return False


def describe():
    """A line for pytest's header, so a log says which day the suite believed it was."""
    if not os.environ.get(SHIFT):
        return None
    return f"test clock: {datetime.now().astimezone().isoformat(timespec='seconds')} ({NOW}={os.environ.get(NOW)})"
