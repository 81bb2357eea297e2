"""Is this the right place? Each check on a report's position, on both databases:
the report is always accepted, and what the checks found is on the case
(`location_flags`, always present) and in the dispatcher's queue."""
from datetime import timedelta

import pytest

from civic.extensions import db
from civic.grids.crs import metres_between
from civic.grids.lookup import get_index
from civic.intake.place_checks import location_flags
from civic.timeutil import isoformat, utcnow
from tests.conftest import ORIGIN, SQUARE, new_meta, photo_path, point_in
from tests.test_pages import login

ITALY = photo_path("gps/DSCN0010.jpg")  # GPS in Tuscany, taken on 1 November 2008


def fresh_photo():
    """A JPEG as a phone's canvas makes it: no EXIF at all (no time, no GPS)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 160, 90)).save(out, "JPEG", quality=80)
    return out.getvalue()


def flags_of(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()["location_flags"]


def test_a_report_in_its_grid_with_a_fresh_photo_raises_nothing(county, api_as):
    lat, lng = point_in("L2-1-1")
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng, captured_at=isoformat(utcnow())),
                                                 [fresh_photo()])
    assert flags_of(response) == []


def test_an_old_photo_from_italy_is_accepted_and_flagged(county, api_as):
    """No position from the phone: the photo's GPS places it, 8,000 km away, and it is 18 years old."""
    response = api_as(county.worker).post_report(new_meta(), [ITALY])
    assert response.get_json()["location_source"] == "exif"
    assert flags_of(response) == ["outside_county", "old_photo"]


def test_a_photo_taken_far_from_the_phone_is_flagged(county, api_as):
    lat, lng = point_in("L2-1-1")
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng, location_source="device"), [ITALY])
    assert "photo_far_from_device" in flags_of(response)
    # A pin placed by hand is not the phone's position: nothing to compare.
    response = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng, location_source="manual"), [ITALY])
    assert flags_of(response) == ["old_photo"]


def test_outside_the_county_by_more_than_the_setting(app, county):
    # The test county: two level-1 grids side by side from ORIGIN, each 2 squares wide.
    lng0, lat0 = ORIGIN
    index = get_index(app)
    assert index.metres_outside(*point_in("L2-2-4")) == 0
    south = lat0 - 0.015  # about 1.7 km south of the county's edge
    outside = index.metres_outside(south, lng0 + SQUARE)
    assert outside == pytest.approx(metres_between(south, lng0 + SQUARE, lat0, lng0 + SQUARE), rel=1e-6)
    now = utcnow()
    assert location_flags(lat=south, lng=lng0 + SQUARE, source="device", received_at=now) == []
    farther = lat0 - 0.02  # 2.2 km
    assert location_flags(lat=farther, lng=lng0 + SQUARE, source="device", received_at=now) == ["outside_county"]
    app.config["OUTSIDE_COUNTY_METRES"] = 3000
    assert location_flags(lat=farther, lng=lng0 + SQUARE, source="device", received_at=now) == []


def test_the_photo_age_is_counted_from_the_report(app, county):
    now = utcnow()
    lat, lng = point_in("L2-1-1")
    assert location_flags(lat=lat, lng=lng, source="device", taken_at=now - timedelta(days=2, hours=23),
                          received_at=now) == []
    assert location_flags(lat=lat, lng=lng, source="device", taken_at=now - timedelta(days=3, minutes=1),
                          received_at=now) == ["old_photo"]


def test_the_client_s_capture_time_counts_too(county, api_as):
    lat, lng = point_in("L2-1-1")
    meta = new_meta(lat=lat, lng=lng, captured_at=isoformat(utcnow() - timedelta(days=10)))
    assert flags_of(api_as(county.worker).post_report(meta, [fresh_photo()])) == ["old_photo"]


def test_the_dispatcher_sees_the_flags_in_the_queue_and_on_the_case(client, county, api_as):
    response = api_as(county.worker).post_report(new_meta(), [ITALY])
    ref = response.get_json()["ref"]
    login(client, "dispatcher")
    queue = client.get("/dashboard/queue").get_data(as_text=True)
    item = queue[queue.index(ref):]
    item = item[:item.index("</li>")]
    assert 'data-flag="outside_county"' in item and 'data-flag="old_photo"' in item
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert 'data-flag="outside_county"' in page


def test_a_case_from_before_the_checks_shows_no_flags(county, api_as, make_case):
    case = make_case("reported")
    case.location_flags = None
    db.session.commit()
    assert api_as(county.dispatcher).get(f"/api/v1/cases/{case.id}").get_json()["location_flags"] == []
