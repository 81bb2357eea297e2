"""What caching the base map of one grid costs a phone, and what the app shell weighs.

1. A made-up 500 m × 500 m level-2 grid in the demo county, a tile pack over it
   (PNG tiles drawn by tests/tiles/make_pack.py, z14–18: a real county's aerial
   or street tiles are larger, 10–40 KB each; the bytes scale, the count does not),
   the phone's plan for it (/api/v1/tiles/plan's own code), and the download of
   every planned tile from a live server, 4 at a time as js/tiles.js does;
   baseline: the same tiles one at a time.
2. The app shell's JS + CSS gzipped (as bench/client_photos.py): goal ≤ 200 KB.

    .venv/bin/python bench/tiles.py
"""
import json
import logging
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import ROOT, make_app  # noqa: F401  (ROOT: the repository on sys.path)

GRID = (116.2500, 36.5800, 116.2556, 36.5845)  # about 500 m × 500 m
ZOOMS = (14, 18)
GOAL_SHELL_KB = 200


def main():
    from werkzeug.serving import make_server

    from civic.tiles.packs import add_pack
    from civic.tiles.plan import plan_for
    from client_photos import shell_sizes
    from tests.tiles.make_pack import write_pack

    logging.disable(logging.WARNING)
    app = make_app()
    work = Path(tempfile.mkdtemp(prefix="civic-bench-tiles-"))
    app.config["TILE_DIR"] = str(work / "tiles")
    source = work / "county.mbtiles"
    made = time.perf_counter()
    write_pack(source, (GRID[0] - 0.01, GRID[1] - 0.01, GRID[2] + 0.01, GRID[3] + 0.01), ZOOMS)
    made = time.perf_counter() - made
    with app.app_context():
        pack = add_pack(source, "county")
        started = time.perf_counter()
        planned = plan_for(pack, [GRID], ZOOMS, cap_bytes=80 * 2**20)
        plan_ms = (time.perf_counter() - started) * 1000
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    urls = [f"{base}/tiles/county/{z}/{x}/{y}?v={pack.version}" for z, x, y, _ in planned["tiles"]]

    def get(url):
        with urllib.request.urlopen(url) as response:
            return len(response.read())

    def download(parallel):
        started = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            sizes = list(pool.map(get, urls))
        return time.perf_counter() - started, sum(sizes)

    download(4)  # warm the server
    one_s, one_bytes = download(1)
    four_s, four_bytes = download(4)
    server.shutdown()
    raw, gz = shell_sizes(app)
    per_zoom = {}
    for z, _x, _y, _size in planned["tiles"]:
        per_zoom[z] = per_zoom.get(z, 0) + 1
    print(f"one grid (500 m square) at z{ZOOMS[0]}–{ZOOMS[1]}: {len(urls)} tiles "
          f"({', '.join(f'z{z} {n}' for z, n in sorted(per_zoom.items()))}), {four_bytes / 1024:.0f} KB; "
          f"plan {plan_ms:.1f} ms; download from the server 4 at a time (as the phone) {four_s:.2f} s "
          f"({len(urls) / four_s:.0f} tiles/s); one at a time {one_s:.2f} s ({len(urls) / one_s:.0f} tiles/s) "
          f"(pack of {pack.size / 1024:.0f} KB made in {made:.1f} s; on the loopback the server, not the "
          f"network, is the limit)")
    print(f"app shell JS+CSS: {gz / 1024:.1f} KB gzipped vs {raw / 1024:.1f} KB raw "
          f"(goal ≤ {GOAL_SHELL_KB} KB: {'met' if gz / 1024 <= GOAL_SHELL_KB else 'NOT met'})")
    print(json.dumps({"tiles": len(urls), "bytes": four_bytes, "plan_ms": round(plan_ms, 1),
                      "seconds_parallel": round(four_s, 3), "seconds_serial": round(one_s, 3),
                      "per_zoom": per_zoom, "shell_gzip_bytes": gz, "shell_raw_bytes": raw}))
    assert one_bytes == four_bytes


if __name__ == "__main__":
    main()
