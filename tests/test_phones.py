"""Phone numbers (issue 17, items 2 and 3): masked in every form people write
them on every surface the public or a follower reads, and read as one number
however they were typed, so one number is one account and one limit."""
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from civic.accounts.models import User
from civic.cases.models import CaseEvent
from civic.cases.privacy import scrub
from civic.extensions import db
from civic.open311.keys import create_key
from tests.api.test_residents import ask_code, register, texted_code
from tests.conftest import PASSWORD, new_action, new_meta, point_in, post_action

# (as written, what must never be readable)
WRITTEN = [
    ("13812345678", "12345678"),
    ("+8613812345678", "12345678"),
    ("+86 138 1234 5678", "1234 5678"),
    ("138-1234-5678", "1234-5678"),
    ("138 1234 5678", "1234 5678"),
    ("138.1234.5678", "1234.5678"),
    ("１３８１２３４５６７８", "１２３４５６７８"),
    ("１３８－１２３４－５６７８", "１２３４－５６７８"),
    ("13８1234567８", "1234567"),
    ("0635-1234567", "1234567"),
    ("0635 1234567", "1234567"),
    ("(0635)1234567", "1234567"),
    ("（0635）1234567", "1234567"),
    ("010-12345678", "12345678"),
    ("021 6123 4567", "6123 4567"),
    ("110101199003071234", "19900307"),
    ("110101 19900307 1234", "19900307"),
    ("110101 1990 0307 123X", "1990 0307"),
]


@pytest.mark.parametrize("written, secret", WRITTEN)
def test_every_common_form_is_masked(written, secret):
    masked = scrub(f"楼下垃圾，电话{written}，快来")
    assert secret not in masked and written not in masked
    assert masked.startswith("楼下垃圾，电话") and masked.endswith("，快来")


@pytest.mark.parametrize("text", ["编号 CG-2026-000123", "2026-12-03 10:30", "坐标 36.5561234,116.2031234",
                                  "12345 热线", "门牌 88 号，3 楼", "400-800-1234 客服"])
def test_what_is_not_a_personal_number_stays(text):
    assert scrub(text) == text


def filed(county, api_as, client):
    """One case with every written form in its description and its public reply,
    on the board, in Open311 and followed by another resident."""
    text = "；".join(w for w, _ in WRITTEN)
    lat, lng = point_in("L2-1-1")
    made = api_as(county.resident2).post_report(new_meta(lat=lat, lng=lng, description=f"门口垃圾 {text}")).json
    dispatcher = api_as(county.dispatcher)
    assert post_action(dispatcher, made["id"], new_action("accept")).status_code == 201
    other = api_as(county.resident).post_report(new_meta(lat=lat, lng=lng, description="同一处")).json
    assert post_action(dispatcher, other["id"], new_action("merge", into=made["ref"])).status_code == 201
    assert post_action(dispatcher, made["id"], new_action("dispatch", department="SAN")).status_code == 201
    db.session.add(CaseEvent(case_id=made["id"], actor=county.staff_san, action="handle", note=f"已处理，联系 {text}"))
    db.session.commit()
    return made


def assert_masked(text):
    for written, secret in WRITTEN:
        assert secret not in text, (written, secret)


def test_no_form_of_a_number_passes_on_any_public_surface(app, client, county, api_as):
    made = filed(county, api_as, client)
    assert_masked(client.get("/board/").get_data(as_text=True))
    assert_masked(client.get(f"/board/{made['ref']}").get_data(as_text=True))
    create_key("test")
    for fmt in ("json", "xml"):
        one = client.get(f"/open311/v2/requests/{made['ref']}.{fmt}")
        assert one.status_code == 200
        listed = client.get(f"/open311/v2/requests.{fmt}")
        assert listed.status_code == 200
        for response in (one, listed):
            text = response.get_data(as_text=True)
            if fmt == "xml":
                text = "".join(ET.fromstring(response.data).itertext())
            assert_masked(text)
    follower = api_as(county.resident)
    assert_masked(follower.get(f"/api/v1/cases/{made['id']}").get_data(as_text=True))
    assert_masked(follower.get("/api/v1/reports").get_data(as_text=True))
    client.post("/auth/login", data={"username": "resident", "password": PASSWORD})
    assert_masked(client.get(f"/cases/{made['ref']}").get_data(as_text=True))


# -- item 3: one number however it is typed -------------------------------------------------

@pytest.mark.parametrize("typed", ["13７00001111", "137\u0660\u0660\u0660\u0660\u0661\u0661\u0661\u0661", "１３７００００１１１１",
                                   "+86 137 0000 1111"])
def test_a_number_in_other_digits_is_registered_as_itself(app, client, county, typed):
    assert ask_code(client, typed).status_code == 202
    response = register(client, texted_code(app), phone=typed)
    assert response.status_code == 201
    assert response.json["user"]["username"] == "13700001111"
    assert db.session.scalar(select(User.phone).where(User.id == response.json["user"]["id"])) == "13700001111"
    # It logs in as typed either way, and is "already registered" in every form.
    assert client.post("/api/v1/auth/token", json={"username": typed, "password": "a-long-password"}).status_code == 201
    assert client.post("/api/v1/auth/token", json={"username": "13700001111",
                                                   "password": "a-long-password"}).status_code == 201


def test_one_number_in_two_forms_is_one_account_and_one_limit(app, client, county):
    assert ask_code(client, "13700000044").status_code == 202
    code = texted_code(app)
    # The per-phone limit (1 a minute) holds for the full-width form too.
    again = ask_code(client, "13７00000044")
    assert again.status_code == 429
    assert register(client, code, phone="13700000044").status_code == 201
    assert register(client, code, phone="13７00000044").status_code in (409, 422)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.phone.like("%00000044"))) == 1
