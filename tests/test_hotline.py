"""The hotline (12345) form: operators register calls as cases through the
same intake as the phones; the caller's number is kept and only ever shown masked."""
import re

import pytest
from sqlalchemy import func, select

from civic.phones import mobile_or_landline as normalise_phone
from civic.cases.models import Case, CaseEvent
from civic.extensions import db
from civic.grids.models import RoutingRule
from tests.conftest import PASSWORD, new_meta, point_in
from tests.test_pages import login

RAW = "13812345678"
MASKED = "138****5678"


def client_id_of(page):
    return re.search(r'name="client_id" value="([0-9a-f-]{36})"', page).group(1)


def fresh_form(client):
    response = client.get("/hotline/")
    assert response.status_code == 200
    return client_id_of(response.get_data(as_text=True))


def call(client, **fields):
    """A valid call in grid L2-1-1, with `fields` changed; posts a freshly shown form."""
    lat, lng = point_in("L2-1-1")
    data = {"client_id": fresh_form(client), "caller_phone": "138 1234-5678", "category": "E0102",
            "description": "小区门口垃圾三天没人清", "address": "幸福路 12 号", "lat": f"{lat:.6f}", "lng": f"{lng:.6f}"}
    data.update(fields)
    return data, client.post("/hotline/", data=data)


def count_cases():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Case))


# -- who may use it --------------------------------------------------------------------

@pytest.mark.parametrize("username", ["resident", "worker", "staff_san"])
def test_only_the_command_centre_takes_calls(client, county, username):
    login(client, username)
    assert client.get("/hotline/").status_code == 403
    assert client.post("/hotline/", data={"caller_phone": RAW}).status_code == 403
    assert client.get("/hotline/grids.geojson").status_code == 403
    assert "/hotline/" not in client.get("/").get_data(as_text=True)  # no link in the nav
    assert count_cases() == 0


def test_logged_out_goes_to_login(client, county):
    for response in (client.get("/hotline/"), client.post("/hotline/", data={"caller_phone": RAW})):
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("username", ["dispatcher", "supervisor", "admin"])
def test_the_form(client, county, username):
    login(client, username)
    response = client.get("/hotline/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "12345 热线登记" in page and "来电号码" in page and 'type="tel"' in page
    assert '<optgroup label="事件 · 市容环境">' in page and "暴露垃圾" in page
    assert page.index("事件 · ") < page.index("部件 · ")  # callers mostly report events
    assert 'name="lat"' in page and 'name="lng"' in page  # a location without JavaScript
    assert "vendor/leaflet/leaflet.js" in page and "pages/hotline.js" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert client_id_of(page) != fresh_form(client)  # each form its own id
    assert 'href="/hotline/"' in client.get("/").get_data(as_text=True)  # the nav link


def test_the_form_in_english(client, county):
    client.get("/auth/lang/en")
    login(client, "dispatcher")
    page = client.get("/hotline/").get_data(as_text=True)
    assert "Hotline call (12345)" in page and "Caller's phone" in page and "Event · 市容环境" in page


# -- a call becomes a case -------------------------------------------------------------

def test_a_call_becomes_a_routed_case_with_the_number_masked(app, client, county, api_as):
    grid = county.grids["L2-1-1"]
    db.session.add(RoutingRule(grid=grid, category=county.categories["E0102"], department=county.departments["ENF"]))
    db.session.commit()
    login(client, "dispatcher")
    data, response = call(client)
    assert response.status_code == 303
    case = db.session.scalar(select(Case))
    assert response.headers["Location"] == f"/cases/{case.ref}"
    assert case.channel == "hotline" and case.caller_phone == RAW and case.reporter_id is None
    assert case.client_id == data["client_id"] and case.status == "reported"
    assert case.grid_id == grid.id and case.department.code == "ENF"  # the grid's rule, as for any report
    assert case.ack_due_at and case.resolve_due_at and case.location_source == "manual"
    assert case.description == "小区门口垃圾三天没人清" and case.address == "幸福路 12 号"
    report = db.session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id))
    assert report.action == "report" and report.actor_id == county.dispatcher.id and report.data["channel"] == "hotline"

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"已登记 {case.ref}" in page and MASKED in page and RAW not in page and "来电号码（12345）" in page
    assert "/hotline/" in page  # the next call is one tap away
    body = api_as(county.dispatcher).get(f"/api/v1/cases/{case.id}")
    assert body.json["caller_phone_masked"] == MASKED and body.json["channel"] == "hotline"
    assert RAW not in body.get_data(as_text=True) and "reporter" not in body.json

    # The department's staff and the grid's worker see the case, never the caller.
    staff_rule = county.departments["ENF"]
    county.staff_trf.department = staff_rule
    db.session.commit()
    for user in (county.staff_trf, county.worker):
        api = api_as(user)
        body = api.get(f"/api/v1/cases/{case.id}")
        assert body.status_code == 200 and "caller_phone_masked" not in body.json
        assert RAW not in body.get_data(as_text=True) and MASKED not in body.get_data(as_text=True)
        other = app.test_client()
        login(other, user.username)
        page = other.get(f"/cases/{case.ref}").get_data(as_text=True)
        assert case.ref in page and RAW not in page and MASKED not in page and "来电号码" not in page

    # Nor does the public board, once the case is screened.
    case.status = "dispatched"
    db.session.commit()
    board = app.test_client()
    for url in (f"/board/{case.ref}", "/board/"):
        page = board.get(url).get_data(as_text=True)
        assert case.ref in page and RAW not in page and MASKED not in page


def test_an_address_is_enough(client, county):
    login(client, "dispatcher")
    _, response = call(client, lat="", lng="", caller_phone="(0531) 8812-3456")
    assert response.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.lat is None and case.grid_id is None and case.location_source == "manual"
    assert case.caller_phone == "053188123456" and case.channel == "hotline"
    queue = client.get("/dashboard/queue").get_data(as_text=True)
    assert case.ref in queue  # waits for the dispatcher like any report without a point
    assert "053*****3456" in client.get(f"/cases/{case.ref}").get_data(as_text=True)


@pytest.mark.parametrize("pasted", ["{lat}, {lng}", "{lat}，{lng}"])
def test_a_pasted_pair_of_coordinates(client, county, pasted):
    lat, lng = point_in("L2-1-2")
    login(client, "dispatcher")
    _, response = call(client, lat=pasted.format(lat=lat, lng=lng), lng="")
    assert response.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.grid.code == "L2-1-2" and abs(case.lat - lat) < 1e-6 and abs(case.lng - lng) < 1e-6


def test_a_double_submit_makes_one_case(client, county):
    login(client, "dispatcher")
    data, first = call(client)
    again = client.post("/hotline/", data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert count_cases() == 1
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "重复提交" in page


def test_the_same_form_sent_again_with_other_text_keeps_the_first_case(client, county):
    login(client, "dispatcher")
    data, first = call(client)
    ref = first.headers["Location"].rsplit("/", 1)[1]
    edited = dict(data, description="补充：垃圾已经堆到路中间")
    response = client.post("/hotline/", data=edited)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and f"此表单已登记为 {ref}" in page
    assert "补充：垃圾已经堆到路中间" in page  # nothing typed is lost
    assert client_id_of(page) != data["client_id"]  # registering again is a new case, on purpose
    assert count_cases() == 1
    assert client.post("/hotline/", data=dict(edited, client_id=client_id_of(page))).status_code == 303
    assert count_cases() == 2


def test_a_hotline_case_from_another_operator_is_not_a_replay(app, client, county):
    login(client, "dispatcher")
    data, _ = call(client)
    other = app.test_client()
    login(other, "supervisor")
    response = other.post("/hotline/", data=data)
    assert response.status_code == 409 and count_cases() == 1


# -- bad input: the form again, as typed, nothing written ---------------------------------

BAD = [
    ({"caller_phone": ""}, "请填写来电号码。"),
    ({"caller_phone": "12345"}, "号码无效"),
    ({"caller_phone": "2381234567"}, "号码无效"),
    ({"caller_phone": "1381234567x"}, "号码无效"),
    ({"caller_phone": "138123456789"}, "号码无效"),
    ({"caller_phone": "1" * 500}, "号码无效"),
    ({"category": ""}, "请选择问题类别。"),
    ({"category": "Z9999"}, "没有这个类别"),
    ({"category": "E0102'; DROP TABLE cases; --"}, "没有这个类别"),
    ({"description": ""}, "请填写来电反映的问题。"),
    ({"description": " \r\n\t "}, "请填写来电反映的问题。"),
    ({"description": "垃" * 2001}, "最多 2000 字，现有 2001 字"),
    ({"description": "垃圾\x00桶"}, "无法保存的字符"),
    ({"address": "路" * 501}, "最多 500 字"),
    ({"lat": "91", "lng": "116.25"}, "纬度应为 -90 到 90"),
    ({"lat": "-90.5"}, "纬度应为"),
    ({"lng": "181"}, "经度应为 -180 到 180"),
    ({"lat": "abc"}, "纬度应为"),
    ({"lat": "nan"}, "纬度应为"),
    ({"lng": "inf"}, "经度应为"),
    ({"lat": "1e5"}, "纬度应为"),
    ({"lat": "3_6.5"}, "纬度应为"),
    ({"lng": ""}, "纬度和经度要么都填"),
    ({"lat": "", "lng": "", "address": ""}, "问题在哪里？"),
    ({"client_id": "not-a-uuid"}, "表单已过期"),
    ({"client_id": ""}, "表单已过期"),
]


@pytest.mark.parametrize("fields, message", BAD, ids=[m for _, m in BAD])
def test_bad_input_shows_the_form_again(client, county, fields, message):
    login(client, "dispatcher")
    hostile = "<script>alert('x')</script> 楼下 & 门口"
    data, response = call(client, **{"description": hostile, **fields})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert "没有保存任何内容" in page and 'aria-invalid="true"' in page or "表单已过期" in page
    assert count_cases() == 0
    assert "<script>alert" not in page  # hostile text comes back escaped
    for name in ("address", "lat", "lng"):
        if name not in fields and data[name]:
            assert f'value="{data[name]}"' in page  # nothing typed is lost
    if "description" not in fields:
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; 楼下 &amp; 门口" in page
    if "category" not in fields:
        assert '<option value="E0102" selected>' in page


def test_every_problem_at_once(client, county):
    login(client, "dispatcher")
    _, response = call(client, caller_phone="abc", category="", description="", lat="999", lng="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and page.count('class="field-error"') == 4
    assert count_cases() == 0


def test_hostile_text_is_stored_as_typed_and_shown_escaped(client, county):
    login(client, "dispatcher")
    text = "<img src=x onerror=alert(1)> 🚧 \u202eevil\u202c \"quoted\""
    _, response = call(client, description=text, address="<b>路</b>")
    assert response.status_code == 303
    case = db.session.scalar(select(Case))
    assert case.description == text and case.address == "<b>路</b>"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "<b>路</b>" not in page


def test_a_huge_paste_is_a_field_error_and_a_huge_body_refused(app, client, county):
    login(client, "dispatcher")
    # Under the limit of a body without photos (MAX_BODY_BYTES, 1 MB): the form again, with the field's error.
    _, response = call(client, description="x" * (900 * 1024))
    assert response.status_code == 422 and "最多 2000 字" in response.get_data(as_text=True)
    _, response = call(client, description="x" * (2 * 1024 * 1024))
    assert response.status_code == 413 and count_cases() == 0


def test_the_form_needs_the_csrf_token(app, county):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"username": "dispatcher", "password": PASSWORD, "csrf_token": token})
    page = client.get("/hotline/").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    lat, lng = point_in("L2-1-1")
    data = {"client_id": client_id_of(page), "caller_phone": RAW, "category": "E0102", "description": "井盖丢了",
            "lat": str(lat), "lng": str(lng)}
    assert client.post("/hotline/", data=data).status_code == 400
    assert client.post("/hotline/", data=dict(data, csrf_token="forged")).status_code == 400
    assert count_cases() == 0
    assert client.post("/hotline/", data=dict(data, csrf_token=form_token)).status_code == 303
    assert count_cases() == 1


# -- the map's helpers, the phone numbers -------------------------------------------------

def test_the_map_gets_grids_and_where_a_pin_would_go(client, county):
    login(client, "dispatcher")
    grids = client.get("/hotline/grids.geojson")
    assert grids.status_code == 200 and len(grids.json["features"]) == len(county.grids)
    lat, lng = point_in("L2-1-1")
    here = client.get(f"/hotline/locate?lat={lat}&lng={lng}&category=E0102").json
    assert here["grid"] == "网格1-1" and here["department"] == "环境卫生服务中心"
    assert here["text"] == "位于网格1-1，按规则建议派往环境卫生服务中心。"
    assert client.get(f"/hotline/locate?lat={lat}&lng={lng}").json["text"] == "位于网格1-1。"
    assert client.get("/hotline/locate?lat=10&lng=10").json["grid"] is None
    for bad in ("lat=91&lng=1", "lat=x&lng=1", "lat=1", ""):
        assert client.get(f"/hotline/locate?{bad}").status_code == 422


@pytest.mark.parametrize("typed, clean", [
    ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"), ("008613812345678", "13812345678"), ("8613812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"), ("010-12345678", "01012345678"), ("(0531) 8812 3456", "053188123456"),
    ("0531-8812345", "05318812345"), ("021 6123 4567", "02161234567"),
    ("12812345678", None), ("1381234567", None), ("010-1234567", None), ("0531-123456", None), ("95119", None),
    # Digits of any script are read as the digits they are (issue 17, item 3): one number, one account.
    ("138\u0661\u0662345678", "13812345678"), ("13７00000044", "13700000044"), ("", None), ("电话13812345678", None),
])
def test_phone_numbers(typed, clean):
    assert normalise_phone(typed) == clean


def test_the_api_never_takes_a_caller_phone(client, county, api_as):
    response = api_as(county.dispatcher).post_report(new_meta(address="幸福路", caller_phone=RAW))
    assert response.status_code == 201
    case = db.session.get(Case, response.json["id"])
    assert case.caller_phone is None and case.reporter_id == county.dispatcher.id
    assert response.json["caller_phone_masked"] is None
