"""Spatial database plumbing: SpatiaLite on SQLite, PostGIS on PostgreSQL.

This Python's built-in sqlite3 cannot load extensions, so SQLite connections are
made through pysqlite3 (a build of the same module that can), and every new
connection loads mod_spatialite and initialises the spatial metadata once.
"""

from geoalchemy2 import Geometry
from shapely.geometry import MultiPolygon
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from sqlalchemy import event

SRID = 4326


def point_column_type():
    return Geometry("POINT", srid=SRID, spatial_index=True)


def area_column_type():
    return Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True)


def as_multi(geometry):
    """Grid columns hold MULTIPOLYGONs; a single polygon is wrapped."""
    return geometry if isinstance(geometry, MultiPolygon) else MultiPolygon([geometry])


def is_sqlite(url):
    return str(url).startswith("sqlite")


def engine_options(url):
    """Engine options for the configured database URL."""
    if not is_sqlite(url):
        return {"pool_pre_ping": True}
    import pysqlite3.dbapi2 as sqlite_module

    return {
        "module": sqlite_module,
        # Writers wait for each other instead of failing at once with "database is locked".
        "connect_args": {"timeout": 30, "check_same_thread": False},
    }


def _prepare_sqlite(dbapi_conn, library):
    dbapi_conn.enable_load_extension(True)
    dbapi_conn.load_extension(library)
    dbapi_conn.enable_load_extension(False)
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    dbapi_conn.execute("PRAGMA journal_mode = WAL")
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")
    # Only the WGS-84 reference systems: the full EPSG table takes seconds to fill.
    init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")


def install_engine_hooks(engine, spatialite_library):
    """On SQLite, every new connection loads SpatiaLite from `spatialite_library`
    (config SPATIALITE_LIBRARY_PATH)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi_conn, _record: _prepare_sqlite(dbapi_conn, spatialite_library))
