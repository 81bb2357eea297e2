"""Open311 GeoReport v2: every endpoint in JSON and XML, the filters and their
defaults, every error, keys from the command line and the admin page, and a
filed request going through the same workflow as a phone's report."""
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import select

from civic.cases.models import Case, CaseEvent
from civic.extensions import db
from civic.open311.models import ApiKey
from civic.open311.keys import create_key
from civic.timeutil import utcnow
from tests.conftest import point_in

BASE = "/open311/v2"


@pytest.fixture
def key(app, county):
    raw, _row = create_key("12345 热线")
    return raw


def get(client, path, fmt="json", **params):
    response = client.get(f"{BASE}/{path}.{fmt}", query_string=params)
    return response, parse(response, fmt)


def parse(response, fmt):
    if fmt == "json":
        assert response.mimetype == "application/json"
        return response.get_json()
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)  # well-formed, or this raises


def post(client, key, fmt="json", **fields):
    lat, lng = point_in("L2-1-1")
    form = {"api_key": key, "service_code": "E0102", "lat": str(lat), "long": str(lng),
            "description": "路边有一堆垃圾"}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    response = client.post(f"{BASE}/requests.{fmt}", data=form)
    return response, parse(response, fmt)


def error_of(body, fmt):
    if fmt == "json":
        assert isinstance(body, list) and len(body) == 1
        return body[0]["code"], body[0]["description"]
    assert body.tag == "errors" and [e.tag for e in body] == ["error"]
    return int(body.find("error/code").text), body.find("error/description").text


# -- discovery and services ---------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(client, county, fmt):
    response, body = get(client, "discovery", fmt)
    assert response.status_code == 200
    if fmt == "json":
        endpoint = body["endpoints"][0]
        assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2/") and endpoint["type"] == "production"
        assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    else:
        assert body.tag == "discovery"
        assert body.find("endpoints/endpoint/specification").text == "http://wiki.open311.org/GeoReport_v2"
        assert {f.text for f in body.findall("endpoints/endpoint/formats/format")} == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_are_the_active_categories(client, county, fmt):
    response, body = get(client, "services", fmt)
    assert response.status_code == 200
    if fmt == "xml":
        assert body.tag == "services" and {e.tag for e in body} == {"service"}
        body = [{child.tag: child.text for child in service} for service in body]
    codes = {s["service_code"] for s in body}
    assert codes == {code for code, c in county.categories.items() if c.active}
    manhole = next(s for s in body if s["service_code"] == "C0102")
    assert manhole["service_name"] == county.categories["C0102"].name_zh
    assert manhole["group"] == county.categories["C0102"].class_name
    assert manhole["type"] == "realtime" and manhole["keywords"]
    assert manhole["metadata"] in (True, "true")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_service_definition_lists_its_attributes(client, county, fmt):
    response, body = get(client, "services/C0102", fmt)
    assert response.status_code == 200
    if fmt == "json":
        assert body["service_code"] == "C0102"
        attributes = {a["code"]: a for a in body["attributes"]}
        damage = attributes["damage"]
        assert damage["datatype"] == "singlevaluelist" and damage["required"] is True and damage["variable"] is True
        assert {v["key"] for v in damage["values"]} >= {"missing", "broken"}
        assert attributes["component_id"]["datatype"] == "string" and attributes["component_id"]["order"] == 1
    else:
        assert body.tag == "service_definition" and body.find("service_code").text == "C0102"
        damage = next(a for a in body.findall("attributes/attribute") if a.find("code").text == "damage")
        assert damage.find("required").text == "true"
        assert {v.find("key").text for v in damage.findall("values/value")} >= {"missing", "broken"}


# -- filing a request ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_is_filed_into_the_workflow_once(client, county, key, fmt):
    response, body = post(client, key, fmt, email="li@example.cn", first_name="李", last_name="四",
                          phone="13812345678", account_id="acct-7", device_id="kiosk-3",
                          **{"attribute[scale]": "large"})
    assert response.status_code == 201
    if fmt == "xml":
        assert body.tag == "service_requests"
        body = [{child.tag: child.text for child in body.find("request")}]
    assert isinstance(body, list) and len(body) == 1
    answer = body[0]
    assert answer["account_id"] == "acct-7" and answer["service_notice"]
    case = db.session.scalar(select(Case).where(Case.ref == answer["service_request_id"]))
    assert (case.channel, case.status, case.reporter_id) == ("open311", "reported", None)
    assert case.grid_id == county.grids["L2-1-1"].id and case.department.code == "SAN"
    assert case.ack_due_at and case.resolve_due_at
    assert case.caller_phone == "13812345678"
    data = db.session.scalar(select(CaseEvent.data).where(CaseEvent.case_id == case.id, CaseEvent.action == "report"))
    assert data["attributes"] == {"scale": "large"} and data["contact"]["email"] == "li@example.cn"
    # The same request again (a retry after a lost answer): the same case, not a second.
    again, body = post(client, key, fmt, email="li@example.cn", first_name="李", last_name="四",
                       phone="13812345678", account_id="acct-7", device_id="kiosk-3", **{"attribute[scale]": "large"})
    assert again.status_code == 200
    assert db.session.scalar(select(db.func.count(Case.id))) == 1
    assert db.session.scalar(select(ApiKey)).requests == 1
    # Its token tells the id.
    response, found = get(client, f"tokens/{answer['token']}", fmt)
    assert response.status_code == 200
    if fmt == "json":
        assert found == [{"service_request_id": case.ref, "token": answer["token"]}]
    else:
        assert found.tag == "service_requests" and found.find("request/service_request_id").text == case.ref


def test_a_request_by_address_alone_waits_for_the_dispatcher(client, county, key):
    response, body = post(client, key, lat=None, long=None, address_string="府前街 12 号门口")
    assert response.status_code == 201
    case = db.session.scalar(select(Case))
    assert case.lat is None and case.address == "府前街 12 号门口" and case.location_source == "manual"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("fields, status, says", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "not-a-key"}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "X9999"}, 400, "service_code"),
    ({"lat": None, "long": None}, 400, "location"),
    ({"long": None}, 400, "lat and long"),
    ({"lat": "91"}, 400, "lat"),
    ({"long": "-181"}, 400, "long"),
    ({"lat": "NaN"}, 400, "lat"),
    ({"lat": "Infinity"}, 400, "lat"),
    ({"lat": "north"}, 400, "lat"),
    ({"description": "长" * 4001}, 400, "description"),
    ({"description": "a\x00b"}, 400, None),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"phone": "call me"}, 400, "phone"),
    ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ({"attribute[scale]": "enormous"}, 400, "attribute[scale]"),
    ({"attributes": "x"}, 400, "attribute"),
    ({"service_code": "C0102"}, 400, "attribute[damage]"),
    ({"service_code": "C0102", "attribute[damage]": "missing", "attribute[component_id]": "12"}, 400,
     "attribute[component_id]"),
])
def test_bad_requests_get_a_clear_error_and_file_nothing(client, county, key, fmt, fields, status, says):
    fields = {k: (key if k == "api_key" and v == "KEY" else v) for k, v in fields.items()}
    response, body = post(client, key, fmt, **fields)
    assert response.status_code == status
    code, description = error_of(body, fmt)
    assert code == status
    if says:
        assert says in description
    assert db.session.scalar(select(db.func.count(Case.id))) == 0


def test_a_revoked_key_is_refused(client, runner, county, key):
    key_id = db.session.scalar(select(ApiKey.id))
    result = runner.invoke(args=["open311", "revoke-key", str(key_id)])
    assert result.exit_code == 0, result.output
    response, body = post(client, key)
    assert response.status_code == 403


def test_create_key_prints_the_key_as_its_last_line(client, runner, county):
    result = runner.invoke(args=["open311", "create-key", "FixMyStreet 网关"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    response, _body = post(client, raw)
    assert response.status_code == 201
    listed = runner.invoke(args=["open311", "keys"])
    assert "FixMyStreet 网关" in listed.output and raw[:6] in listed.output and raw not in listed.output
    assert runner.invoke(args=["open311", "create-key", ""]).exit_code != 0


def test_admins_make_and_revoke_keys_on_a_page(client, county):
    from tests.conftest import PASSWORD

    client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    page = client.post("/admin/open311-keys/", data={"name": "区政务服务 App"})
    assert page.status_code == 201
    raw = page.get_data(as_text=True).split('id="new-key">', 1)[1].split("<", 1)[0]
    assert post(client, raw)[0].status_code == 201
    listing = client.get("/admin/open311-keys/").get_data(as_text=True)
    assert "区政务服务 App" in listing and raw not in listing  # shown once only
    key_id = db.session.scalar(select(ApiKey.id))
    assert client.post(f"/admin/open311-keys/{key_id}/revoke").status_code == 303
    assert post(client, raw)[0].status_code == 403
    assert client.post("/admin/open311-keys/", data={"name": ""}).status_code == 422


@pytest.mark.parametrize("username", ["supervisor", "dispatcher", "staff_san", "resident"])
def test_only_admins_manage_keys(client, county, username):
    from tests.conftest import PASSWORD

    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert client.get("/admin/open311-keys/").status_code == 403
    assert client.post("/admin/open311-keys/", data={"name": "x"}).status_code == 403


# -- reading requests ---------------------------------------------------------------------

@pytest.fixture
def history(app, county, make_case):
    """Cases of several ages, statuses and categories, and one unscreened report."""
    now = utcnow()
    made = {}
    for name, status, category, age in [("fresh", "dispatched", "E0102", 1), ("done", "closed", "E0102", 5),
                                        ("parked", "acknowledged", "E0505", 20), ("old", "closed", "E0102", 120),
                                        ("refused", "rejected", "E0102", 2), ("unscreened", "reported", "E0102", 1)]:
        case = make_case(status, category=category)
        case.received_at = now - timedelta(days=age)
        case.description = "联系 13912345678 处理"
        made[name] = case
    db.session.commit()
    return made


def refs(body):
    return [r["service_request_id"] for r in body]


def test_requests_default_to_the_last_90_days_of_screened_cases(client, history):
    response, body = get(client, "requests")
    assert response.status_code == 200 and isinstance(body, list)
    assert set(refs(body)) == {history[n].ref for n in ("fresh", "done", "parked")}
    assert refs(body)[0] == history["fresh"].ref  # newest first
    row = next(r for r in body if r["service_request_id"] == history["done"].ref)
    assert row["status"] == "closed" and row["service_code"] == "E0102"
    assert "13912345678" not in str(body) and "139****5678" in row["description"]
    for name in ("requested_datetime", "updated_datetime"):
        assert row[name].endswith("+08:00")
    assert set(row) == {"service_request_id", "status", "status_notes", "service_name", "service_code",
                        "description", "agency_responsible", "service_notice", "requested_datetime",
                        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
                        "media_url"}


def test_requests_have_no_personal_data(client, county, key, history):
    post(client, key, first_name="王", last_name="五", email="wang@example.cn", phone="13700001111",
         account_id="a1", device_id="d1")
    for fmt in ("json", "xml"):
        response = client.get(f"{BASE}/requests.{fmt}")
        text = response.get_data(as_text=True)
        for private in ("王", "wang@example.cn", "13700001111", "13812341234", county.resident.username, "d1"):
            assert private not in text, private


@pytest.mark.parametrize("params, wanted", [
    ({"status": "open"}, {"fresh", "parked"}),
    ({"status": "closed"}, {"done"}),
    ({"status": "open,closed"}, {"fresh", "done", "parked"}),
    ({"service_code": "E0505"}, {"parked"}),
    ({"start_date": "DAYS-10"}, {"fresh", "done"}),
    ({"start_date": "DAYS-150", "end_date": "DAYS-60"}, {"old"}),
    ({"end_date": "DAYS-3"}, {"done", "parked"}),
])
def test_request_filters(client, history, params, wanted):
    now = utcnow()
    for name, value in list(params.items()):
        if value.startswith("DAYS-"):
            params[name] = (now - timedelta(days=int(value[5:]))).replace(microsecond=0).isoformat() + "Z"
    response, body = get(client, "requests", **params)
    assert response.status_code == 200, body
    assert set(refs(body)) == {history[n].ref for n in wanted}


def test_ids_select_requests_and_ignore_the_other_filters(client, history):
    ids = ",".join([history["old"].ref, history["fresh"].ref, "CG-0000-000000", history["refused"].ref])
    response, body = get(client, "requests", service_request_id=ids, status="closed")
    assert refs(body) == [history["old"].ref, history["fresh"].ref]  # in the order asked; unknown and refused left out


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_is_a_one_element_list(client, history, fmt):
    response, body = get(client, f"requests/{history['done'].ref}", fmt)
    assert response.status_code == 200
    if fmt == "json":
        assert isinstance(body, list) and len(body) == 1 and body[0]["service_request_id"] == history["done"].ref
    else:
        assert body.tag == "service_requests" and len(body.findall("request")) == 1
        assert body.find("request/status").text == "closed"
        assert body.find("request/address_id").text is None  # nothing: an empty element


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path, params, status", [
    ("requests", {"status": "pending"}, 400),
    ("requests", {"start_date": "yesterday"}, 400),
    ("requests", {"end_date": "2026-13-01T00:00:00Z"}, 400),
    ("requests", {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, 400),
    ("requests", {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, 400),
    ("requests", {"service_code": "X9"}, 400),
    ("requests", {"service_request_id": ",,,"}, 400),
    ("requests/CG-0000-000000", {}, 404),
    ("services/X9", {}, 404),
    ("tokens/not-a-token", {}, 404),
    ("tokens/6f1b3b0e-59d5-4c6e-8d6b-3f3d0e0c1a11", {}, 404),
    ("no-such-endpoint", {}, 404),
])
def test_read_errors(client, history, fmt, path, params, status):
    response, body = get(client, path, fmt, **params)
    assert response.status_code == status
    assert error_of(body, fmt)[0] == status


def test_unscreened_and_refused_reports_are_not_shown_but_our_own_filings_are(client, county, key, history):
    for name in ("unscreened", "refused"):
        assert get(client, f"requests/{history[name].ref}")[0].status_code == 404
    response, body = post(client, key)
    ref = body[0]["service_request_id"]
    response, body = get(client, f"requests/{ref}")
    assert response.status_code == 200 and body[0]["status"] == "open"


def test_an_unknown_format_and_a_wrong_method(client, county):
    response = client.get(f"{BASE}/services.csv")
    assert response.status_code == 404 and response.get_json()[0]["code"] == 404
    response = client.delete(f"{BASE}/services.xml")
    assert response.status_code == 405
    assert ET.fromstring(response.data).find("error/code").text == "405"


def test_status_notes_are_the_public_replies(client, county, make_case):
    case = make_case("handled")
    db.session.add(CaseEvent(case=case, action="verify", from_status="handled", to_status="closed",
                             note="已清理，联系人 13812345678"))
    case.status = "closed"
    db.session.commit()
    response, body = get(client, f"requests/{case.ref}")
    assert body[0]["status_notes"] == "已清理，联系人 138****5678"
