"""Loaded by every Python process that the tests start while CIVIC_TEST_NOW is
set (tests/clock.py puts this folder first on PYTHONPATH): the same shifted
clock as the test process. pytest-xdist's workers start this way too; then
tests/clock.py sees `SHIFTED` and does not shift their clock a second time."""
import os
import time

SHIFTED = False
if os.environ.get("CIVIC_TEST_CLOCK_SHIFT"):
    import time_machine

    time_machine.travel(time.time() + float(os.environ["CIVIC_TEST_CLOCK_SHIFT"]), tick=True).start()
    SHIFTED = True
