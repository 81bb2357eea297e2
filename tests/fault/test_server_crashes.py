"""The fault suite's short form: a client that retries like the field app's
outbox sends reports with photos while the production server (gunicorn on
PostgreSQL + PostGIS) is killed with SIGKILL at random moments, arbiter and
workers at once, and started again. Every report exists exactly once with all
its photos, and after the clean-up no photo file is left that no row refers to.

CIVIC_FAULT_REPORTS (30) and CIVIC_FAULT_KILLS (3) make it longer; the long form
is `bench/faults.py`. The scenario itself is in tests/fault/scenarios.py."""
import os

import pytest

from tests.fault.scenarios import exactly_once_problems, kill_scenario, leftover_problems, seed_reporter

REPORTS = int(os.environ.get("CIVIC_FAULT_REPORTS", 30))
KILLS = int(os.environ.get("CIVIC_FAULT_KILLS", 3))


def test_reports_sent_through_crashes_arrive_exactly_once_with_their_photos(app, backend, tmp_path):
    if backend != "postgis":
        pytest.skip("the production server runs on PostgreSQL + PostGIS")
    token, point = seed_reporter(app)
    run = kill_scenario(app, token, point, tmp_path, reports=REPORTS, kills=KILLS, clients=1,
                        timeout=90 + 2 * REPORTS + 5 * KILLS)
    assert not exactly_once_problems(run), exactly_once_problems(run)
    # A crash between writing the files and the commit leaves files no row names, finished or half-written
    # (`.tmp-*`, a SIGKILL in the middle of a write): the clean-up removed them all.
    assert not leftover_problems(run), leftover_problems(run)
