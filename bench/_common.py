"""Shared set-up for benchmarks: a throw-away app on SQLite (or DATABASE_URL)."""
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED_PHOTOS = ROOT / "tests" / "fixtures" / "photos"  # the tests' photos (CC BY-SA 4.0)


def make_app():
    from flask_migrate import upgrade

    from civic import create_app

    workdir = Path(tempfile.mkdtemp(prefix="civic-bench-"))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PHOTO_DIR": str(workdir / "photos"), "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
    return app


def timed(fn, repeat):
    start = time.perf_counter()
    for i in range(repeat):
        fn(i)
    return time.perf_counter() - start
