"""GCJ-02 and BD-09 to WGS-84 against published reference points: each within 1 m.

The pairs: googollee/eviltransform's test points (MIT licence; Shanghai, Shenzhen,
Beijing: WGS-84 → GCJ-02), and wandergis/coordtransform's documented results
(MIT licence; GCJ-02 ↔ BD-09 and WGS-84 → GCJ-02 at 116.404, 39.915)."""
import numpy as np
import pytest
from shapely.geometry import Polygon

from civic.grids import crs

# (wgs lng, wgs lat, gcj lng, gcj lat)
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),     # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),     # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),     # Beijing
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),           # coordtransform
]
# (gcj lng, gcj lat, bd lng, bd lat): coordtransform's gcj02tobd09(116.404, 39.915)
GCJ_TO_BD = [(116.404, 39.915, 116.41036949371029, 39.92133699351021)]
# (bd lng, bd lat, gcj lng, gcj lat): coordtransform's bd09togcj02(116.404, 39.915)
BD_TO_GCJ = [(116.404, 39.915, 116.39762729119315, 39.90865673957631)]
ONE_METRE = 1.0


@pytest.mark.parametrize("wgs_lng, wgs_lat, gcj_lng, gcj_lat", EVILTRANSFORM)
def test_gcj02_both_ways_within_a_metre(wgs_lng, wgs_lat, gcj_lng, gcj_lat):
    assert crs.distance_m(*crs.wgs84_to_gcj02(wgs_lng, wgs_lat), gcj_lng, gcj_lat) < ONE_METRE
    assert crs.distance_m(*crs.gcj02_to_wgs84(gcj_lng, gcj_lat), wgs_lng, wgs_lat) < ONE_METRE
    # the offset itself is hundreds of metres: the test would see a missing conversion
    assert crs.distance_m(wgs_lng, wgs_lat, gcj_lng, gcj_lat) > 100


@pytest.mark.parametrize("gcj_lng, gcj_lat, bd_lng, bd_lat", GCJ_TO_BD)
def test_bd09_from_gcj02_and_back(gcj_lng, gcj_lat, bd_lng, bd_lat):
    assert crs.distance_m(*crs.gcj02_to_bd09(gcj_lng, gcj_lat), bd_lng, bd_lat) < ONE_METRE
    assert crs.distance_m(*crs.bd09_to_gcj02(bd_lng, bd_lat), gcj_lng, gcj_lat) < ONE_METRE


@pytest.mark.parametrize("bd_lng, bd_lat, gcj_lng, gcj_lat", BD_TO_GCJ)
def test_bd09_to_gcj02_as_published(bd_lng, bd_lat, gcj_lng, gcj_lat):
    assert crs.distance_m(*crs.bd09_to_gcj02(bd_lng, bd_lat), gcj_lng, gcj_lat) < ONE_METRE


def test_bd09_to_wgs84_is_the_two_steps():
    wgs_lng, wgs_lat, gcj_lng, gcj_lat = EVILTRANSFORM[2]
    bd = crs.gcj02_to_bd09(gcj_lng, gcj_lat)
    assert crs.distance_m(*crs.bd09_to_wgs84(*bd), wgs_lng, wgs_lat) < ONE_METRE


def test_round_trips_across_the_country_are_exact():
    rng = np.random.default_rng(7)
    lng, lat = rng.uniform(75, 134, 500), rng.uniform(18, 53, 500)
    assert crs.distance_m(*crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lng, lat)), lng, lat).max() < 0.01
    assert crs.distance_m(*crs.bd09_to_wgs84(*crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(lng, lat))), lng, lat).max() < 0.01


def test_no_offset_outside_china():
    assert crs.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_a_whole_polygon_is_converted():
    wgs_lng, wgs_lat, gcj_lng, gcj_lat = EVILTRANSFORM[0]
    drawn = Polygon([(gcj_lng, gcj_lat), (gcj_lng + 0.001, gcj_lat), (gcj_lng, gcj_lat + 0.001)])
    converted = crs.to_wgs84(drawn, crs.GCJ02)
    first = converted.exterior.coords[0]
    assert crs.distance_m(first[0], first[1], wgs_lng, wgs_lat) < ONE_METRE
    assert crs.to_wgs84(drawn, crs.CGCS2000) is drawn
