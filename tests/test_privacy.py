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


# -- followers (issue 17, item 1) ----------------------------------------------------

def merged_with_a_follower(county, api_as, make_case):
    """resident2 reported the surviving case with private details; resident's own
    report was merged into it, so resident follows it."""
    from civic.cases.models import Case, CaseEvent

    lat, lng = point_in("L2-1-1", 0.31234, 0.61234)
    original = api_as(county.resident2).post_report(new_meta(
        lat=lat, lng=lng, accuracy_m=4, location_source="device", address="幸福小区3号楼2单元501",
        description=f"门口垃圾，联系我 {PHONE}"), [photo_path("plain/no_exif.jpg")]).json
    dispatcher = api_as(county.dispatcher)
    assert post_action(dispatcher, original["id"], new_action("accept")).status_code == 201
    assert post_action(dispatcher, original["id"], new_action("dispatch", department="SAN",
                                                             note="内部：联系李四 13700002222")).status_code == 201
    near = point_in("L2-1-1", 0.35, 0.65)
    duplicate = api_as(county.resident).post_report(new_meta(lat=near[0], lng=near[1], description="同一处垃圾")).json
    assert post_action(dispatcher, duplicate["id"], new_action("merge", into=original["ref"])).status_code == 201
    case = db.session.get(Case, original["id"])
    db.session.add(CaseEvent(case=case, actor=county.staff_san, action="note", note="员工备注 13600003333"))
    db.session.commit()
    return original, lat, lng


def test_a_follower_sees_the_case_as_the_board_shows_it(client, county, api_as, make_case):
    original, lat, lng = merged_with_a_follower(county, api_as, make_case)
    follower = api_as(county.resident)
    shown = follower.get(f"/api/v1/cases/{original['id']}")
    assert shown.status_code == 200
    case = shown.json
    assert case["following"] is True and case["reported_by_me"] is False
    assert (case["lat"], case["lng"]) == (round(lat, 3), round(lng, 3))
    assert case["accuracy_m"] is None and case["address"] is None and case["client_id"] is None
    assert case["assignee"] is None and "reporter" not in case
    assert "139****5678" in case["description"]
    text = shown.get_data(as_text=True)
    assert_anonymous(text)
    for secret in ("幸福小区", "13700002222", "13600003333", "内部", "员工备注", original["client_id"],
                   f"{lat:.6f}", f"{lat:.4f}", county.staff_san.display_name, county.dispatcher.display_name):
        assert secret not in text, secret
    # The same in the list of their reports, and on the case's page with its map.
    listed = follower.get("/api/v1/reports").get_data(as_text=True)
    for secret in ("幸福小区", original["client_id"], f"{lat:.6f}"):
        assert secret not in listed, secret
    assert_anonymous(listed)
    client.post("/auth/login", data={"username": "resident", "password": "pw-for-tests"})
    page = client.get(f"/cases/{original['ref']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert_anonymous(html)
    for secret in ("幸福小区", "13700002222", "13600003333", "内部", f"{lat:.6f}", f"{lat:.4f}", "±4 m",
                   county.staff_san.display_name, county.dispatcher.display_name):
        assert secret not in html, secret
    assert f"{round(lat, 3):.3f}" in html


def test_the_reporter_and_the_staff_still_see_the_case_in_full(county, api_as, make_case):
    original, lat, lng = merged_with_a_follower(county, api_as, make_case)
    mine = api_as(county.resident2).get(f"/api/v1/cases/{original['id']}").json
    assert (mine["lat"], mine["address"], mine["client_id"]) == (lat, "幸福小区3号楼2单元501", original["client_id"])
    assert PHONE in mine["description"]
    staff = api_as(county.staff_san).get(f"/api/v1/cases/{original['id']}").json
    assert staff["lat"] == lat and staff["address"] == "幸福小区3号楼2单元501"
    assert any(e["note"] == "员工备注 13600003333" for e in staff["events"])
