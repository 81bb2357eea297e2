"""Redrawing a grid from a GeoJSON in Debian's Chromium, as a county's administrator
does it at a desk (1280×800) and on a phone (360×640): the preview on a map with
what changes and the overlap it makes, then apply. Screenshots land in
test-artifacts/admin-grids-*.png."""
import json

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from civic.extensions import db
from civic.grids.models import Grid
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD

pytestmark = pytest.mark.e2e

DESK = {"width": 1280, "height": 800}
SMALL_PHONE = {"width": 360, "height": 640}


def web_login(page, base, username="admin"):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_load_state()


def redrawn_file(tmp_path):
    """The demo's first level-2 grid pushed 0.001° east (about 90 m): it now overlaps its neighbour."""
    db.session.remove()
    grid = db.session.scalars(select(Grid).where(Grid.level == 2).order_by(Grid.code)).first()
    west, south, east, north = to_shape(grid.polygon).bounds
    ring = [[west, south], [east + 0.001, south], [east + 0.001, north], [west, north], [west, south]]
    path = tmp_path / "redrawn.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": grid.code}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    return grid.code, east + 0.001, path


@pytest.mark.parametrize("viewport", [DESK, SMALL_PHONE], ids=["desk", "phone"])
def test_redraw_a_grid_from_a_geojson(field_server, playwright_instance, tmp_path, viewport):
    code, new_east, path = redrawn_file(tmp_path)
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport=viewport, locale="zh-CN", device_scale_factor=1)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        web_login(page, field_server.url)
        page.goto(f"{field_server.url}/admin/grids")
        name = "desk" if viewport is DESK else "phone"
        page.click("a[href='/admin/grids/import']")
        page.set_input_files("input[name=file]", str(path))
        page.click("form.stack button[type=submit]")
        page.wait_for_selector("#grid-map.leaflet-container path.leaflet-interactive")
        text = page.inner_text("main")
        assert "新增 0 个，变更 1 个，不变 0 个，撤销 0 个，无效 0 个" in text
        assert code in text and "重叠" in text
        assert page.locator("#grid-map path.leaflet-interactive").count() >= 2  # the grid and its overlap
        page.screenshot(path=ARTIFACTS / f"admin-grids-preview-{name}.png", full_page=True)
        page.click("form[action*='/admin/grids/import/'] button[type=submit]")
        page.wait_for_url("**/admin/grids")
        page.screenshot(path=ARTIFACTS / f"admin-grids-applied-{name}.png")
        assert not errors
        db.session.remove()
        grid = db.session.scalar(select(Grid).where(Grid.code == code))
        assert to_shape(grid.polygon).bounds[2] == pytest.approx(new_east)
    finally:
        browser.close()
