"""flask tiles add FILE.mbtiles [--name NAME], tiles list, tiles remove NAME."""
import click
from flask.cli import AppGroup

from .packs import PackError, add_pack, list_packs, remove_pack

tiles_cli = AppGroup("tiles", help="The county's offline tile packs (MBTiles) under TILE_DIR.")


@tiles_cli.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="the pack's name in its URL (default: the file's name without .mbtiles)")
def add_command(path, name):
    """Add (or replace) a tile pack."""
    try:
        pack = add_pack(path, name.lower() if name else None)
    except PackError as error:
        raise click.ClickException(f"{path}: {error}") from None
    click.echo(f"added {pack.name}: {pack.format}, zoom {pack.minzoom}–{pack.maxzoom}, "
               f"bounds {','.join(f'{v:g}' for v in pack.bounds)}, {pack.size / 2**20:.1f} MB")


@tiles_cli.command("list")
def list_command():
    """The packs, with their zooms, bounds and size."""
    packs = list_packs()
    if not packs:
        click.echo("no tile packs (add one with: flask tiles add FILE.mbtiles)")
    for pack in packs:
        click.echo(f"{pack.name}\t{pack.format}\tz{pack.minzoom}-{pack.maxzoom}\t"
                   f"{','.join(f'{v:g}' for v in pack.bounds)}\t{pack.size / 2**20:.1f} MB\t{pack.attribution}")


@tiles_cli.command("remove")
@click.argument("name")
def remove_command(name):
    """Remove a pack."""
    if not remove_pack(name):
        raise click.ClickException(f"no tile pack called {name!r}")
    click.echo(f"removed {name}")
