"""`flask --app app …` commands: users (create, import, deactivate, reactivate, set, reset-password, logout,
phone-code), seed-demo, grids import, catalogue, photos gc,
vapid-keys, jobs worker / run, push worker / send-due, cases chase, notify send-due,
stats rebuild, open311 create-key / keys / revoke-key."""

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select, union

from .extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")
grids_cli = AppGroup("grids", help="Manage grids.")
photos_cli = AppGroup("photos", help="Photo storage maintenance.")
push_cli = AppGroup("push", help="Web Push notifications: the background worker and due retries.")
cases_cli = AppGroup("cases", help="Case workflow jobs.")
notify_cli = AppGroup("notify", help="Group notifications to departments' chat groups (webhooks).")
stats_cli = AppGroup("stats", help="Statistics roll-ups for the dashboards.")
jobs_cli = AppGroup("jobs", help="Background jobs on RQ (with REDIS_URL): the worker and one-off runs.")
open311_cli = AppGroup("open311", help="Open311 GeoReport v2: the api_keys other systems file requests with.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, help="resident, grid_worker, dept_staff, dispatcher, supervisor or admin")
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--grid", "grid_code", help="Grid code the user works in (grid workers).")
@click.option("--department", "department_code", help="Department code (department staff).")
@click.option("--phone")
@click.option("--name", "display_name")
def create_user_command(username, role, password, grid_code, department_code, phone, display_name):
    """Create a user account."""
    from .accounts.services import AccountError, create_user

    try:
        user = create_user(username, role, password, grid_code=grid_code, department_code=department_code,
                           phone=phone, display_name=display_name)
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.username} ({user.role})")


@users_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and print what would change; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Apply the valid rows even when some are invalid.")
@click.option("--passwords-out", type=click.Path(dir_okay=False),
              help="Write the new accounts' one-time passwords to this XLSX file.")
def import_users_command(path, dry_run, skip_invalid, passwords_out):
    """Import staff from an XLSX or CSV file with the header
    username,name,role,phone,grids,department (grids: codes separated by ';')."""
    from pathlib import Path

    from flask_babel import force_locale

    from .admin import people
    from .admin.tables import TableError, read_rows

    try:
        plan = people.check_import(read_rows(Path(path).read_bytes(), path))
    except TableError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in plan.problems:
        raise click.ClickException(problem)
    with force_locale("en"):  # the command line speaks English, as its other commands do
        for row in plan.rows:
            click.echo(_import_line(row))
    refused = bool(plan.invalid) and not skip_invalid
    if dry_run or refused:
        db.session.rollback()
        click.echo(plan.summary() + (" (dry run: nothing written)" if dry_run else " (nothing applied: fix the "
                                     "invalid rows, or use --skip-invalid)"))
        if refused:
            raise SystemExit(1)
        return
    applied = people.apply_import(plan, skip_invalid=skip_invalid)
    if passwords_out:
        Path(passwords_out).write_bytes(people.passwords_workbook(applied.passwords))
    db.session.commit()
    if applied.passwords and not passwords_out:
        click.echo("one-time passwords (each must be changed at the first login):")
        for username, _name, _phone, password in applied.passwords:
            click.echo(f"  {username}\t{password}")
    click.echo(plan.summary())


def _import_line(row):
    if row.action == "invalid":
        reasons = "; ".join(f"{column}: {reason}" for column, reason in row.reasons())
        return f"row {row.number}: invalid: {reasons}"
    if row.action == "update":
        changes = ", ".join(f"{key} {before!r} → {after!r}" for key, (before, after) in row.changes.items())
        return f"row {row.number}: update {row.username}: {changes}"
    return f"row {row.number}: {row.action} {row.username}"


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_user_command(username):
    """Deactivate an account: its sessions and device tokens end now, its open tasks go back to the queue."""
    from .admin import people

    user = _user_named(username)
    released = people.deactivate(user)
    db.session.commit()
    click.echo(f"deactivated {user.username}; {len(released)} open tasks back in the queue"
               + (f": {', '.join(case.ref for case in released)}" if released else ""))


@users_cli.command("reactivate")
@click.argument("username")
def reactivate_user_command(username):
    """Let a deactivated account log in again."""
    from .admin import people

    user = _user_named(username)
    changed = people.reactivate(user)
    db.session.commit()
    click.echo(f"reactivated {user.username}" if changed else f"{user.username} is active already")


@users_cli.command("set")
@click.argument("username")
@click.option("--role", help="grid_worker, dept_staff, dispatcher, supervisor or admin (unchanged if left out)")
@click.option("--grids", help="Grid codes separated by ';' or spaces ('' for none; unchanged if left out).")
@click.option("--department", help="Department code ('' for none; unchanged if left out).")
@click.option("--dry-run", is_flag=True, help="Say what would happen to the open tasks; change nothing.")
def set_user_command(username, role, grids, department, dry_run):
    """Change someone's role, grids or department: open tasks their new place no longer covers go back to the queue."""
    from flask_babel import force_locale

    from .admin import accounts, people

    user = _user_named(username)
    now = people.user_facts(user)
    change = accounts.plan_change(user, role=role if role is not None else user.role,
                                  grid_codes=grids if grids is not None else now["grids"],
                                  department_code=department if department is not None else now["department"])
    with force_locale("en"):
        if change.errors:
            db.session.rollback()
            raise click.ClickException("; ".join(f"{name}: {reason}" for name, reason in change.reasons()))
    if not change.changes:
        click.echo(f"{user.username}: nothing to change")
        return
    for key, (before, after) in change.changes.items():
        click.echo(f"{key}: {before!r} → {after!r}")
    click.echo(f"{len(change.kept)} open tasks stay theirs; {len(change.released)} go back to the queue"
               + (f": {', '.join(case.ref for case in change.released)}" if change.released else ""))
    if dry_run:
        db.session.rollback()
        click.echo("(dry run: nothing changed)")
        return
    accounts.apply_change(change)
    db.session.commit()
    click.echo(f"changed {user.username}")


@users_cli.command("reset-password")
@click.argument("username")
def reset_password_command(username):
    """A new one-time password (printed once; changed at the next login); every session and device token ends."""
    from .admin import accounts

    user = _user_named(username)
    if user.role == "resident":
        raise click.ClickException("residents reset their own password with a code texted to their phone")
    password = accounts.reset_password(user)
    db.session.commit()
    click.echo(f"{user.username}\t{password}\t(one-time: must be changed at the next login; logged out everywhere)")


@users_cli.command("logout")
@click.argument("username")
def logout_user_command(username):
    """End every browser session and device token of USERNAME: their phone logs in again."""
    from .admin import accounts

    user = _user_named(username)
    live = accounts.logout_everywhere(user)
    db.session.commit()
    click.echo(f"logged {user.username} out everywhere ({live['sessions']} sessions, {live['devices']} devices)")


@users_cli.command("phone-code")
@click.argument("username")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the QR code to this PNG (or SVG) file.")
def phone_code_command(username, out):
    """A one-time code that logs a phone in as USERNAME (24 hours, one use): prints its link, or writes its QR code."""
    from .admin import accounts
    from .posters.services import make_qr
    from .urls import public_base_url

    user = _user_named(username)
    issued, skipped = accounts.issue_phone_codes([user], base_url=public_base_url())
    if skipped:
        db.session.rollback()
        raise click.ClickException(f"{user.username} is not an active staff account; no phone code can be made")
    _person, url, expires_at = issued[0]
    if out:
        make_qr(url).save(out, scale=8, border=4)
    db.session.commit()
    click.echo(f"phone code for {user.username}, one use, until {expires_at.isoformat(timespec='minutes')} UTC:")
    click.echo(f"  {out}" if out else f"  {url}")


def _user_named(username):
    from .accounts.models import User

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@click.command("seed-demo")
@click.option("--size", type=click.Choice(["full", "small"]), default="full", show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the county already has grids.")
@with_appcontext
def seed_demo_command(size, if_empty):
    """Build the demo county: grids, departments, categories, users and past cases."""
    from .demo.seed import DEMO_PASSWORD, county_is_empty, seed
    from .photos.storage import get_storage

    if not county_is_empty():
        if if_empty:
            click.echo("The county has data already; not seeding.")
            return
        raise click.ClickException("The database has grids already; seed-demo only fills an empty county.")
    demo = seed(current_app, get_storage(current_app), size)
    click.echo(f"Seeded {len(demo.level1)} level-1 and {len(demo.level2)} level-2 grids, "
               f"{len(demo.departments)} departments, {len(demo.categories)} categories.")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): admin, supervisor, dispatcher, worker001, chief01, "
               "staff_san, resident01")


@click.command("catalogue")
@with_appcontext
def catalogue_command():
    """Load or update the standard departments and categories, and add the standard
    reply templates (惯用语) that are not there yet."""
    from .cases.replies import seed_defaults
    from .grids.catalogue import load_catalogue

    departments, categories = load_catalogue()
    db.session.flush()
    replies = seed_defaults()
    db.session.commit()
    click.echo(f"{len(departments)} departments, {len(categories)} categories, {replies} new reply templates")


@grids_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", type=click.Choice(["wgs84", "cgcs2000", "gcj02", "bd09"]), default=None,
              help="The file's coordinate system (default: what the file says; GeoJSON and KML: WGS-84). "
                   "gcj02: drawn on AMap or Tencent maps; bd09: on Baidu maps.")
@click.option("--dry-run", is_flag=True, help="Check every feature and print what would change; write nothing.")
@click.option("--level", type=click.IntRange(1, 2), default=None,
              help="Level for new grids without a 'level' property (else 2 with a parent, 1 without).")
@click.option("--buffer", "buffer_m", type=click.FloatRange(0, 500, min_open=True), default=None,
              help="Width in metres for lines without a 'buffer' property (road segments).")
@click.option("--complete", is_flag=True, help="The file is the whole county: retire the grids not in it.")
def import_grids_command(path, crs, dry_run, level, buffer_m, complete):
    """Import grids from GeoJSON, a zipped Shapefile, KML or KMZ (properties: code, name, level, parent,
    street, kind, buffer). Nothing is applied if any feature is invalid (exit status 1)."""
    from flask_babel import force_locale

    with force_locale("en"):  # the command line speaks English, as its other commands do
        _import_grids(path, crs, dry_run, level, buffer_m, complete)


def _import_grids(path, crs, dry_run, level, buffer_m, complete):
    from pathlib import Path

    from .grids import plan as grid_plan
    from .grids.sources import SourceError, read

    try:
        plan = grid_plan.check(read(Path(path).read_bytes(), path), crs=crs, default_level=level,
                               buffer_m=buffer_m, complete=complete)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in plan.problems:
        raise click.ClickException(str(problem))
    if plan.crs_note:
        click.echo(f"note: {plan.crs_note}")
    for change in plan.changes:
        click.echo(_grid_line(change))
    for finding in plan.findings:
        click.echo(f"{finding.kind.replace('_', ' ')}: {finding.message}")
    refused = bool(plan.invalid)
    if dry_run or refused or not plan.can_apply:
        db.session.rollback()
        click.echo(plan.summary() + (" (dry run: nothing written)" if dry_run else
                                     " (nothing applied: fix the invalid features)" if refused else ""))
        if refused:
            raise SystemExit(1)
        return
    grid_plan.apply(plan, source_name=Path(path).name)
    db.session.commit()
    click.echo(plan.summary())


def _grid_line(change):
    where = f"feature {change.number}" if change.number is not None else "not in the file"
    if change.action == "invalid":
        return f"{where}{f' ({change.code})' if change.code else ''}: invalid: {'; '.join(map(str, change.errors))}"
    notes = f" ({'; '.join(map(str, change.notes))})" if change.notes else ""
    if change.action == "update":
        changes = ", ".join(f"{key} {before!r} → {after!r}" for key, (before, after) in change.changes.items())
        return f"{where}: update {change.code}: {changes}{notes}"
    return f"{where}: {change.action} {change.code}{notes}"


@grids_cli.command("set")
@click.argument("code")
@click.option("--name", default=None, help="The grid's name.")
@click.option("--street", default=None, help="Its street (街道/乡镇); '' for none.")
@click.option("--chief", default=None, help="The chief's username (网格长 / 街长: sees the grid's cases); '' for none.")
@click.option("--workers", default=None, help="The grid workers' usernames separated by ';' (replaces the list).")
def set_grid_command(code, name, street, chief, workers):
    """Change a grid's name, street, chief or workers (what is not given stays)."""
    from flask_babel import force_locale

    from .admin import grids as grids_admin
    from .grids.models import Grid

    grid = db.session.scalar(select(Grid).where(Grid.code == code))
    if grid is None:
        raise click.ClickException(f"no grid with code {code}")
    current = grids_admin.snapshot(grid)
    edit = grids_admin.GridEdit(
        name=current["name"] if name is None else name.strip(),
        street=current["street"] if street is None else street.strip() or None,
        chief=current["chief"] if chief is None else chief.strip() or None,
        workers=current["workers"] if workers is None else grids_admin.split_usernames(workers))
    errors, changed = grids_admin.update(grid, edit)
    if errors:
        db.session.rollback()
        with force_locale("en"):
            raise click.ClickException("; ".join(f"{key}: {message}" for key, message in errors.items()))
    db.session.commit()
    click.echo(f"{code}: {'saved' if changed else 'unchanged'}")


@photos_cli.command("gc")
@click.option("--dry-run", is_flag=True)
@click.option("--min-age", default=60, show_default=True, type=click.IntRange(0),
              help="Minutes: younger files may belong to an upload whose row is not committed yet.")
def photos_gc_command(dry_run, min_age):
    """Delete stored photo files that no photo row refers to (left by a crash mid-upload)."""
    from datetime import timedelta

    from .photos.models import Photo
    from .photos.storage import get_storage

    storage = get_storage(current_app)
    candidates = list(storage.keys(older_than=timedelta(minutes=min_age)))
    referenced = set(db.session.scalars(union(select(Photo.display_key), select(Photo.thumb_key))))
    orphans = [key for key in candidates if key not in referenced]
    for key in orphans:
        if not dry_run:
            storage.delete(key)
    click.echo(f"{len(orphans)} orphan files {'found' if dry_run else 'deleted'}")


@click.command("vapid-keys")
@with_appcontext
def vapid_keys_command():
    """Make the Web Push (VAPID) key pair if there is none; print the public key."""
    from .push.keys import VapidKeyError, key_paths, load_or_create

    private, public = key_paths(current_app.config, current_app.instance_path)
    try:
        keys, created = load_or_create(private, public)
    except (VapidKeyError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    if created:
        click.echo(f"Created {keys.private_path} (keep it secret, never commit it) and {keys.public_path}.")
    else:
        click.echo(f"Using the existing key pair in {keys.private_path}; a new one would make every "
                   "phone's subscription useless, so it is not replaced.")
    click.echo(f"public key: {keys.application_server_key}")


@push_cli.command("send-due")
def push_send_due_command():
    """Send the notifications whose time has come (retries, held for the night): for cron."""
    from .push.jobs import process_due

    counts = process_due()
    click.echo(_counts(counts))


def _start_worker(burst):
    from .jobs import run_worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: notifications are sent by a thread in the app itself "
                                   "(PUSH_RUNNER=thread), and cron runs `flask push send-due`, `flask notify "
                                   "send-due` and `flask cases chase`.")
    run_worker(current_app._get_current_object(), burst=burst)


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Enqueue the periodic jobs that are due, run every job waiting, then stop.")
def jobs_worker_command(burst):
    """Run the RQ worker for every background job (needs REDIS_URL): push, group notifications,
    chasing and roll-up rebuilds; it also enqueues the periodic jobs when they are due."""
    _start_worker(burst)


@push_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
def push_worker_command(burst):
    """The same as `flask jobs worker` (kept for existing deployments)."""
    _start_worker(burst)


@jobs_cli.command("run")
@click.argument("name")
@click.option("--background", is_flag=True, help="Enqueue it on RQ (REDIS_URL) instead of running it here.")
def jobs_run_command(name, background):
    """Run one job now: push.due, notify.due, cases.chase or stats.rebuild."""
    from .jobs import PERIODIC, function

    allowed = sorted(set(PERIODIC) | {"stats.rebuild"})
    if name not in allowed:
        raise click.BadParameter(f"one of {', '.join(allowed)}", param_hint="NAME")
    if background:
        _enqueue_or_fail(name)
        return
    result = function(name)()
    click.echo(f"{name}: {_counts(result) if isinstance(result, dict) else result}")


def _counts(counts):
    """{"sent": 2, "retry": 1} → "1 retry, 2 sent"."""
    return ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing due"


def _enqueue_or_fail(name):
    from .jobs import enqueue

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: run it without --background")
    try:
        job = enqueue(current_app._get_current_object(), name)
    except Exception as error:
        raise click.ClickException(f"could not enqueue {name}: {error}") from None
    click.echo(f"enqueued {name} as job {job.id} on {current_app.config['JOBS_QUEUE']}")


@cases_cli.command("chase")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO 8601; tests and catch-up).")
def cases_chase_command(now_text):
    """Remind (催办) before deadlines and escalate (督办) overdue cases, and bring parked
    cases (挂账) back on their review date: for cron, e.g. every 5 minutes. Safe to
    run twice or concurrently: each is sent once per case and deadline."""
    from datetime import datetime

    from .cases.chasing import chase
    from .cases.parking import resume_due
    from .timeutil import to_utc_naive

    now = None
    if now_text:
        try:
            now = to_utc_naive(datetime.fromisoformat(now_text))
        except ValueError:
            raise click.BadParameter("an ISO 8601 date and time", param_hint="--now") from None
    resumed = resume_due(now)  # first: a case back from parking is chased on its new clock
    counts = chase(now)
    click.echo(f"{counts['remind']} reminders, {counts['escalate']} escalations")
    if resumed:
        click.echo(f"{resumed} parked case{'s' if resumed != 1 else ''} back on the review date")


@notify_cli.command("send-due")
def notify_send_due_command():
    """Post the group notifications whose retry is due: for cron."""
    from .notify.jobs import process_due

    counts = process_due()
    click.echo(_counts(counts))


@stats_cli.command("rebuild")
@click.option("--background", is_flag=True, help="Enqueue it for `flask jobs worker` (REDIS_URL) and return.")
def stats_rebuild_command(background):
    """Count the daily roll-ups again from every case event (idempotent)."""
    from .stats.rollups import rebuild

    if background:
        _enqueue_or_fail("stats.rebuild")
        return
    events, rows = rebuild()
    click.echo(f"{events} events counted into {rows} roll-up rows")


@open311_cli.command("create-key")
@click.argument("name")
def open311_create_key_command(name):
    """Make an api_key for the system NAME; the key is the last line printed (shown only now)."""
    from .open311.keys import create_key

    try:
        raw, key = create_key(name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from None
    db.session.commit()
    click.echo(f"Open311 key {key.id} for {key.name} (keep it secret; it is not shown again):")
    click.echo(raw)


@open311_cli.command("keys")
def open311_keys_command():
    """List the api_keys: id, name, first characters, requests, last use, revoked."""
    from .open311.models import ApiKey

    for key in db.session.scalars(select(ApiKey).order_by(ApiKey.id)):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.name}\t{key.prefix}…\t{key.requests} requests\t{state}")


@open311_cli.command("revoke-key")
@click.argument("key_id", type=int)
def open311_revoke_key_command(key_id):
    """Revoke the api_key KEY_ID: requests with it get 403 from now on."""
    from .open311.models import ApiKey
    from .open311.keys import revoke_key

    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise click.BadParameter(f"no key {key_id}", param_hint="KEY_ID")
    revoke_key(key)
    db.session.commit()
    click.echo(f"Revoked the key of {key.name}.")


def init_app(app):
    for command in (users_cli, grids_cli, photos_cli, push_cli, jobs_cli, cases_cli, notify_cli, stats_cli,
                    open311_cli,
                    seed_demo_command,
                    catalogue_command, vapid_keys_command):
        app.cli.add_command(command)
    from .admin.commands import COMMANDS as admin_catalogue_commands

    for command in admin_catalogue_commands:  # flask categories …, flask routing …
        app.cli.add_command(command)
    from .admin.org_cli import COMMANDS as organisation_commands  # departments, calendar, settings-check

    for command in organisation_commands:
        app.cli.add_command(command)
    from .tiles.cli import tiles_cli  # flask tiles add / list / remove

    app.cli.add_command(tiles_cli)
