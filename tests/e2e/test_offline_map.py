"""Maps people can read, offline, in Debian's Chromium at 360×640: the county's
tile pack cached on the phone after login and drawn on the capture screen with
no signal; a GCJ-02 tile server with the pin drawn where the point really is on
its tiles. Screenshots: test-artifacts/map-*.png."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from geoalchemy2.shape import to_shape
from PIL import Image
from sqlalchemy import select

from civic.accounts.models import User
from civic.extensions import db
from civic.grids.crs import wgs84_to_gcj02
from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, COUNTY, AppProcess, wait_until
from tests.e2e.test_field_app import login, wait_for_js
from tests.tiles.make_pack import tile_png, write_pack

pytestmark = pytest.mark.e2e
TILE_STATUS = "() => import('/static/js/tiles.js').then(m => m.tileStatus())"


def shot(page, name, full_page=False):
    page.screenshot(path=ARTIFACTS / f"map-{name}.png", full_page=full_page)


def grids_box(username):
    db.session.remove()
    user = db.session.scalar(select(User).where(User.username == username))
    bounds = [to_shape(g.polygon).bounds for g in user.grids]
    return (min(b[0] for b in bounds), min(b[1] for b in bounds), max(b[2] for b in bounds),
            max(b[3] for b in bounds))


@pytest.fixture
def pack_server(app, runner, tmp_path):
    """The small demo county with a tile pack covering worker001's grids (z14–17)."""
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    west, south, east, north = grids_box("worker001")
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    write_pack(tiles / "county.mbtiles", (west - 0.01, south - 0.01, east + 0.01, north + 0.01), (14, 17),
               name="测试县底图", attribution="© 测试底图")
    server = AppProcess(app, tmp_path / "server.log")
    server.env.update(TILE_DIR=str(tiles), CIVIC_TILE_CACHE_ZOOMS="14-17")
    yield server.start()
    server.stop()


def test_the_tiles_of_my_grids_are_kept_and_the_capture_map_shows_streets_offline(pack_server, phone):
    context = phone()
    west, south, east, north = grids_box("worker001")
    context.set_geolocation({"latitude": (south + north) / 2, "longitude": (west + east) / 2, "accuracy": 15})
    page = context.new_page()
    login(page, pack_server.url)
    status = wait_until(page, lambda: (s := page.evaluate(TILE_STATUS)) and s["cached"] >= s["count"] > 0 and s,
                        message="tiles cached", timeout=60)
    assert status["pack"] == "county" and not status["capped"]
    cached = page.evaluate("caches.keys().then(keys => keys.filter(k => k.startsWith('civic-tiles-')))")
    assert cached == [f"civic-tiles-{status['version']}"]
    page.reload()
    page.wait_for_selector(".offline-map")
    assert "MB" in page.inner_text(".offline-map")
    shot(page, "home-offline-map")

    context.set_offline(True)
    page.click(".tabbar .tab-report")
    page.wait_for_selector(".pin-map .leaflet-tile-loaded")
    page.locator(".pin-map").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    shot(page, "capture-offline")
    # The tiles under the map's view are all drawn, from the phone's cache (no signal).
    wait_for_js(page, """(() => { const tiles = [...document.querySelectorAll('.pin-map img.leaflet-tile')];
        return tiles.length >= 2 && tiles.every(t => t.classList.contains('leaflet-tile-loaded')); })()""",
                "the base map drawn from the phone's cache")
    assert page.locator(".pin-map .pin-icon").count() == 1
    assert page.locator("p.location").get_attribute("data-source") == "device"


@pytest.fixture
def gcj_tiles():
    """A GCJ-02 tile server, as AMap's would be: its tiles draw a red marker where
    the test's WGS-84 point lies on GCJ-02 tiles (hundreds of metres off its raw coordinates)."""
    lng, lat = wgs84_to_gcj02(COUNTY["longitude"], COUNTY["latitude"])
    marker = (float(lat), float(lng))

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            try:
                z, x, y = (int(v) for v in self.path.strip("/").split("?")[0].split("/")[-3:])
            except ValueError:
                self.send_error(404)
                return
            body = tile_png(z, x, y, marker)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def gcj_server(app, runner, tmp_path, gcj_tiles):
    assert runner.invoke(args=["seed-demo", "--size", "small"]).exit_code == 0
    db.session.remove()
    server = AppProcess(app, tmp_path / "server.log")
    server.env.update(CIVIC_MAP_TILE_URL=f"{gcj_tiles}/{{z}}/{{x}}/{{y}}", CIVIC_MAP_TILE_CRS="gcj02",
                      CIVIC_MAP_TILE_ATTRIBUTION="© GCJ-02 test tiles", TILE_DIR=str(tmp_path / "no-tiles"))
    yield server.start()
    server.stop()


def test_on_a_gcj02_tile_server_the_pin_lands_on_the_place(gcj_server, phone):
    page = phone().new_page()  # the phone is at COUNTY, in WGS-84
    login(page, gcj_server.url)
    page.click(".tabbar .tab-report")
    page.wait_for_selector(".pin-map .leaflet-tile-loaded")
    wait_for_js(page, "document.querySelectorAll('.pin-map img.leaflet-tile-loaded').length >= 4", "tiles drawn")
    page.locator(".pin-map").scroll_into_view_if_needed()
    wait_until(page, lambda: page.locator("p.location").get_attribute("data-source") == "device",
               message="the phone's fix")
    page.wait_for_timeout(500)  # the map's pan to the fix
    box = page.locator(".pin-map .pin-icon").bounding_box()
    tip = (box["x"] + box["width"] / 2, box["y"] + box["height"])  # the icon's anchor: its bottom centre
    shot(page, "gcj02-pin")
    # Look under the pin: hide it and find the tiles' marker at its tip.
    page.evaluate("document.querySelector('.pin-map .pin-icon').style.visibility = 'hidden'")
    path = ARTIFACTS / "map-gcj02-under-the-pin.png"
    page.screenshot(path=path)
    image = Image.open(path).convert("RGB")
    scale = image.width / page.viewport_size["width"]
    # The marker on the tiles is under the pin's tip (within a few pixels), not hundreds of metres away.
    red = [(x, y) for x in range(int((tip[0] - 12) * scale), int((tip[0] + 12) * scale))
           for y in range(int((tip[1] - 12) * scale), int((tip[1] + 12) * scale))
           if _is_marker_red(image.getpixel((x, y)))]
    assert red, "the tiles' marker is not under the pin"


def _is_marker_red(pixel):
    r, g, b = pixel
    return r > 180 and g < 90 and b < 90


def test_the_front_end_conversions_agree_with_the_server_s_and_round_trip_within_a_metre(field_server, phone):
    """js/crs.js against civic/grids/crs.py (itself checked against published reference points)."""
    from civic.grids.crs import distance_m, gcj02_to_bd09, wgs84_to_gcj02

    page = phone().new_page()
    page.goto(f"{field_server.url}/static/icons/icon.svg")
    points = [(116.25, 36.58), (121.4737, 31.2304), (113.2644, 23.1291), (87.6168, 43.8256), (126.6425, 45.7567)]
    got = page.evaluate("""async (points) => { const crs = await import('/static/js/crs.js');
      return points.map((p) => { const g = crs.wgs84ToGcj02(p), b = crs.wgs84ToBd09(p);
        return { gcj: g, bd: b, fromGcj: crs.gcj02ToWgs84(g), fromBd: crs.bd09ToWgs84(b) }; }); }""",
                        [list(p) for p in points])
    for (lng, lat), js in zip(points, got):
        gcj = [float(v) for v in wgs84_to_gcj02(lng, lat)]
        assert float(distance_m(*js["gcj"], *gcj)) < 0.01
        assert float(distance_m(*js["bd"], *(float(v) for v in gcj02_to_bd09(*gcj)))) < 0.01
        assert float(distance_m(*js["fromGcj"], lng, lat)) < 1.0
        assert float(distance_m(*js["fromBd"], lng, lat)) < 1.0
        assert float(distance_m(*js["gcj"], lng, lat)) > 100  # the offset is real: hundreds of metres
