"""Alembic makes the same schema on SpatiaLite and PostGIS, and it matches the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import civic.models  # noqa: F401  (every table known, whatever was collected first)
from civic.extensions import db

OUR_TABLES = {t.name for t in db.metadata.sorted_tables}


def schema_summary():
    inspector = inspect(db.engine)
    summary = {}
    for table in sorted(OUR_TABLES):
        columns = {c["name"]: bool(c["nullable"]) for c in inspector.get_columns(table)}
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        fks = sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in inspector.get_foreign_keys(table))
        summary[table] = {"columns": columns, "unique": uniques, "fks": fks}
    return summary


def spatial_columns():
    if db.engine.dialect.name == "sqlite":
        rows = db.session.execute(db.text(
            "SELECT f_table_name, f_geometry_column, srid, spatial_index_enabled FROM geometry_columns")).all()
        return {(r[0], r[1], r[2], bool(r[3])) for r in rows}
    rows = db.session.execute(db.text("SELECT f_table_name, f_geometry_column, srid FROM geometry_columns")).all()
    gist = {r[0] for r in db.session.execute(db.text(
        "SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist%'")).all()}
    return {(r[0], r[1], r[2], r[0] in gist) for r in rows}


EXPECTED_SCHEMA = {}


def test_migrated_schema_matches_the_models(app):
    def include_object(obj, name, type_, reflected, compare_to):
        if type_ == "table":
            return name in OUR_TABLES
        if type_ == "index" and name and name.startswith("idx_"):
            return False  # spatial indexes are checked below, in each backend's own terms
        return True

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": False})
        assert compare_metadata(context, db.metadata) == []


def test_spatial_columns_are_srid_4326_with_indexes(app):
    assert spatial_columns() == {("grids", "polygon", 4326, True), ("cases", "point", 4326, True)}


def test_both_backends_have_the_same_schema(app, backend):
    summary = schema_summary()
    EXPECTED_SCHEMA[backend] = summary
    if len(EXPECTED_SCHEMA) == 2:
        first, second = EXPECTED_SCHEMA.values()
        assert first == second


def test_downgrade_and_upgrade_again(app):
    from flask_migrate import downgrade, upgrade

    downgrade(revision="base")
    assert not set(inspect(db.engine).get_table_names()) & OUR_TABLES
    upgrade()
    assert OUR_TABLES <= set(inspect(db.engine).get_table_names())


def test_upgrading_a_filled_county_keeps_its_rows(tmp_path):
    """A county's database with users (and rows that refer to them) upgrades from
    the previous release: no migration may copy-and-move a table others refer to
    (SQLite's batch mode drops it, which its foreign keys refuse)."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from civic import create_app

    application = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'county.sqlite'}",
                              "SECRET_KEY": "x", "PHOTO_DIR": str(tmp_path), "RATELIMIT_STORAGE_URI": "memory://",
                              "TESTING": True})
    with application.app_context():
        upgrade(revision="0013")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO users (id, username, display_name, password_hash, role, active, created_at, "
                              "on_leaderboard) VALUES (1, 'w', 'W', '!', 'grid_worker', 1, '2026-01-01', 0)"))
            conn.execute(text("INSERT INTO device_tokens (user_id, token_hash, created_at) "
                              "VALUES (1, 'h', '2026-01-01')"))
            conn.execute(text("INSERT INTO login_sessions (user_id, key_hash, created_at) VALUES (1, 'k', '2026-01-01')"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT username, must_change_password FROM users")).all() == [("w", 0)]
            assert conn.execute(text("SELECT count(*) FROM device_tokens")).scalar() == 1
        db.engine.dispose()
