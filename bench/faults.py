"""The fault suite's long form: reports with photos sent by clients that retry like
the field app's outbox, to the production server (gunicorn with gunicorn.conf.py),

- while the server, arbiter and workers at once, is killed with SIGKILL and
  started again (on a throw-away database of the shared PostgreSQL, as
  tests/fault/test_server_crashes.py), and
- while PostgreSQL itself is restarted under the server, `pg_ctl restart -m fast`
  and crashes (`pg_ctl stop -m immediate`, then start), on a cluster of its own
  (initdb into a temporary folder, as tests/fault/test_database_restart.py);

each after a baseline in the same run: the same number of reports, same clients,
no faults, on a fresh database. The scenarios are the tests' own
(tests/fault/scenarios.py).

    .venv/bin/python bench/faults.py [--reports 300] [--kills 10] [--restarts 5] [--clients 4]
                                     [--only kill|database] [--seed N]

Prints, per scenario, baseline and faulted: reports sent and accepted, the
exactly-once check (lost, duplicated, unexpected, wrong photo counts), photos
checked, orphan files before and after `photos gc` and files missing, the clients'
attempts and errors by kind, the 5xx answers (the API's JSON error, or gunicorn's
bare page when the app raised past Flask), how long each
fault kept the service away, time, reports/s and the ratio faulted/baseline.
Exits 1 when a report is lost, duplicated or short of a photo (or a photo's file),
and when `photos gc` leaves a file that no row names.
"""
import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def summary(run):
    tally, check = run.tally, run.check
    errors = ", ".join(f"{kind}: {n}" for kind, n in sorted(tally.errors.items(), key=lambda kv: str(kv[0]))) or "none"
    rows = [
        ("reports sent", f"{run.reports}"),
        ("accepted (200/201)", f"{run.accepted}"),
        ("cases in the database", f"{check.get('cases')}"),
        ("lost / duplicated / unexpected", f"{len(check.get('lost', []))} / {len(check.get('duplicated', []))} / "
                                           f"{len(check.get('unexpected', []))}"),
        ("reports with wrong photo count", f"{len(check.get('wrong_photos', []))}"),
        ("photos checked", f"{check.get('photos_checked')}"),
        ("orphan files before gc / after", f"{check.get('orphans_before_gc')} / {check.get('orphans_after_gc')}"),
        ("  of them .tmp-* after gc", f"{check.get('tmp_files_after_gc')}"),
        ("photo files missing", f"{check.get('missing_files')}"),
        ("faults", f"{len(run.faults)} of {run.faults_planned}"),
        ("client attempts (retries)", f"{tally.attempts} ({tally.attempts - run.accepted})"),
        ("client errors seen", f"{tally.error_count} ({errors})"),
        ("5xx answers: JSON / bare page", f"{tally.server_errors}: {tally.server_errors_json} / "
                                          f"{tally.server_errors_bare}"),
    ]
    if run.faults:
        down = [f["down_s"] for f in run.faults]
        recovered = [f["recovered_s"] for f in run.faults if f["recovered_s"] is not None]
        rows.append(("fault kept it away s (mean/max)", f"{sum(down) / len(down):.2f} / {max(down):.2f}"))
        if recovered:
            rows.append(("first report stored after, s", f"{sum(recovered) / len(recovered):.2f} / "
                                                          f"{max(recovered):.2f}"))
        rows.append(("errors > 1 s after it was back", f"{sum(f['errors_after_up'] for f in run.faults)}"))
    if run.probe:
        ok = sum(1 for status in run.probe if status == 200)
        rows.append(("restart, then reads at once: 200", f"{ok} of {len(run.probe)}"))
    rows += [("time s", f"{run.elapsed:.1f}"), ("reports/s", f"{run.throughput:.1f}")]
    return rows


def report(title, baseline, faulted):
    from tests.fault.scenarios import exactly_once_problems, leftover_problems

    print(f"\n{title}: {faulted.reports} reports from {faulted.clients} clients")
    print(f"{'':34} {'baseline':>14} {'faulted':>14}")
    base = dict(summary(baseline))
    for label, value in summary(faulted):
        other = base.get(label, "-")
        if len(other) <= 14 and len(value) <= 14:
            print(f"{label:34} {other:>14} {value:>14}")
        else:
            print(f"{label:34} baseline: {other}\n{'':34} faulted:  {value}")
    print(f"{'ratio faulted/baseline':34} time {faulted.elapsed / baseline.elapsed:.2f}×, "
          f"throughput {faulted.throughput / baseline.throughput:.2f}×")
    for event in faulted.faults:
        print(f"  at {event['at']:6.1f} s  {event['kind']:22} away {event['down_s']:.2f} s, first report stored "
              f"{event['recovered_s'] if event['recovered_s'] is None else round(event['recovered_s'], 2)} s after")
    if faulted.tally.samples:
        status, content_type, body = faulted.tally.samples[0]
        print(f"  a 5xx answer: {status} {content_type} {body[:160]}")
    for status, content_type, body in faulted.tally.other_samples:
        print(f"  a 5xx answer NOT in the JSON error shape: {status} {content_type} {body[:200]!r}")
    problems = exactly_once_problems(baseline) + exactly_once_problems(faulted)
    print("exactly once: OK (0 lost, 0 duplicated, every photo and its files)" if not problems
          else "EXACTLY ONCE FAILED: " + "; ".join(problems))
    leftovers = leftover_problems(baseline) + leftover_problems(faulted)
    print("left over after photos gc: nothing" if not leftovers else "LEFT OVER: " + "; ".join(leftovers))
    return not problems and not leftovers


def kill_bench(args, workdir):
    from tests.conftest import create_postgis_database
    from tests.fault.scenarios import dispose, kill_scenario, migrated_app, seed_reporter

    runs = []
    for name, kills in (("baseline", 0), ("SIGKILL", args.kills)):
        url, drop = create_postgis_database()
        try:
            app = migrated_app(url, workdir / f"kill-{name}")
            try:
                token, point = seed_reporter(app)
                runs.append(kill_scenario(app, token, point, workdir / f"kill-{name}", reports=args.reports,
                                          kills=kills, clients=args.clients, seed=args.seed, name=name,
                                          timeout=120 + 2 * args.reports + 10 * kills))
            finally:
                dispose(app)
        finally:
            drop()
    return report(f"gunicorn killed with SIGKILL {args.kills} times (shared PostgreSQL)", *runs)


def database_bench(args, workdir):
    from tests.fault.scenarios import ThrowawayCluster, database_restart_scenario

    bindir, why_not = ThrowawayCluster.find_bindir()
    if bindir is None:
        print(f"\nPostgreSQL restarts: skipped, {why_not}")
        return True
    cluster = ThrowawayCluster(bindir)
    try:
        cluster.init().start()
        runs = [database_restart_scenario(cluster, workdir, reports=args.reports, restarts=restarts,
                                          clients=args.clients, seed=args.seed, name=name, database=f"civic_{name}",
                                          timeout=120 + 2 * args.reports + 20 * restarts)
                for name, restarts in (("baseline", 0), ("restarts", args.restarts))]
    finally:
        cluster.destroy()
    return report(f"PostgreSQL restarted {args.restarts} times under gunicorn (a cluster of its own, "
                  f"{Path(bindir).parent.name})", *runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=300, help="reports per run (default 300)")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of gunicorn (default 10)")
    parser.add_argument("--restarts", type=int, default=5, help="PostgreSQL restarts (default 5)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--only", choices=("kill", "database"), help="one scenario only")
    parser.add_argument("--seed", type=int, default=11, help="the faults' random moments (default 11)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="civic-faults-"))
    started = time.monotonic()
    ok = True
    try:
        if args.only in (None, "kill"):
            ok &= kill_bench(args, workdir)
        if args.only in (None, "database"):
            ok &= database_bench(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nfaults: {time.monotonic() - started:.0f} s in all; " + ("OK" if ok else "FAILED (see above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
