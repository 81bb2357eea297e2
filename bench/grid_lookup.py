"""Point → level-2 grid among 10,000 polygons: the in-memory STRtree against the
database's own spatial query (SpatiaLite's SpatialIndex, or PostGIS GiST when
BENCH_DATABASE_URL points at PostgreSQL), in the same run.

    .venv/bin/python bench/grid_lookup.py [--grids 10000] [--lookups 20000]
Goals: ≤ 20 µs a lookup and ≥ 100× the database.
"""
import argparse
import logging
import random

from _common import make_app, timed


def build_grids(count):
    """count level-2 squares (plus one level-1 parent) tiling a ~10 km area."""
    from geoalchemy2.shape import from_shape
    from shapely.geometry import box

    from civic.extensions import db
    from civic.grids.models import Grid
    from civic.spatial import as_multi

    side = int(count ** 0.5)
    step = 0.1 / side
    parent = Grid(code="B1", name="bench", level=1, polygon=from_shape(as_multi(box(116.2, 36.5, 116.3, 36.6)), srid=4326))
    db.session.add(parent)
    db.session.flush()
    rows = []
    for i in range(side):
        for j in range(side):
            lng, lat = 116.2 + i * step, 36.5 + j * step
            rows.append(Grid(code=f"B1-{i:03d}-{j:03d}", name="g", level=2, parent_id=parent.id,
                             polygon=from_shape(as_multi(box(lng, lat, lng + step, lat + step)), srid=4326)))
    db.session.add_all(rows)
    db.session.commit()
    return side * side


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--db-lookups", type=int, default=500)
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    from civic.extensions import db
    from civic.grids.lookup import get_index, locate_in_database

    app = make_app()
    rng = random.Random(5)
    with app.app_context():
        count = build_grids(args.grids)
        index = get_index(app)
        index.rebuild()
        points = [(rng.uniform(36.49, 36.61), rng.uniform(116.19, 116.31)) for _ in range(args.lookups)]
        for lat, lng in points[:200]:  # the two must agree before we time them
            hit = index.locate(lat, lng)
            assert (hit.id if hit else None) == locate_in_database(lat, lng)
        tree = timed(lambda i: index.locate(*points[i]), args.lookups)
        database = timed(lambda i: locate_in_database(*points[i]), args.db_lookups)
        plain = timed(lambda i: locate_in_database(*points[i], use_index=False), max(20, args.db_lookups // 20))
        plain_count = max(20, args.db_lookups // 20)
        dialect = db.engine.dialect.name
    tree_us, db_us = 1e6 * tree / args.lookups, 1e6 * database / args.db_lookups
    plain_us = 1e6 * plain / plain_count
    print(f"grid lookup among {count} level-2 grids ({dialect})")
    print(f"  STRtree                          : {tree_us:9.2f} µs a lookup (goal <= 20 µs)")
    print(f"  database, spatial index          : {db_us:9.2f} µs a lookup  ratio {db_us / tree_us:7.1f}x")
    print(f"  database, plain ST_Intersects    : {plain_us:9.2f} µs a lookup  ratio {plain_us / tree_us:7.1f}x"
          " (goal >= 100x)")


if __name__ == "__main__":
    main()
