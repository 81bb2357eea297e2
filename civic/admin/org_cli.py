"""`flask departments …`, `flask calendar …` and `flask settings-check`: every
action of the organisation pages from the command line (audit entries name the
command line as the actor). Invalid input exits 1 with the reason; nothing is
written then."""
from datetime import UTC
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db
from ..grids.models import Department
from ..timeutil import local_zone, utcnow
from . import calendar, departments, settings_check
from .tables import TableError, read_rows

departments_cli = AppGroup("departments", help="Departments: list, create, update, merge, retire, test message.")
calendar_cli = AppGroup("calendar", help="The county's calendar days over the national holiday calendar.")

OPTIONS = (("--name", "name"), ("--name-en", "name_en"), ("--phone", "phone"), ("--hours", "working_hours"),
           ("--group", "liaison_group"), ("--webhook-url", "webhook_url"), ("--kind", "webhook_kind"),
           ("--secret", "webhook_secret"))


def _department_options(command):
    for flag, name in reversed(OPTIONS):
        command = click.option(flag, name, default=None,
                               help={"working_hours": "e.g. 08:30-12:00,13:30-17:30 ('' for the county's)",
                                     "webhook_kind": "wecom, dingtalk or feishu (else from the URL's host)"}.get(name))(
            command)
    return command


def _department(code):
    department = db.session.scalar(select(Department).where(Department.code == (code or "").upper()))
    if department is None:
        raise click.ClickException(f"no department with code {code!r}")
    return department


def _fail(error):
    db.session.rollback()
    raise click.ClickException(str(error))


@departments_cli.command("list")
def list_command():
    """Every department: code, name, phone, hours, group, status."""
    for d in db.session.scalars(select(Department).order_by(Department.code)):
        state = "active" if d.active else f"merged into {db.session.get(Department, d.merged_into_id).code}" \
            if d.merged_into_id else "retired"
        group = f"{d.liaison_group or ''} ({d.webhook_kind})" if d.webhook_url else "no webhook"
        click.echo(f"{d.code}\t{d.name}\t{d.phone or '-'}\t{d.working_hours or 'county hours'}\t{group}\t{state}")


@departments_cli.command("create")
@click.argument("code")
@_department_options
def create_command(code, **options):
    """Create a department (--name is required)."""
    try:
        department = departments.create({"code": code, **{k: v for k, v in options.items() if v is not None}})
    except departments.DepartmentError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"created {department.code} {department.name}")


@departments_cli.command("update")
@click.argument("code")
@_department_options
@click.option("--code", "new_code", default=None, help="A new code.")
@click.option("--clear-secret", is_flag=True, help="Remove the signing secret.")
def update_command(code, new_code, clear_secret, **options):
    """Change the fields given; the others stay."""
    department = _department(code)
    values = {k: v for k, v in options.items() if v is not None}
    if new_code:
        values["code"] = new_code
    values["clear_secret"] = clear_secret
    try:
        changed = departments.update(department, values)
    except departments.DepartmentError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"updated {department.code}" if changed else f"{department.code}: nothing changed")


@departments_cli.command("merge")
@click.argument("source")
@click.argument("target")
def merge_command(source, target):
    """Merge SOURCE into TARGET: open cases (with an event), staff, categories and routing rules move."""
    source, target = _department(source), _department(target)
    try:
        moved = departments.merge(source, target)
    except departments.DepartmentError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"merged {source.code} into {target.code}; {len(moved)} open cases moved"
               + (f": {', '.join(case.ref for case in moved)}" if moved else ""))


@departments_cli.command("retire")
@click.argument("code")
def retire_command(code):
    """Retire a department with nothing left (no open cases, categories or routing rules)."""
    department = _department(code)
    try:
        departments.retire(department)
    except departments.DepartmentError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"retired {department.code}")


@departments_cli.command("restore")
@click.argument("code")
def restore_command(code):
    """Make a retired (not merged) department active again."""
    department = _department(code)
    try:
        departments.restore(department)
    except departments.DepartmentError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{department.code} is active again")


@departments_cli.command("test-message")
@click.argument("code")
def test_message_command(code):
    """Send the test message to the department's chat group and print the platform's answer (exit 1 unless delivered)."""
    department = _department(code)
    try:
        answer = departments.test_message(department, base_url=current_app.config.get("PUBLIC_BASE_URL"))
    except departments.DepartmentError as error:
        _fail(error)
    db.session.commit()  # the audit entry of the attempt
    click.echo(f"{answer.platform} {answer.url}: HTTP {answer.status if answer.status is not None else '-'} "
               f"in {answer.seconds} s")
    if answer.error:
        click.echo(f"network error: {answer.error}")
    if answer.body:
        click.echo(answer.body)
    click.echo("delivered" if answer.delivered else f"not delivered: {answer.verdict or answer.error}")
    if not answer.delivered:
        raise SystemExit(1)


# -- the calendar --------------------------------------------------------------------------

def _day(text):
    try:
        return calendar.parse_day(text)
    except calendar.CalendarError as error:
        raise click.BadParameter(str(error)) from None


@calendar_cli.command("set")
@click.argument("day")
@click.argument("kind", type=click.Choice(["workday", "off"]))
@click.option("--note", default=None, help="Why: 台风停工, 本地补班 …")
def calendar_set_command(day, kind, note):
    """Make DAY (2027-01-01) a working day or a day off for the deadlines."""
    day = _day(day)
    changed = calendar.set_day(day, kind == "workday", note)
    db.session.commit()
    click.echo(f"{day}: {kind}" if changed else f"{day}: nothing changed")


@calendar_cli.command("remove")
@click.argument("day")
def calendar_remove_command(day):
    """DAY counts as the national calendar says again."""
    day = _day(day)
    removed = calendar.remove_day(day)
    db.session.commit()
    click.echo(f"{day}: the national calendar decides again" if removed else f"{day}: no county day to remove")


@calendar_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row; write nothing.")
def calendar_import_command(path, dry_run):
    """Import days from an XLSX or CSV file with the header date,type,note (type: workday or off)."""
    try:
        plan = calendar.check_import(read_rows(Path(path).read_bytes(), path))
    except TableError as error:
        raise click.ClickException(str(error)) from None
    if plan.problems or plan.invalid:
        for message in plan.messages():
            click.echo(message, err=True)
        click.echo("nothing imported: fix the rows above", err=True)
        raise SystemExit(1)
    if dry_run:
        click.echo(f"{len(plan.rows)} days checked (dry run: nothing written)")
        return
    changed, same = calendar.apply_import(plan)
    db.session.commit()
    click.echo(f"{changed} days added or changed, {same} unchanged")


@calendar_cli.command("show")
@click.option("--days", default=60, show_default=True, type=click.IntRange(1, 400))
def calendar_show_command(days):
    """The next days as the deadlines count them, and why."""
    today = utcnow().replace(tzinfo=UTC).astimezone(local_zone(current_app.config)).date()
    for d in calendar.next_days(today, days):
        why = {"local": "county", "national": "national", "weekday": "year unknown: weekday rule"}[d.source]
        click.echo(f"{d.day} {d.day.strftime('%a')}\t{'workday' if d.workday else 'off'}\t{why}"
                   + (f": {d.reason}" if d.reason else ""))


@click.command("settings-check")
@click.option("--strict", is_flag=True, help="Exit 1 when any setting has a warning.")
def settings_check_command(strict):
    """The settings that matter, with warnings (secrets are never printed)."""
    with force_locale("en"):
        items = settings_check.check_all(current_app.config, current_app.instance_path)
        for item in items:
            click.echo(f"{'ok  ' if item.ok else 'WARN'} {item.name}: {item.value}"
                       + (f"\n     {item.advice}" if item.advice else ""))
    if strict and any(not item.ok for item in items):
        raise SystemExit(1)


COMMANDS = (departments_cli, calendar_cli, settings_check_command)
