"""Where a client's lat/lng came from. Phone browsers strip GPS from uploads and
canvases drop EXIF, so the field app reads the photo's GPS itself and says so."""
import pytest

from civic.intake.meta import parse_meta
from tests.conftest import new_meta, photo_path, point_in


@pytest.mark.parametrize("source", ["device", "exif", "manual"])
def test_the_client_says_where_its_position_came_from(county, api_as, source):
    lat, lng = point_in("L2-1-1")
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng, location_source=source),
                                                 [photo_path("plain/no_exif.jpg")])
    assert response.status_code == 201, response.json
    assert response.json["location_source"] == source
    assert response.json["grid"]["code"] == "L2-1-1"


def test_without_a_source_a_client_position_is_the_device(county, api_as):
    lat, lng = point_in("L2-1-1")
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng), [photo_path("plain/no_exif.jpg")])
    assert response.json["location_source"] == "device"


@pytest.mark.parametrize("fields, field", [
    ({"lat": 36.56, "lng": 116.21, "location_source": "satellite"}, "location_source"),
    ({"lat": 36.56, "lng": 116.21, "location_source": 3}, "location_source"),
    ({"location_source": "exif", "address": "东门"}, "lat"),
])
def test_a_wrong_source_is_refused(county, api_as, fields, field):
    response = api_as(county.worker).post_report(new_meta(**fields), [photo_path("plain/no_exif.jpg")])
    assert response.status_code == 422
    assert response.json["error"]["field"] == field


def test_old_clients_replays_keep_their_content_hash():
    meta = parse_meta(new_meta(lat=36.5, lng=116.2), description_max=2000)
    assert "location_source" not in meta.canonical()
