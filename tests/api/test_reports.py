"""POST /api/v1/reports and GET /api/v1/reports/<id>: the intake contract."""
import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from civic.cases.models import Case, CaseEvent
from civic.extensions import db
from civic.photos.models import Photo
from tests.conftest import PHOTOS, new_meta, phone_clock, photo_path, point_in
from tests.photos.test_pipeline import EXPECTED_GPS, png_header


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def nothing_written(app):
    assert count(Case) == 0 and count(Photo) == 0 and count(CaseEvent) == 0
    photo_dir = app.config["PHOTO_DIR"]
    from pathlib import Path

    assert not [p for p in Path(photo_dir).rglob("*") if p.is_file()]


def test_new_report_in_a_grid_is_routed(county, api_as):
    api = api_as(county.worker)
    lat, lng = point_in("L2-1-1")
    captured, captured_utc = phone_clock()
    response = api.post_report(new_meta(lat=lat, lng=lng, accuracy_m=8, captured_at=captured),
                               [photo_path("plain/no_exif.jpg")])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["ref"].startswith("CG-") and body["status"] == "reported"
    assert body["location_source"] == "device" and body["accuracy_m"] == 8
    assert body["grid"] == {"code": "L2-1-1", "name": "网格1-1"}
    assert body["department"]["code"] == "SAN"  # 暴露垃圾 → sanitation
    assert body["category"]["code"] == "E0102"
    assert body["deadlines"]["acknowledge"] and body["deadlines"]["resolve"]
    assert body["captured_at"] == captured_utc
    assert response.headers["Location"].endswith(f"/api/v1/reports/{body['id']}")
    [photo] = body["photos"]
    assert photo["width"] > 0 and photo["url"] and photo["thumb_url"]
    case = db.session.get(Case, body["id"])
    assert [e.action for e in case.events] == ["report"]
    assert case.channel == "grid_worker"


def test_served_photos_are_jpeg_without_exif(county, api_as, client):
    api = api_as(county.worker)
    body = api.post_report(new_meta(), [photo_path("gps/DSCN0010.jpg")]).json
    for url in (body["photos"][0]["url"], body["photos"][0]["thumb_url"]):
        served = client.get(url)
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert b"Exif" not in served.data and b"GPS" not in served.data
        assert not Image.open(io.BytesIO(served.data)).getexif()


@pytest.mark.parametrize("name", sorted(EXPECTED_GPS))
def test_gps_photo_without_coordinates_lands_at_exif_position(county, api_as, name):
    response = api_as(county.worker).post_report(new_meta(), [photo_path(f"gps/{name}")])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["location_source"] == "exif"
    assert abs(body["lat"] - EXPECTED_GPS[name][0]) < 1e-5
    assert abs(body["lng"] - EXPECTED_GPS[name][1]) < 1e-5
    assert body["grid"] is None and body["department"]["code"] == "SAN"  # Italy: outside every grid


def test_device_position_wins_over_exif(county, api_as):
    lat, lng = point_in("L2-1-2")
    body = api_as(county.worker).post_report(new_meta(lat=lat, lng=lng), [photo_path("gps/DSCN0012.jpg")]).json
    assert body["location_source"] == "device" and body["grid"]["code"] == "L2-1-2"


def test_no_position_anywhere_is_location_required(app, county, api_as):
    response = api_as(county.worker).post_report(new_meta(), [photo_path("mobile/jolla.jpg")])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "location_required"
    nothing_written(app)


def test_address_only_is_manual(county, api_as):
    body = api_as(county.resident).post_report(new_meta(address="振兴路 12 号门口")).json
    assert body["location_source"] == "manual" and body["lat"] is None and body["grid"] is None
    assert body["channel"] == "resident"


def test_orientation_photos_are_stored_upright_with_one_shape(county, api_as, client):
    for n in range(1, 9):
        body = api_as(county.worker).post_report(
            new_meta(address="x"), [photo_path(f"orientation/landscape_{n}.jpg")]).json
        photo = body["photos"][0]
        assert (photo["width"], photo["height"]) == (600, 450)
        assert Image.open(io.BytesIO(client.get(photo["url"]).data)).size == (600, 450)


def test_three_photos_kept_in_order_and_a_fourth_refused(app, county, api_as):
    api = api_as(county.worker)
    photos = [photo_path("plain/no_exif.jpg"), photo_path("heic/samplefilehub.heif"), photo_path("plain/Canon_40D.jpg")]
    body = api.post_report(new_meta(address="x"), photos).json
    assert [p["width"] for p in body["photos"]] == [
        Image.open(p).size[0] if i != 1 else 640 for i, p in enumerate(photos)]
    response = api.post_report(new_meta(address="x"), photos + [photo_path("plain/no_exif.jpg")])
    assert response.status_code == 422 and response.json["error"]["code"] == "too_many_photos"


@pytest.mark.parametrize("format_name, name", [("HEIF", "IMG_0001.HEIC"), ("PNG", "screen.png"), ("WEBP", "photo.webp")])
def test_a_12_megapixel_heic_png_or_webp_is_stored(county, api_as, format_name, name):
    from tests.photos.test_pipeline import large_photo

    response = api_as(county.worker).post_report(new_meta(address="x"), [(large_photo(format_name), name)])
    assert response.status_code == 201, response.data
    assert (response.json["photos"][0]["width"], response.json["photos"][0]["height"]) == (1600, 1200)


@pytest.mark.parametrize("relative", sorted(p.relative_to(PHOTOS).as_posix()
                                            for p in (PHOTOS / "broken").rglob("*") if p.is_file()))
def test_broken_photos_are_accepted_or_refused_with_4xx(app, county, api_as, relative):
    response = api_as(county.worker).post_report(new_meta(address="x"), [photo_path(relative)])
    assert response.status_code in (201, 413, 415, 422), response.data
    if response.status_code == 201:
        assert len(response.json["photos"]) == 1
    else:
        assert response.json["error"]["field"] == "photo"
        nothing_written(app)


# -- replays --------------------------------------------------------------------

def test_replay_with_same_content_returns_the_same_case(county, api_as):
    api = api_as(county.worker)
    meta = new_meta(lat=point_in("L2-1-1")[0], lng=point_in("L2-1-1")[1])
    first = api.post_report(meta, [photo_path("plain/no_exif.jpg")])
    again = api.post_report(meta, [photo_path("plain/no_exif.jpg")])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"] and again.json["ref"] == first.json["ref"]
    assert count(Case) == 1 and count(Photo) == 1


def test_replay_with_different_content_is_a_conflict(county, api_as):
    api = api_as(county.worker)
    meta = new_meta(address="x")
    assert api.post_report(meta, [photo_path("plain/no_exif.jpg")]).status_code == 201
    changed = api.post_report(dict(meta, description="另一件事"), [photo_path("plain/no_exif.jpg")])
    assert changed.status_code == 409 and changed.json["error"]["code"] == "client_id_conflict"
    other_photo = api.post_report(meta, [photo_path("plain/Canon_40D.jpg")])
    assert other_photo.status_code == 409
    assert count(Case) == 1


def test_same_client_id_from_another_user_is_a_conflict(county, api_as):
    meta = new_meta(address="x")
    assert api_as(county.worker).post_report(meta).status_code == 201
    assert api_as(county.other_worker).post_report(meta).status_code == 409


def test_client_id_spelling_does_not_matter(county, api_as):
    api = api_as(county.worker)
    meta = new_meta(address="x")
    assert api.post_report(meta).status_code == 201
    assert api.post_report(dict(meta, client_id=meta["client_id"].upper())).status_code == 200


# -- bad input ------------------------------------------------------------------

BAD_META = [
    ("missing meta", None, 400, "meta_required"),
    ("not json", "{not json", 400, "invalid_json"),
    ("json list", "[1, 2]", 400, "invalid_json"),
    ("no client_id", {"category": "E0102", "address": "x"}, 422, "required"),
    ("client_id not uuid", {"client_id": "abc", "category": "E0102", "address": "x"}, 422, "invalid"),
    ("client_id number", {"client_id": 12, "category": "E0102", "address": "x"}, 422, "invalid"),
    ("unknown category", {"category": "X9999", "address": "x"}, 422, "unknown_category"),
    ("category missing", {"category": None, "address": "x"}, 422, "required"),
    ("lat 91", {"lat": 91, "lng": 116}, 422, "out_of_range"),
    ("lng 181", {"lat": 36, "lng": 181}, 422, "out_of_range"),
    ("lat -90.0001", {"lat": -90.0001, "lng": 116}, 422, "out_of_range"),
    ("NaN", '{"client_id": "%s", "category": "E0102", "lat": NaN, "lng": 116}', 422, "out_of_range"),
    ("Infinity", '{"client_id": "%s", "category": "E0102", "lat": 36, "lng": Infinity}', 422, "out_of_range"),
    ("string lat", {"lat": "36.5", "lng": 116}, 422, "invalid"),
    ("bool lng", {"lat": 36.5, "lng": True}, 422, "invalid"),
    ("lat without lng", {"lat": 36.5}, 422, "required"),
    ("description too long", {"description": "字" * 2001, "address": "x"}, 422, "too_long"),
    ("description not text", {"description": ["a"], "address": "x"}, 422, "invalid"),
    ("NUL in description", {"description": "a\x00b", "address": "x"}, 422, "invalid"),
    ("captured_at garbage", {"captured_at": "yesterday", "address": "x"}, 422, "invalid"),
    ("captured_at future", {"captured_at": "2999-01-01T00:00:00Z", "address": "x"}, 422, "out_of_range"),
    ("captured_at overflows UTC", {"captured_at": "9999-12-31T23:59:59-14:00", "address": "x"}, 422, "invalid"),
    ("accuracy negative", {"accuracy_m": -1, "address": "x"}, 422, "out_of_range"),
    ("unknown channel", {"channel": "fax", "address": "x"}, 422, "invalid"),
]


@pytest.mark.parametrize("label, meta, status, code", BAD_META, ids=[row[0] for row in BAD_META])
def test_bad_meta_is_a_clear_error_and_writes_nothing(app, county, api_as, label, meta, status, code):
    api = api_as(county.worker)
    if meta is None:
        response = api.client.post("/api/v1/reports", data={"photo": (io.BytesIO(b"x"), "a.jpg")},
                                   headers=api.headers, content_type="multipart/form-data")
    elif isinstance(meta, str):
        import uuid

        raw = meta % uuid.uuid4() if "%s" in meta else meta
        response = api.post_report(raw_meta=raw)
    else:
        full = new_meta(**meta)
        full = {k: v for k, v in full.items() if not (k in meta and meta[k] is None)}
        if label == "no client_id":
            full.pop("client_id")
        response = api.post_report(full)
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert error["code"] == code and error["message"]
    nothing_written(app)


def png_bomb():
    return png_header(60000, 60000)


@pytest.mark.parametrize("label, data, status", [
    ("zero bytes", b"", 422),
    ("html named jpg", b"<!doctype html><script>alert(1)</script>", 415),
    ("60000x60000 png", None, 422),
])
def test_bad_photos_are_refused_and_nothing_is_written(app, county, api_as, label, data, status):
    data = png_bomb() if data is None else data
    response = api_as(county.worker).post_report(new_meta(address="x"), [(data, "photo.jpg")])
    assert response.status_code == status
    assert response.json["error"]["field"] == "photo"
    nothing_written(app)


def test_a_bad_second_photo_rejects_the_whole_report(app, county, api_as):
    response = api_as(county.worker).post_report(
        new_meta(address="x"), [photo_path("plain/no_exif.jpg"), (b"not an image", "b.jpg")])
    assert response.status_code == 415
    nothing_written(app)


def test_25_mb_photo_is_413(app, county, api_as):
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (25 * 2**20)
    response = api_as(county.worker).post_report(new_meta(address="x"), [(big, "big.jpg")])
    assert response.status_code == 413
    assert response.json["error"]["code"] in ("photo_too_large", "too_large")
    nothing_written(app)


def test_body_over_the_request_limit_is_413_json(app, county, api_as):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = api_as(county.worker).post_report(new_meta(address="x"), [(b"\x00" * 4096, "a.jpg")])
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"
    nothing_written(app)


def test_wrong_content_type_is_415(county, api_as):
    api = api_as(county.worker)
    response = api.client.post("/api/v1/reports", data="meta=1", headers=api.headers, content_type="text/plain")
    assert response.status_code == 415 and response.json["error"]["code"] == "unsupported_media_type"


def test_json_body_without_photos_is_accepted(county, api_as):
    api = api_as(county.worker)
    response = api.client.post("/api/v1/reports", data=json.dumps(new_meta(address="x")), headers=api.headers,
                               content_type="application/json")
    assert response.status_code == 201


def test_hostile_text_is_stored_as_text_and_escaped_on_pages(county, api_as, client):
    hostile = "<script>alert('x')</script>'; DROP TABLE cases; -- 😀 שלום"
    body = api_as(county.worker).post_report(new_meta(description=hostile, address=hostile)).json
    assert body["description"] == hostile
    client.post("/auth/login", data={"username": "worker", "password": "pw-for-tests"})
    page = client.get(f"/cases/{body['ref']}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert count(Case) == 1


def test_residents_cannot_file_as_hotline(county, api_as):
    response = api_as(county.resident).post_report(new_meta(address="x", channel="hotline"))
    assert response.status_code == 403


def test_report_needs_login(client, county):
    response = client.post("/api/v1/reports", data={"meta": json.dumps(new_meta(address="x"))},
                           content_type="multipart/form-data")
    assert response.status_code == 401 and response.json["error"]["code"] == "login_required"
