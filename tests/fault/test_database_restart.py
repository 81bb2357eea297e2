"""PostgreSQL restarted during the run: clients get errors, retry, nothing is lost
and nothing duplicated.

Reports with photos go from several client threads, by the outbox's rule, to the
production server (gunicorn) on a PostgreSQL cluster of this test's own (initdb
into a temporary folder, a free port: the shared server the other test processes
use is never restarted), while PostgreSQL is restarted under it at random moments:
`pg_ctl restart -m fast`, and a crash (`pg_ctl stop -m immediate`, a pause, start
with crash recovery). While the database is away the server answers 503
database_unavailable (Retry-After) in the API's JSON error shape, never a traceback; it recovers by itself once the
database is back (the engine's pool_pre_ping); every report is stored exactly
once with all its photos, and no photo file is orphaned after the clean-up.

CIVIC_FAULT_REPORTS (40) and CIVIC_FAULT_DB_RESTARTS (3) make it longer; the long
form is `bench/faults.py`. The scenario itself is in tests/fault/scenarios.py."""
import os

import pytest

from tests.conftest import BACKENDS
from tests.fault.scenarios import ThrowawayCluster, database_restart_scenario, exactly_once_problems, leftover_problems

REPORTS = int(os.environ.get("CIVIC_FAULT_REPORTS", 40))
RESTARTS = int(os.environ.get("CIVIC_FAULT_DB_RESTARTS", 3))
CLIENTS = 4


@pytest.fixture
def cluster():
    if "postgis" not in BACKENDS:
        pytest.skip("CIVIC_TEST_BACKENDS leaves out postgis: the production server runs on PostgreSQL + PostGIS")
    bindir, why_not = ThrowawayCluster.find_bindir()
    if bindir is None:
        pytest.skip(why_not)
    cluster = ThrowawayCluster(bindir)
    try:
        cluster.init().start()
        try:
            cluster.create_database("civic_probe")
        except Exception as error:  # noqa: BLE001  (any reason PostGIS cannot be created is a skip)
            pytest.skip(f"CREATE EXTENSION postgis fails on a new cluster of {bindir}: {error}")
        yield cluster
    finally:
        cluster.destroy()


def test_reports_sent_through_database_restarts_arrive_exactly_once_with_their_photos(cluster, tmp_path):
    run = database_restart_scenario(cluster, tmp_path, reports=REPORTS, restarts=RESTARTS, clients=CLIENTS,
                                    timeout=90 + 2 * REPORTS + 10 * RESTARTS)
    # A crash may cut the connection after PostgreSQL committed but before the app heard so: the intake keeps
    # the photo files then (the outcome is unknown), so the retry's stored case has them all.
    assert not exactly_once_problems(run), exactly_once_problems(run)
    assert not leftover_problems(run), leftover_problems(run)
    tally = run.tally
    # The faults happened: the clients met errors and sent again.
    assert tally.error_count > 0 and tally.attempts > run.reports, (tally.errors, tally.attempts)
    # While the database was away the server itself answered, every time in the API's JSON error shape (never
    # a traceback, never gunicorn's bare page: a dead connection's failed ROLLBACK at the end of a request is
    # dropped quietly), and mostly with 503 database_unavailable and Retry-After.
    assert tally.server_errors > 0 and tally.server_errors_json == tally.server_errors, tally.other_samples
    assert tally.errors.get(503, 0) > 0, tally.errors
    # It recovered by itself each time: a report stored after every restart and no errors a second after the
    # database was back; and restarted once more while the server was idle (every pooled connection dead),
    # reads at once right after are each answered on their first try.
    assert all(f["recovered_s"] is not None and f["errors_after_up"] == 0 for f in run.faults), run.faults
    assert run.probe and all(status == 200 for status in run.probe), run.probe
