"""A resident's identity stays theirs: public pages and the public API never
show the reporter's name, phone or their photos' EXIF (camera, GPS); staff of
the department see the case, not who sent it; another resident cannot read it."""
import io
import re

from PIL import Image

from civic.extensions import db
from civic.rewards.models import PointEntry
from tests.conftest import new_action, new_meta, photo_path, point_in, post_action

NAME, PHONE = "王秀英", "13912345678"


def reported_and_accepted(county, api_as):
    resident = county.resident2
    resident.display_name = NAME
    resident.on_leaderboard = True
    db.session.commit()
    lat, lng = point_in("L2-1-1")
    meta = new_meta(lat=lat, lng=lng, location_source="device", description=f"门口垃圾，联系我 {PHONE}")
    made = api_as(resident).post_report(meta, [photo_path("gps/DSCN0010.jpg")])
    assert made.status_code == 201, made.json
    case_id = made.json["id"]
    assert post_action(api_as(county.dispatcher), case_id, new_action("accept")).status_code == 201
    return case_id, made.json["ref"]


def assert_anonymous(text):
    assert NAME not in text and PHONE not in text and "resident2" not in text
    assert not re.search(r"139\D?1234\D?5678", text)


def test_public_pages_and_api_never_show_the_reporter(client, county, api_as):
    case_id, ref = reported_and_accepted(county, api_as)
    board = client.get("/board/").get_data(as_text=True)
    page = client.get(f"/board/{ref}")
    assert ref in board and page.status_code == 200
    assert_anonymous(board)
    assert_anonymous(page.get_data(as_text=True))
    assert "139****5678" in page.get_data(as_text=True)  # the number in the text is masked, not removed
    leaders = client.get("/api/v1/rewards/leaderboard")
    assert leaders.status_code == 200 and leaders.json["leaders"][0]["name"] == "王**"
    assert_anonymous(leaders.get_data(as_text=True))


def test_public_photos_carry_no_exif(client, county, api_as):
    case_id, ref = reported_and_accepted(county, api_as)
    page = client.get(f"/board/{ref}").get_data(as_text=True)
    urls = set(re.findall(r'(/photos/[^"\']+)', page))
    assert urls
    original = Image.open(photo_path("gps/DSCN0010.jpg"))
    assert original.getexif().get_ifd(0x8825)  # the fixture has GPS: stripping it is what is tested
    for url in urls:
        served = client.get(url)
        assert served.status_code == 200
        image = Image.open(io.BytesIO(served.data))
        exif = image.getexif()
        assert not exif.get_ifd(0x8825) and 0x010F not in exif and 0x0110 not in exif  # GPS, Make, Model
        assert b"Exif" not in served.data[:4096] and b"NIKON" not in served.data


def test_department_staff_see_the_case_not_the_reporter(county, api_as):
    case_id, _ = reported_and_accepted(county, api_as)
    assert post_action(api_as(county.dispatcher), case_id, new_action("dispatch", department="SAN")).status_code == 201
    seen = api_as(county.staff_san).get(f"/api/v1/cases/{case_id}")
    assert seen.status_code == 200 and "reporter" not in seen.json
    assert seen.json["events"][0]["actor"] is None
    assert_anonymous(seen.get_data(as_text=True))
    assert "139****5678" in seen.json["description"]
    # Oversight sees a masked phone, never the number.
    oversight = api_as(county.dispatcher).get(f"/api/v1/cases/{case_id}").json
    assert oversight["reporter"]["phone"] == "139****5678"


def test_another_resident_cannot_read_a_report(client, county, api_as):
    from tests.test_pages import login

    case_id, ref = reported_and_accepted(county, api_as)
    other = api_as(county.resident)
    assert other.get(f"/api/v1/reports/{case_id}").status_code == 404
    assert other.get(f"/api/v1/cases/{case_id}").status_code == 404
    assert all(r["id"] != case_id for r in other.get("/api/v1/reports").json["reports"])
    refused = post_action(other, case_id, new_action("rate", rating="unsatisfied", note="x"))
    assert refused.status_code == 404
    login(client, "resident")
    assert client.get(f"/cases/{ref}").status_code == 404
    # And their points are their own.
    db.session.add(PointEntry(user_id=county.resident2.id, kind="adjust", points=7))
    db.session.commit()
    assert other.get("/api/v1/me/points").json["balance"] == 0


def test_the_case_page_masks_a_residents_number_for_the_department(client, county, api_as):
    from tests.test_pages import login

    case_id, ref = reported_and_accepted(county, api_as)
    assert post_action(api_as(county.dispatcher), case_id, new_action("dispatch", department="SAN")).status_code == 201
    login(client, "staff_san")
    page = client.get(f"/cases/{ref}").get_data(as_text=True)
    assert_anonymous(page)
    assert "139****5678" in page
