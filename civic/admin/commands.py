"""`flask categories set|export|import` and `flask routing list|export|import|test`:
the catalogue and routing pages' every action from the command line (English
output; exit 1 on invalid input, with nothing applied). Registered by civic/cli.py."""
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from ..extensions import db

categories_cli = AppGroup("categories", help="The category catalogue: change one, export and import as XLSX.")
routing_cli = AppGroup("routing", help="Routing rules (谁主管谁负责): list, set, delete, export, import, test.")


def _rows(path):
    from .tables import TableError, read_rows

    try:
        return read_rows(Path(path).read_bytes(), path)
    except TableError as exc:
        raise click.ClickException(str(exc)) from None


def _report(plan, dry_run, describe_row):
    for problem in plan.problems:
        raise click.ClickException(problem)
    for row in plan.rows:
        if row.action == "invalid":
            reasons = "; ".join(f"{column}: {message}" for column, message in row.errors)
            click.echo(f"row {row.number}: invalid: {reasons}")
        else:
            click.echo(f"row {row.number}: {row.action} {describe_row(row)}")
    refused = bool(plan.invalid)
    if dry_run or refused:
        db.session.rollback()
        click.echo(plan.summary() + (" (nothing applied: fix the invalid rows)" if refused
                                     else " (dry run: nothing written)"))
        if refused:
            raise SystemExit(1)
        return False
    return True


@categories_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
def categories_export_command(path):
    """Write the whole catalogue to PATH (XLSX)."""
    from . import categories

    Path(path).write_bytes(categories.export_workbook())
    click.echo(f"{len(categories.catalogue())} categories written to {path}")


@categories_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and print what would change; write nothing.")
def categories_import_command(path, dry_run):
    """Create or update categories from an XLSX or CSV file (header: the export's columns)."""
    from . import categories

    with force_locale("en"):
        plan = categories.check_import(_rows(path))
        if _report(plan, dry_run, lambda row: row.values.get("code", "")):
            categories.apply_import(plan)
            db.session.commit()
            click.echo(plan.summary())


@categories_cli.command("set")
@click.argument("code")
@click.option("--active/--inactive", default=None, help="Enable or disable: whether reports may choose it.")
@click.option("--department", help="The default department's code ('' for none).")
@click.option("--after-photo/--no-after-photo", "after_photo_required", default=None)
@click.option("--urgent/--not-urgent", default=None)
@click.option("--ack-minutes")
@click.option("--resolve-limit")
@click.option("--resolve-unit", help="working_hours, working_days or calendar_hours")
@click.option("--icon")
def categories_set_command(code, **options):
    """Change one category CODE: only the options given change."""
    from ..grids.models import Category
    from . import categories

    category = db.session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise click.BadParameter(f"no category {code!r}", param_hint="CODE")
    values = {name: ("yes" if value else "no") if isinstance(value, bool) else value
              for name, value in options.items() if value is not None}
    try:
        wanted = categories.parse(values, categories.facts(category))
    except categories.CategoryError as exc:
        raise click.ClickException(f"{exc.args[0]}: {exc.args[1]}") from None
    _category, action = categories.save(category, wanted)
    db.session.commit()
    click.echo(f"{code}: {action}")


@routing_cli.command("list")
def routing_list_command():
    """Every rule, most specific first."""
    from . import routing_admin

    for rule in routing_admin.rules():
        click.echo(f"{rule.id}\t{routing_admin.describe(rule)}"
                   + (f"\t{rule.liaison_group}" if rule.liaison_group else "")
                   + ("" if rule.department.active else "\t(retired department: skipped)"))


@routing_cli.command("set")
@click.option("--grid", "grid_code", help="A level-1 or level-2 grid code.")
@click.option("--street", help="A street (街道/乡镇) name, as the grids carry it.")
@click.option("--everywhere", is_flag=True, help="The rule for the whole county.")
@click.option("--category", "category_code", default="*", show_default=True, help="A category code, * for every one.")
@click.option("--department", "department_code", required=True)
@click.option("--liaison-group")
def routing_set_command(grid_code, street, everywhere, category_code, department_code, liaison_group):
    """Create the rule of a scope and category, or change its department."""
    from . import routing_admin

    if sum(bool(x) for x in (grid_code, street, everywhere)) != 1:
        raise click.UsageError("give exactly one of --grid, --street, --everywhere")
    scope = "grid" if grid_code else "street" if street else "all"
    try:
        wanted = routing_admin.resolve(scope, grid_code, street, category_code, department_code, liaison_group)
    except routing_admin.RuleError as exc:
        raise click.ClickException(f"{exc.args[0]}: {exc.args[1]}") from None
    rule, action = routing_admin.set_rule(wanted)
    db.session.commit()
    click.echo(f"{action}: {routing_admin.describe(rule)}")


@routing_cli.command("delete")
@click.argument("rule_id", type=int)
def routing_delete_command(rule_id):
    """Delete the rule RULE_ID (see `flask routing list`)."""
    from ..grids.models import RoutingRule
    from . import routing_admin

    rule = db.session.get(RoutingRule, rule_id)
    if rule is None:
        raise click.BadParameter(f"no rule {rule_id}", param_hint="RULE_ID")
    words = routing_admin.describe(rule)
    routing_admin.delete_rule(rule)
    db.session.commit()
    click.echo(f"deleted: {words}")


@routing_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
def routing_export_command(path):
    """Write every rule to PATH (XLSX)."""
    from . import routing_admin

    Path(path).write_bytes(routing_admin.export_workbook())
    click.echo(f"{len(routing_admin.rules())} rules written to {path}")


@routing_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and print what would change; write nothing.")
@click.option("--replace", is_flag=True, help="Also delete the rules the file does not have.")
def routing_import_command(path, dry_run, replace):
    """Create or update rules from an XLSX or CSV file (header: scope,grid,street,category,department,liaison_group)."""
    from . import routing_admin

    plan = routing_admin.check_import(_rows(path), replace=replace)
    for rule in plan.deletions:
        click.echo(f"delete {routing_admin.describe(rule)}")
    if _report(plan, dry_run, lambda row: (f"{row.wanted.key()} → {row.wanted.department.code}")):
        routing_admin.apply_import(plan)
        db.session.commit()
        click.echo(plan.summary())


@routing_cli.command("test")
@click.option("--category", "category_code", required=True)
@click.option("--grid", "grid_code", help="A grid code (else --lat and --lng).")
@click.option("--lat", type=click.FloatRange(-90, 90))
@click.option("--lng", type=click.FloatRange(-180, 180))
def routing_test_command(category_code, grid_code, lat, lng):
    """Who would get a new case of CATEGORY at a point or in a grid, and which rule decides."""
    from ..grids.models import Category, Grid
    from ..intake.reports import grid_at
    from .routing_admin import who_gets

    category = db.session.scalar(select(Category).where(Category.code == category_code))
    if category is None:
        raise click.BadParameter(f"no category {category_code!r}", param_hint="--category")
    if grid_code:
        grid = db.session.scalar(select(Grid).where(Grid.code == grid_code))
        if grid is None:
            raise click.BadParameter(f"no grid {grid_code!r}", param_hint="--grid")
    elif lat is not None and lng is not None:
        grid = grid_at(lat, lng)
    else:
        raise click.UsageError("give --grid, or --lat and --lng")
    answer = who_gets(category, grid)
    click.echo(f"grid: {grid.code + ' ' + grid.name if grid else 'outside every grid'}")
    click.echo(f"department: {answer.department.code + ' ' + answer.department.name if answer.department else 'none'}")
    click.echo(f"rule: {answer.decided_by}")


COMMANDS = (categories_cli, routing_cli)
