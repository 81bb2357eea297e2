"""The staff's reward pages: a service point checks a resident's code and marks
it handed over (once); supervisors keep the catalogue and its stock."""
import uuid

from sqlalchemy import select

from civic.extensions import db
from civic.rewards import services as rewards
from civic.rewards.models import PointEntry, Redemption, RewardItem
from tests.test_pages import login


def issued_code(county, cost=10):
    salt = RewardItem(code="SALT", name="食盐一袋", cost=cost, stock=5)
    db.session.add(salt)
    db.session.add(PointEntry(user_id=county.resident.id, kind="adjust", points=cost))
    db.session.commit()
    return rewards.redeem(county.resident, salt.id, str(uuid.uuid4())).redemption.code


def test_a_service_point_checks_and_hands_over_a_code_once(client, county):
    code = issued_code(county)
    login(client, "worker")
    page = client.get(f"/rewards/codes?code={code[:5]} {code[5:].lower()}")  # as read out, with a space
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "食盐一袋" in text and "resident" not in text and "13812341234" not in text
    handed = client.post("/rewards/codes", data={"code": code}, follow_redirects=True)
    assert handed.status_code == 200
    assert db.session.scalar(select(Redemption.status)) == "used"
    again = client.post("/rewards/codes", data={"code": code}, follow_redirects=True)
    assert again.status_code == 200 and db.session.scalar(select(Redemption.used_by)) == county.worker.id
    assert client.get("/rewards/codes?code=ZZZZZZZZZZ").status_code == 404


def test_residents_cannot_use_the_staff_pages(client, county):
    login(client, "resident")
    assert client.get("/rewards/codes").status_code == 403
    assert client.get("/rewards/").status_code == 403


def test_supervisors_keep_the_catalogue(client, county):
    login(client, "worker")
    assert client.get("/rewards/").status_code == 403  # workers hand out, supervisors keep stock
    client.post("/auth/logout")
    login(client, "supervisor")
    added = client.post("/rewards/", data={"name": "环保袋", "cost": "20", "stock": "50"}, follow_redirects=True)
    assert added.status_code == 200 and "环保袋" in added.get_data(as_text=True)
    item = db.session.scalar(select(RewardItem))
    assert (item.cost, item.stock, item.active) == (20, 50, True)
    client.post(f"/rewards/{item.id}", data={"add": "-60"})  # would go below zero: refused
    client.post(f"/rewards/{item.id}", data={"add": "10"})
    client.post(f"/rewards/{item.id}", data={"withdraw": "1"})
    db.session.expire_all()
    item = db.session.get(RewardItem, item.id)
    assert (item.stock, item.active) == (60, False)
    bad = client.post("/rewards/", data={"name": "", "cost": "x", "stock": "-1"}, follow_redirects=True)
    assert bad.status_code == 200 and db.session.scalar(select(db.func.count(RewardItem.id))) == 1
