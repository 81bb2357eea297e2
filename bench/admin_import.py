"""Importing 1,000 staff from an XLSX: reading and checking every row, hashing the
one-time passwords (scrypt, on every core), and writing the accounts with their
audit entries, against the baseline of the same hashing done one at a time, in the
same run. Then 10,000 grid polygons from a GeoJSON (100 level-1 grids of 10 × 10
level-2 grids, 33 vertices each, as a GIS draws them): the preview (read, convert,
check every feature, overlaps, gaps, outside parent) and the apply, against the
baseline of inserting the same polygons with no check at all.

    .venv/bin/python bench/admin_import.py [--users 1000] [--grids 10000] [--postgis]
Goals: staff <= 10 s besides the password hashing, <= 60 s in all; grids (preview
and apply) <= 60 s.
"""
import argparse
import io
import logging
import time

from _common import make_app


def workbook(count, grid_code):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["username", "name", "role", "phone", "grids", "department"])
    for i in range(count):
        sheet.append([f"bench{i:05d}", f"网格员{i}", "网格员", 13600000000 + i, grid_code, ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--grids", type=int, default=10000, help="level-2 grids (a square number: 100 per parent)")
    parser.add_argument("--postgis", action="store_true", help="throw-away PostGIS databases, dropped afterwards")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.users:
        bench_users(args)
    if args.grids:
        bench_grids(args)


def bench_users(args):
    from geoalchemy2.shape import from_shape
    from shapely.geometry import box
    from werkzeug.security import generate_password_hash

    from civic.admin import people
    from civic.admin.tables import read_rows
    from civic.extensions import db
    from civic.grids.models import Grid
    from civic.spatial import as_multi

    app = make_app()
    with app.app_context():
        db.session.add(Grid(code="G1", name="bench", level=2,
                            polygon=from_shape(as_multi(box(116.2, 36.5, 116.3, 36.6)), srid=4326)))
        db.session.commit()
        data = workbook(args.users, "G1")

        started = time.perf_counter()
        plan = people.check_import(read_rows(data, "staff.xlsx"))
        checked = time.perf_counter() - started
        assert plan.count("create") == args.users, plan.summary()

        hashing = {"n": 0.0}
        real_hash_all = people.hash_all

        def timed_hash_all(passwords):
            begun = time.perf_counter()
            hashes = real_hash_all(passwords)
            hashing["n"] = time.perf_counter() - begun
            return hashes

        people.hash_all = timed_hash_all
        started = time.perf_counter()
        people.apply_import(plan)
        db.session.commit()
        applied = time.perf_counter() - started
        dialect = db.engine.dialect.name

    sample = 20
    begun = time.perf_counter()
    for _ in range(sample):
        generate_password_hash("x" * 12)
    one_at_a_time = (time.perf_counter() - begun) / sample * args.users
    besides = checked + applied - hashing["n"]
    print(f"import of {args.users} staff from XLSX ({dialect})")
    print(f"  read and check every row        : {checked:7.2f} s")
    print(f"  hash the one-time passwords      : {hashing['n']:7.2f} s on every core "
          f"(baseline: the default scrypt one at a time, as `users create` does: {one_at_a_time:.1f} s, "
          f"ratio {one_at_a_time / hashing['n']:.1f}x)")
    print(f"  write accounts and audit entries : {applied - hashing['n']:7.2f} s")
    print(f"  besides the hashing              : {besides:7.2f} s (goal <= 10 s)")
    print(f"  in all                           : {checked + applied:7.2f} s (goal <= 60 s)")



def grid_file(count, cells=10, step=0.002, west=116.0, south=36.0, vertices_per_side=8):
    """A GeoJSON county: count level-2 squares of `step` degrees, `cells` × `cells` per level-1 grid."""
    import json
    import math

    def square(x, y, size):
        n = vertices_per_side
        side = [(x + size * i / n, y) for i in range(n)] + [(x + size, y + size * i / n) for i in range(n)]
        side += [(x + size - size * i / n, y + size) for i in range(n)] + [(x, y + size - size * i / n) for i in range(n)]
        return [[[round(a, 7), round(b, 7)] for a, b in side + [side[0]]]]

    per_row = int(math.isqrt(count // (cells * cells)))
    features = []
    for py in range(per_row):
        for px in range(per_row):
            px0, py0 = west + px * cells * step, south + py * cells * step
            parent = f"B{py:02d}{px:02d}"
            features.append({"type": "Feature", "properties": {"code": parent, "name": parent, "level": 1},
                             "geometry": {"type": "Polygon", "coordinates": square(px0, py0, cells * step)}})
            for cy in range(cells):
                for cx in range(cells):
                    features.append({"type": "Feature", "properties": {
                        "code": f"{parent}-{cy}{cx}", "name": f"{parent}-{cy}{cx}", "parent": parent},
                        "geometry": {"type": "Polygon", "coordinates": square(px0 + cx * step, py0 + cy * step, step)}})
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def fresh_app(args, drops):
    """A new app on a new database: SQLite, or with --postgis a throw-away PostGIS one."""
    import os

    if args.postgis:
        from tests.conftest import create_postgis_database

        url, drop = create_postgis_database()
        drops.append(drop)
        os.environ["BENCH_DATABASE_URL"] = url
    return make_app()


def bench_grids(args):
    drops = []
    try:
        _bench_grids(args, drops)
    finally:
        for drop in drops:
            drop()


def _bench_grids(args, drops):
    from geoalchemy2.shape import from_shape
    from shapely.geometry import shape

    from civic.extensions import db
    from civic.grids import plan as grid_plan
    from civic.grids.models import Grid
    from civic.grids.sources import read
    from civic.spatial import as_multi

    data = grid_file(args.grids)
    app = fresh_app(args, drops)
    with app.app_context():
        started = time.perf_counter()
        plan = grid_plan.check(read(data, "county.geojson"))
        previewed = time.perf_counter() - started
        assert not plan.invalid and plan.count("create") == len(plan.changes), plan.summary()
        started = time.perf_counter()
        grid_plan.apply(plan, source_name="county.geojson")
        db.session.commit()
        applied = time.perf_counter() - started
        findings = len(plan.findings)
        dialect = db.engine.dialect.name

    baseline_app = fresh_app(args, drops)
    with baseline_app.app_context():
        import json
        started = time.perf_counter()
        grids = {}
        for raw in json.loads(data)["features"]:
            props = raw["properties"]
            grid = Grid(code=props["code"], name=props["name"], level=1 if "parent" not in props else 2,
                        polygon=from_shape(as_multi(shape(raw["geometry"])), srid=4326))
            grid.parent = grids.get(props.get("parent"))
            grids[grid.code] = grid
            db.session.add(grid)
        db.session.commit()
        baseline = time.perf_counter() - started

    total = previewed + applied
    print(f"import of {len(plan.changes)} grids ({args.grids} level-2) from GeoJSON, {len(data) / 1e6:.1f} MB ({dialect})")
    print(f"  preview: read, convert, check, overlaps and gaps : {previewed:7.2f} s ({findings} findings)")
    print(f"  apply: write grids and audit entries, commit     : {applied:7.2f} s")
    print(f"  in all                                           : {total:7.2f} s (goal <= 60 s); baseline, the same "
          f"polygons inserted with no check: {baseline:.2f} s, ratio {total / baseline:.1f}x")


if __name__ == "__main__":
    main()
