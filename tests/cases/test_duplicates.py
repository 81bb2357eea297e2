"""Duplicate suggestions: a near same-category case is found; far or other-category ones are not."""
from datetime import timedelta

from civic.cases.duplicates import distance_m, suggest
from civic.cases.services import set_location
from civic.extensions import db
from civic.photos.models import Photo


def moved(case, north_m=0.0, east_m=0.0):
    import math

    lat = case.lat + north_m / 111_320
    lng = case.lng + east_m / (111_320 * math.cos(math.radians(case.lat)))
    return lat, lng


def place(case, lat, lng):
    set_location(case, lat, lng)
    db.session.commit()


def test_haversine_is_right_at_city_scale():
    assert abs(distance_m(36.58, 116.25, 36.58 + 50 / 111_320, 116.25) - 50) < 0.5


def test_a_near_case_of_the_same_category_is_suggested(county, make_case):
    first = make_case("dispatched")
    second = make_case("reported")
    place(second, *moved(first, north_m=30))
    found = suggest(second)
    assert [s.case.id for s in found] == [first.id]
    assert found[0].reasons == ["nearby_same_category"] and 25 <= found[0].metres <= 35


def test_far_other_category_closed_or_old_cases_are_not(county, make_case):
    target = make_case("reported")
    far = make_case("dispatched")
    place(far, *moved(target, east_m=80))
    other = make_case("dispatched", category="C0101")
    place(other, *moved(target, north_m=10))
    closed = make_case("closed")
    place(closed, *moved(target, north_m=5))
    old = make_case("dispatched")
    old.received_at = target.received_at - timedelta(days=8)
    place(old, *moved(target, north_m=5))
    assert suggest(target) == []


def test_a_similar_photo_nearby_is_suggested_across_categories(county, make_case):
    target = make_case("reported")
    other = make_case("dispatched", category="C0101")
    place(other, *moved(target, north_m=200))
    for case, phash in ((target, "f0f0f0f0f0f0f0f0"), (other, "f0f0f0f0f0f0f0f3")):
        db.session.add(Photo(case=case, kind="before", sha256="0" * 64, phash=phash, width=10, height=10, bytes=1,
                             source_format="JPEG", display_key=f"k{case.id}", thumb_key=f"t{case.id}"))
    db.session.commit()
    found = suggest(target)
    assert [s.case.id for s in found] == [other.id] and found[0].reasons == ["similar_photo"]
