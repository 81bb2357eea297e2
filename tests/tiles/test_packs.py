"""Tile packs (MBTiles): added from the command line or a stream without reading
them into memory, checked before they are served, served by z/x/y with their
bounds, zooms and attribution; and the plan of the tiles a phone keeps for its
worker's grids, exact and within its cap."""
import io
import sqlite3
import tracemalloc

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import box as shapely_box

from civic.extensions import db
from civic.grids.models import Grid
from civic.spatial import as_multi
from civic.tiles import packs
from civic.tiles.plan import plan_for, tile_ranges, tile_x, tile_y
from tests.tiles.make_pack import write_pack

COUNTY = (116.19, 36.54, 116.26, 36.58)  # around the test county's grids


@pytest.fixture
def pack_file(tmp_path):
    path = tmp_path / "county.mbtiles"
    write_pack(path, COUNTY, (12, 15))
    return path


def test_a_pack_added_from_the_command_line_is_listed_served_and_removed(app, runner, pack_file, client):
    result = runner.invoke(args=["tiles", "add", str(pack_file), "--name", "county"])
    assert result.exit_code == 0, result.output
    assert "added county: png, zoom 12–15" in result.output
    assert "county\tpng\tz12-15" in runner.invoke(args=["tiles", "list"]).output

    meta = client.get("/tiles/county.json").get_json()
    assert (meta["minzoom"], meta["maxzoom"], meta["attribution"]) == (12, 15, "© test tiles")
    assert meta["bounds"] == pytest.approx(list(COUNTY))
    assert meta["tiles"] == [f"/tiles/county/{{z}}/{{x}}/{{y}}?v={meta['version']}"]

    z = 14
    x, y = tile_x(116.22, z), tile_y(36.56, z)
    response = client.get(f"/tiles/county/{z}/{x}/{y}?v={meta['version']}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG") and "immutable" in response.headers["Cache-Control"]
    # The same bytes as the file holds, at the TMS row of the XYZ y.
    stored = sqlite3.connect(pack_file).execute(
        "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
        (z, x, (1 << z) - 1 - y)).fetchone()[0]
    assert response.data == stored
    assert client.get(f"/tiles/county/{z}/0/0").status_code == 204       # not in the pack
    assert client.get(f"/tiles/county/11/{x}/{y}").status_code == 204    # below its zooms
    assert client.get(f"/tiles/county/{z}/{1 << z}/0").status_code == 204  # no such tile at that zoom
    assert client.get(f"/tiles/nope/{z}/{x}/{y}").status_code == 404
    assert client.get("/tiles/nope.json").status_code == 404
    assert client.get(f"/tiles/county/{z}/{x}/{y}.png").status_code == 404  # no extension in the URL

    assert runner.invoke(args=["tiles", "remove", "county"]).exit_code == 0
    assert client.get(f"/tiles/county/{z}/{x}/{y}").status_code == 404
    assert runner.invoke(args=["tiles", "remove", "county"]).exit_code != 0


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(b"not a database at all" * 100), "not an MBTiles file"),
    (lambda p: p.write_bytes(p.read_bytes()[:20000]), "cannot be read"),
    (lambda p: _sql(p, "DROP TABLE metadata"), "no MBTiles metadata"),
    (lambda p: _sql(p, "UPDATE metadata SET value='pbf' WHERE name='format'"), "png, jpg or webp"),
    (lambda p: _sql(p, "DELETE FROM tiles"), "holds no tiles"),
    (lambda p: _sql(p, "UPDATE tiles SET tile_data = x'00010203'"), "not png images"),
    (lambda p: _sql(p, "UPDATE metadata SET value='1,2,3' WHERE name='bounds'"), "bounds"),
])
def test_a_broken_file_is_refused_with_what_is_wrong_and_nothing_is_served(app, runner, pack_file, damage, message):
    damage(pack_file)
    result = runner.invoke(args=["tiles", "add", str(pack_file)])
    assert result.exit_code != 0 and message in result.output, result.output
    assert packs.list_packs() == [] and not list(packs.tile_dir().iterdir())  # no half-copied file left


def _sql(path, statement):
    connection = sqlite3.connect(path)
    connection.execute(statement)
    connection.commit()
    connection.close()


def test_a_200_mb_pack_is_copied_and_served_without_being_read_into_memory(app, tmp_path, client):
    big = tmp_path / "big.mbtiles"
    blob = b"\x89PNG\r\n\x1a\n" + b"\0" * (1 << 20)
    write_pack(big, (116.0, 36.0, 116.7, 36.7), (12, 12), tile_bytes=lambda z, x, y: blob)
    assert big.stat().st_size > 200 * 2**20 // 10  # the pack's tiles at z12 over this box
    # Grow it past 200 MB with more tiles of the same zoom range's neighbours.
    connection = sqlite3.connect(big)
    rows = [(13, x, y, blob) for x in range(6760, 6760 + 15) for y in range(4960, 4960 + 12)]
    connection.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    connection.execute("UPDATE metadata SET value='13' WHERE name='maxzoom'")
    connection.commit()
    connection.close()
    assert big.stat().st_size > 200 * 2**20
    tracemalloc.start()
    with big.open("rb") as stream:
        pack = packs.add_pack(stream, "big")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert pack.size == big.stat().st_size
    assert peak < 16 * 2**20, f"adding took {peak / 2**20:.1f} MB of memory"
    x, y = tile_x(116.3, 12), tile_y(36.3, 12)
    assert client.get(f"/tiles/big/12/{x}/{y}").data == blob


def test_the_plan_is_every_tile_meeting_the_grid_at_each_zoom_lowest_first(app, pack_file):
    pack = packs.add_pack(pack_file, "county")
    grid = (116.20, 36.55, 116.21, 36.56)
    planned = plan_for(pack, [grid], (12, 15), cap_bytes=10**9)
    expected = []
    for z in range(12, 16):
        x0, x1, y0, y1 = tile_ranges(grid, z)
        expected += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    assert sorted(t[:3] for t in planned["tiles"]) == sorted(expected)
    assert [t[0] for t in planned["tiles"]] == sorted(t[0] for t in planned["tiles"])  # lowest zooms first
    assert planned["bytes"] == sum(t[3] for t in planned["tiles"]) and not planned["capped"]
    # This 0.01° square by hand from the slippy-map formula: x = (lng + 180) / 360 · 2^z and
    # y = (1 − asinh(tan φ) / π) / 2 · 2^z; at z14 it lies in one tile, at z15 across four.
    assert [t[:3] for t in planned["tiles"] if t[0] == 14] == [(14, 13480, 6402)]
    assert [t[:3] for t in planned["tiles"] if t[0] == 15] == [(15, 26960, 12804), (15, 26960, 12805),
                                                                (15, 26961, 12804), (15, 26961, 12805)]

    # The cap: the plan stops before the tile that would pass it, keeping the coarse zooms.
    cap = sum(t[3] for t in planned["tiles"] if t[0] <= 13) + 1
    capped = plan_for(pack, [grid], (12, 15), cap_bytes=cap)
    assert capped["capped"] and capped["bytes"] <= cap
    assert {t[0] for t in capped["tiles"]} <= {12, 13, 14}
    assert [t for t in capped["tiles"] if t[0] <= 13] == [t for t in planned["tiles"] if t[0] <= 13]


def test_the_phone_asks_for_its_worker_s_grids(app, county, api_as, pack_file):
    packs.add_pack(pack_file, "county")
    plan = api_as(county.worker).get("/api/v1/tiles/plan").get_json()  # county.worker works in L2-1-1
    assert plan["pack"] == "county" and plan["count"] == len(plan["tiles"]) > 0
    assert all(url.startswith("/tiles/county/") and url.endswith(f"?v={plan['version']}") for url in plan["tiles"])
    assert api_as(county.resident).get("/api/v1/tiles/plan").get_json()["tiles"] == []  # no grids of their own
    # A grid far away from the pack gets nothing.
    far = Grid(code="FAR", name="远处", level=2,
               polygon=from_shape(as_multi(shapely_box(100, 30, 100.01, 30.01)), srid=4326))
    db.session.add(far)
    county.other_worker.grids[:] = [far]
    db.session.commit()
    assert api_as(county.other_worker).get("/api/v1/tiles/plan").get_json()["tiles"] == []


def test_client_config_names_the_pack_and_the_place_checks(app, client, pack_file):
    assert client.get("/api/v1/client-config").get_json()["map"]["pack"] is None
    packs.add_pack(io.BytesIO(pack_file.read_bytes()), "county")
    config = client.get("/api/v1/client-config").get_json()
    assert config["map"]["pack"]["tiles"][0].startswith("/tiles/county/")
    assert set(config["place_checks"]) == {"county_bbox", "outside_county_metres", "old_photo_days",
                                           "photo_far_metres"}
