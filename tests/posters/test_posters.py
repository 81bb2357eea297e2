"""QR posters: the managers' pages, the A4 print page and its QR code, the scan
link, the public API and reports that come from a poster."""
import re

import pytest
import segno
from sqlalchemy import func, select

from civic.cases.models import Case
from civic.extensions import db
from civic.posters import services as posters
from civic.posters.models import Poster
from civic.intake.meta import parse_meta
from tests.conftest import new_meta, photo_path, point_in
from tests.test_pages import login


def make_poster(county, grid="L2-1-1", **fields):
    poster = Poster(code=fields.pop("code", None) or posters.new_code(), name=fields.pop("name", "人民公园东门"),
                    kind=fields.pop("kind", "park"), grid=county.grids[grid] if grid else None, **fields)
    db.session.add(poster)
    db.session.commit()
    return poster


def all_posters():
    db.session.expire_all()
    return db.session.scalars(select(Poster).order_by(Poster.id)).all()


# -- who may manage them ---------------------------------------------------------

def test_only_admins_and_supervisors_manage_posters(client, county):
    poster = make_poster(county)
    pages = ["/posters/", "/posters/new", f"/posters/{poster.code}/print", "/posters/print?grid=L2-1-1"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], page
    assert client.post(f"/posters/{poster.code}/deactivate").status_code == 302
    for username in ("worker", "dispatcher", "staff_san", "resident"):
        login(client, username)
        assert [client.get(page).status_code for page in pages] == [403] * 4, username
        assert client.post(f"/posters/{poster.code}/replace").status_code == 403
        assert "/posters/" not in client.get("/").get_data(as_text=True)  # not in the nav either
        client.post("/auth/logout")
    for username in ("admin", "supervisor"):
        login(client, username)
        assert [client.get(page).status_code for page in pages] == [200] * 4, username
        client.post("/auth/logout")
    assert all_posters()[0].active  # nobody changed anything


# -- making, replacing, retiring -------------------------------------------------------

def test_a_grid_poster_and_place_posters(client, county):
    login(client, "admin")
    response = client.post("/posters/new", data={"kind": "grid", "grid": "L2-1-2"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/posters/?grid=L2-1-2")
    lat, lng = point_in("L2-2-1")
    client.post("/posters/new", data={"kind": "park", "name": " 人民公园（东门） ", "lat": str(lat), "lng": f" {lng}° ",
                                      "address": "公园路 1 号"})
    outside = client.post("/posters/new", data={"kind": "bus_stop", "name": "城外公交站", "lat": "30.1", "lng": "110.2"},
                          follow_redirects=True)
    assert "不在任何网格内" in outside.get_data(as_text=True)  # allowed, and said so
    grid, park, stop = all_posters()
    assert (grid.kind, grid.name, grid.grid.code, grid.lat) == ("grid", "网格1-2", "L2-1-2", None)
    assert (park.name, park.grid.code, park.address, park.lat) == ("人民公园（东门）", "L2-2-1", "公园路 1 号", lat)
    assert stop.grid is None and stop.created_by == county.admin.id
    codes = {p.code for p in (grid, park, stop)}
    assert len(codes) == 3 and all(len(c) == 8 and set(c) <= set(posters.ALPHABET) for c in codes)
    assert not set("01OI") & set(posters.ALPHABET)
    listed = client.get("/posters/?grid=L2-2-1").get_data(as_text=True)
    assert park.code in listed and grid.code not in listed
    level1 = client.get("/posters/?grid=L1-1").get_data(as_text=True)  # a level-1 grid lists its level-2 grids' posters
    assert grid.code in level1 and park.code not in level1 and stop.code not in level1


@pytest.mark.parametrize("form, field", [
    ({"kind": "grid"}, "网格海报需要选择所属网格。"),
    ({"kind": "castle", "grid": "L2-1-1"}, "请从列表中选择地点类型"),
    ({"kind": "grid", "grid": "NOPE"}, "未知网格"),
    ({"kind": "park", "grid": "L2-1-1"}, "请填写居民熟知的地点名称"),
    ({"kind": "park", "name": "公园"}, "请选择所属网格，或填写地点的经纬度"),
    ({"kind": "park", "name": "公园", "lat": "36.56"}, "经纬度"),
    ({"kind": "park", "name": "公园", "lat": "north", "lng": "116.2"}, "纬度"),
    ({"kind": "park", "name": "公园", "lat": "1e400", "lng": "116.2"}, "纬度"),
    ({"kind": "park", "name": "公" * 101, "grid": "L2-1-1"}, "太长"),
    ({"kind": "park", "name": "公\x00园", "grid": "L2-1-1"}, "NUL"),
])
def test_bad_forms_save_nothing_and_say_why(client, county, form, field):
    login(client, "supervisor")
    response = client.post("/posters/new", data=form)
    assert response.status_code == 422
    assert field in response.get_data(as_text=True)
    assert all_posters() == []


def test_replace_gives_a_new_code_and_retires_the_old_one(client, county):
    old = make_poster(county)
    login(client, "supervisor")
    response = client.post(f"/posters/{old.code.lower()}/replace")
    old_again, new = all_posters()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/posters/{new.code}/print")
    assert not old_again.active and new.active and new.code != old.code
    assert f"旧编号 {old.code} 已停用" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert (new.name, new.kind, new.grid_id, new.created_by) == (old.name, old.kind, old.grid_id, county.supervisor.id)
    assert old.code not in client.get("/posters/").get_data(as_text=True)  # the list shows active posters
    assert old.code in client.get("/posters/?all=1").get_data(as_text=True)
    # Its printouts still hang on walls: the old code still opens the report page.
    assert client.get(f"/q/{old.code}").status_code == 302
    assert client.get(f"/api/v1/posters/{old.code}").json["active"] is False
    client.post(f"/posters/{new.code}/deactivate")
    assert not any(p.active for p in all_posters())
    assert client.post("/posters/NOSUCH22/deactivate").status_code == 404
    assert client.get("/posters/?grid=NOPE").status_code == 404


# -- the A4 page ---------------------------------------------------------------------

def svg_modules(svg):
    """The dark modules segno's SVG path draws, as (row, column) with the quiet zone."""
    d = re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)
    x = y = 0.0
    dark = set()
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", d):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            dark |= {(int(y - 0.5), int(x) + i) for i in range(int(float(a)))}
            x += float(a)
    return dark


def test_the_print_page_is_an_a4_poster_with_the_qr_code_of_the_scan_url(app, client, county):
    app.config["PUBLIC_BASE_URL"] = "https://grid.example.cn/"
    poster = make_poster(county, address="公园路 1 号")
    login(client, "admin")
    page = client.get(f"/posters/{poster.code}/print").get_data(as_text=True)
    url = f"https://grid.example.cn/q/{poster.code}"
    svg = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", page, re.S).group(0)
    expected = {(r + 4, c + 4) for r, row in enumerate(segno.make(url, error="q").matrix)
                for c, value in enumerate(row) if value}
    assert svg_modules(svg) == expected  # the code drawn is the scan URL's, with a 4-module quiet zone
    assert 'viewBox="0 0 ' in svg and "width=" not in svg.split(">")[0]  # sized by the CSS
    for text in ("随手拍 · 有奖上报", "人民公园东门", "所属网格：网格1-1", "公园路 1 号", f"grid.example.cn/q/{poster.code}",
                 "扫码", "拍照", "提交", "积分", "您的姓名和电话号码绝不会公开显示"):
        assert text in page, text
    assert 'lang="zh-CN"' in page
    assert "Snap it · rewards for reports" in client.get(f"/posters/{poster.code}/print?lang=en").get_data(as_text=True)
    # The CSP allows no inline style or script: all of it is in files.
    assert " style=" not in page and not re.search(r"<script(?![^>]*\ssrc=)", page)
    css = client.get("/static/css/poster-print.css").get_data(as_text=True)
    assert "size: A4 portrait" in css and "break-after: page" in css


def test_a_grid_prints_its_active_posters_one_per_page(client, county):
    in_child = make_poster(county, "L2-1-1", name="菜市场", kind="market")
    make_poster(county, "L2-1-3", name="公交站", kind="bus_stop")
    make_poster(county, "L2-1-3", name="旧海报", kind="other", active=False)
    elsewhere = make_poster(county, "L2-2-1", name="别处")
    login(client, "admin")
    page = client.get("/posters/print?grid=L1-1").get_data(as_text=True)  # a level-1 grid: its level-2 grids too
    assert page.count('<article class="sheet"') == 2
    assert "菜市场" in page and "公交站" in page and "旧海报" not in page and elsewhere.code not in page
    one = client.get("/posters/print?grid=L2-1-1").get_data(as_text=True)
    assert one.count('<article class="sheet"') == 1 and in_child.code in one
    assert client.get("/posters/print?grid=L2-2-4").status_code == 303  # nothing to print
    assert client.get("/posters/print?grid=NOPE").status_code == 404
    assert client.get("/posters/print").status_code == 404


# -- scanning and the public API --------------------------------------------------------

def test_the_scan_link_opens_the_report_screen_with_the_poster(client, county):
    poster = make_poster(county)
    for spelling in (poster.code, poster.code.lower()):
        response = client.get(f"/q/{spelling}")
        assert response.status_code == 302
        assert response.headers["Location"] == f"/field/#/capture?poster={poster.code}"
    for bad in ("ZZZZ2222", "x" * 40, "%00", "ab-cd", "人民公园"):
        response = client.get(f"/q/{bad}")
        assert response.status_code == 404, bad
        assert "无法识别这个二维码" in response.get_data(as_text=True)


def test_the_poster_api_is_public(client, county):
    poster = make_poster(county, lat=36.555, lng=116.205, address="公园路 1 号")
    response = client.get(f"/api/v1/posters/{poster.code.lower()}")
    assert response.status_code == 200
    assert response.json == {"code": poster.code, "name": "人民公园东门", "kind": "park",
                             "grid": {"code": "L2-1-1", "name": "网格1-1"}, "lat": 36.555, "lng": 116.205,
                             "address": "公园路 1 号", "active": True}
    nowhere = make_poster(county, grid=None, name="城外")
    assert client.get(f"/api/v1/posters/{nowhere.code}").json["grid"] is None
    for bad in ("ZZZZ2222", "x" * 40, "%00"):
        response = client.get(f"/api/v1/posters/{bad}")
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


# -- reports from a poster ------------------------------------------------------------------

def test_a_residents_report_from_a_poster_is_a_qr_report_at_that_poster(county, api_as):
    poster = make_poster(county, "L2-1-2")
    lat, lng = point_in("L2-1-2")
    resident = api_as(county.resident)
    meta = new_meta(lat=lat, lng=lng, poster=poster.code.lower())
    response = resident.post_report(meta, [photo_path("plain/no_exif.jpg")])
    assert response.status_code == 201, response.json
    case = db.session.get(Case, response.json["id"])
    assert (case.poster_id, case.channel) == (poster.id, "qr")
    assert resident.post_report(meta, [photo_path("plain/no_exif.jpg")]).status_code == 200  # a replay
    assert resident.post_report(dict(meta, poster=None), [photo_path("plain/no_exif.jpg")]).status_code == 409
    # A channel the resident names stays; a worker's report keeps the worker's channel.
    named = resident.post_report(new_meta(lat=lat, lng=lng, poster=poster.code, channel="resident"))
    worker = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng, poster=poster.code))
    assert (named.json["channel"], worker.json["channel"]) == ("resident", "grid_worker")
    assert db.session.get(Case, worker.json["id"]).poster_id == poster.id


def test_a_retired_poster_still_files_reports(county, api_as):
    poster = make_poster(county, active=False)
    response = api_as(county.resident).post_report(new_meta(poster=poster.code, address="东门"))
    assert response.status_code == 201 and db.session.get(Case, response.json["id"]).poster_id == poster.id


@pytest.mark.parametrize("code", ["NOSUCH22", "x" * 17, 12345, "人民公园"])
def test_an_unknown_poster_is_refused_and_nothing_is_written(county, api_as, code):
    response = api_as(county.resident).post_report(new_meta(poster=code, address="东门"))
    assert response.status_code == 422
    assert response.json["error"]["field"] == "poster"
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_with_no_position_the_report_goes_to_the_posters_place(county, api_as):
    lat, lng = point_in("L2-2-3")
    place = make_poster(county, "L2-2-3", lat=lat, lng=lng)
    at_place = api_as(county.resident).post_report(new_meta(poster=place.code), [photo_path("plain/no_exif.jpg")])
    assert at_place.status_code == 201, at_place.json
    assert (at_place.json["lat"], at_place.json["lng"], at_place.json["location_source"]) == (lat, lng, "manual")
    assert at_place.json["grid"]["code"] == "L2-2-3"
    # A grid poster with no position: the report has no point but is in the poster's grid.
    grid_only = make_poster(county, "L2-1-4", kind="grid", name="网格1-4")
    response = api_as(county.resident).post_report(new_meta(poster=grid_only.code))
    assert response.status_code == 201, response.json
    assert response.json["lat"] is None and response.json["grid"]["code"] == "L2-1-4"
    assert response.json["department"] is not None  # routed like any report in that grid


def test_meta_without_a_poster_keeps_its_old_content_hash():
    plain = parse_meta(new_meta(lat=36.5, lng=116.2), description_max=2000)
    assert plain.poster is None and "poster" not in plain.canonical()
    with_poster = parse_meta(new_meta(lat=36.5, lng=116.2, poster=" ab2c "), description_max=2000)
    assert with_poster.poster == "AB2C" and '"poster": "AB2C"' in with_poster.canonical()
