"""Who may read a case: the reporter and the staff responsible, nobody else."""
import pytest

from tests.conftest import new_meta, point_in


@pytest.fixture
def case_by_resident(county, api_as):
    lat, lng = point_in("L2-1-1")
    return api_as(county.resident).post_report(new_meta(lat=lat, lng=lng)).json


@pytest.mark.parametrize("who, allowed", [
    ("resident", True), ("resident2", False), ("worker", True), ("other_worker", False),
    ("staff_san", True), ("staff_trf", False), ("dispatcher", True), ("supervisor", True), ("admin", True),
])
def test_reading_a_case(county, api_as, case_by_resident, who, allowed):
    response = api_as(getattr(county, who)).get(f"/api/v1/reports/{case_by_resident['id']}")
    assert response.status_code == (200 if allowed else 404)


def test_anonymous_cannot_read(client, case_by_resident):
    assert client.get(f"/api/v1/reports/{case_by_resident['id']}").status_code == 401


def test_reporter_identity_only_for_oversight_and_masked(county, api_as, case_by_resident):
    url = f"/api/v1/reports/{case_by_resident['id']}"
    assert "reporter" not in api_as(county.staff_san).get(url).json
    assert "reporter" not in api_as(county.worker).get(url).json
    reporter = api_as(county.dispatcher).get(url).json["reporter"]
    assert reporter["phone"] == "138****1234"
    assert "13812341234" not in api_as(county.supervisor).get(url).get_data(as_text=True)


def test_level1_chief_sees_cases_of_the_grids_below(county, api_as, case_by_resident):
    from civic.extensions import db

    county.other_worker.grids.append(county.grids["L1-1"])
    db.session.commit()
    assert api_as(county.other_worker).get(f"/api/v1/reports/{case_by_resident['id']}").status_code == 200


def test_case_page_follows_the_same_rule(county, client, case_by_resident):
    from tests.conftest import PASSWORD

    client.post("/auth/login", data={"username": "resident2", "password": PASSWORD})
    assert client.get(f"/cases/{case_by_resident['ref']}").status_code == 404
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "staff_san", "password": PASSWORD})
    page = client.get(f"/cases/{case_by_resident['ref']}")
    assert page.status_code == 200
    assert "resident" not in page.get_data(as_text=True).split("timeline")[-1]
