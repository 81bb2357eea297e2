"""The small endpoints the field app reads: its own reports, its grids, its configuration."""
import pytest

from civic.extensions import db
from tests.conftest import ORIGIN, SQUARE, new_meta


# -- GET /api/v1/reports ----------------------------------------------------------------

def test_my_reports_newest_first_and_only_mine(county, api_as):
    mine = api_as(county.resident)
    ids = [mine.post_report(new_meta(address=f"门口 {n}")).json["id"] for n in range(3)]
    api_as(county.resident2).post_report(new_meta(address="别人的"))
    body = mine.get("/api/v1/reports").json
    assert [r["id"] for r in body["reports"]] == ids[::-1]
    assert all(r["reported_by_me"] for r in body["reports"])
    assert [r["id"] for r in mine.get("/api/v1/reports?limit=2").json["reports"]] == ids[:0:-1]
    assert api_as(county.worker).get("/api/v1/reports").json == {"reports": []}


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", ""])
def test_bad_limit_is_422(county, api_as, limit):
    response = api_as(county.resident).get(f"/api/v1/reports?limit={limit}")
    assert response.status_code == 422 and response.json["error"]["field"] == "limit"


def test_limit_200_is_fine(county, api_as):
    assert api_as(county.resident).get("/api/v1/reports?limit=200").status_code == 200


def test_reports_need_login(client):
    assert client.get("/api/v1/reports").status_code == 401


# -- GET /api/v1/me/grids ----------------------------------------------------------------

def test_a_workers_grid_as_geojson(county, api_as):
    body = api_as(county.worker).get("/api/v1/me/grids").json
    assert body["type"] == "FeatureCollection"
    [feature] = body["features"]
    assert feature["type"] == "Feature"
    assert feature["properties"] == {"id": county.grids["L2-1-1"].id, "code": "L2-1-1", "name": "网格1-1", "level": 2}
    geometry = feature["geometry"]
    assert geometry["type"] == "MultiPolygon"
    ring = geometry["coordinates"][0][0]
    corners = {(lng, lat) for lng, lat in ring}
    assert corners == {(ORIGIN[0], ORIGIN[1]), (round(ORIGIN[0] + SQUARE, 6), ORIGIN[1]),
                       (round(ORIGIN[0] + SQUARE, 6), round(ORIGIN[1] + SQUARE, 6)),
                       (ORIGIN[0], round(ORIGIN[1] + SQUARE, 6))}
    assert all(len(repr(x).split(".")[-1]) <= 6 for point in ring for x in point)


def test_a_chief_gets_the_level1_grid_too(county, api_as):
    county.worker.grids.append(county.grids["L1-1"])
    db.session.commit()
    features = api_as(county.worker).get("/api/v1/me/grids").json["features"]
    assert [(f["properties"]["code"], f["properties"]["level"]) for f in features] == [("L1-1", 1), ("L2-1-1", 2)]


def test_users_without_grids_get_an_empty_collection(county, api_as):
    for user in (county.resident, county.staff_san, county.dispatcher):
        assert api_as(user).get("/api/v1/me/grids").json == {"type": "FeatureCollection", "features": []}


def test_grids_need_login(client):
    assert client.get("/api/v1/me/grids").status_code == 401


# -- GET /api/v1/client-config ------------------------------------------------------------

def test_client_config_without_login(app, client):
    from civic.push.jobs import push_state
    from civic.version import APP_VERSION

    body = client.get("/api/v1/client-config").json
    assert body == {"map": {"tile_url": None, "attribution": "", "crs": "wgs84", "pack": None},
                    "photos_per_report": 3, "display_max_side": 1600,
                    "heartbeat_seconds": 300, "app_version": APP_VERSION,
                    "push": {"public_key": push_state(app).keys.application_server_key},
                    # no grids yet: no county to check a place against
                    "place_checks": {"county_bbox": None, "outside_county_metres": 2000, "old_photo_days": 3,
                                     "photo_far_metres": 500}}


@pytest.mark.parametrize("app", [{"MAP_TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
                                  "MAP_TILE_ATTRIBUTION": "© 测试地图", "MAP_TILE_CRS": "gcj02"}], indirect=True)
def test_client_config_map_tiles(client):
    assert client.get("/api/v1/client-config").json["map"] == {"tile_url": "https://tiles.example/{z}/{x}/{y}.png",
                                                               "attribution": "© 测试地图", "crs": "gcj02",
                                                               "pack": None}


def test_map_settings_from_the_environment(monkeypatch, tmp_path):
    from civic.config import from_environment

    monkeypatch.setenv("CIVIC_MAP_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("CIVIC_MAP_TILE_ATTRIBUTION", "© Example")
    monkeypatch.setenv("CIVIC_DEVICE_TOKEN_IDLE_DAYS", "7")
    monkeypatch.setenv("SECRET_KEY", "x")
    config = from_environment(tmp_path)
    assert config["MAP_TILE_URL"] == "https://tiles.example/{z}/{x}/{y}.png"
    assert config["MAP_TILE_ATTRIBUTION"] == "© Example" and config["DEVICE_TOKEN_IDLE_DAYS"] == 7
    assert config["MAP_TILE_CRS"] == "wgs84" and config["TILE_DIR"] == str(tmp_path / "tiles")
    monkeypatch.setenv("CIVIC_MAP_TILE_CRS", "GCJ02")
    assert from_environment(tmp_path)["MAP_TILE_CRS"] == "gcj02"
    monkeypatch.setenv("CIVIC_MAP_TILE_CRS", "mars")
    with pytest.raises(ValueError, match="CIVIC_MAP_TILE_CRS"):
        from_environment(tmp_path)
    monkeypatch.delenv("CIVIC_MAP_TILE_CRS")
    monkeypatch.delenv("CIVIC_MAP_TILE_URL")
    monkeypatch.delenv("CIVIC_MAP_TILE_ATTRIBUTION")
    monkeypatch.delenv("CIVIC_DEVICE_TOKEN_IDLE_DAYS")
    config = from_environment(tmp_path)
    assert (config["MAP_TILE_URL"], config["MAP_TILE_ATTRIBUTION"], config["DEVICE_TOKEN_IDLE_DAYS"]) == (None, "", 30)
    monkeypatch.setenv("CIVIC_DEVICE_TOKEN_IDLE_DAYS", "soon")
    with pytest.raises(ValueError):
        from_environment(tmp_path)
