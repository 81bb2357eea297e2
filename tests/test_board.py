"""The public progress board: anyone can follow screened cases, and nobody
learns a name, a phone number or an exact point from it."""
import pytest

from civic.cases.models import CaseEvent
from civic.extensions import db


def test_anyone_sees_screened_cases_and_not_unscreened_or_rejected(client, county, make_case):
    shown = make_case("dispatched")
    fresh = make_case("reported")
    refused = make_case("rejected")
    page = client.get("/board/").get_data(as_text=True)
    assert shown.ref in page and fresh.ref not in page and refused.ref not in page
    assert client.get(f"/board/{shown.ref}").status_code == 200
    assert client.get(f"/board/{fresh.ref}").status_code == 404
    assert client.get(f"/board/{refused.ref}").status_code == 404


def test_no_personal_data_on_the_public_case_page(client, county, make_case):
    case = make_case("handled")
    case.description = "王大爷说，电话13812345678，身份证110101199003071234，楼下垃圾没人管"
    case.address = "幸福小区3号楼2单元501"
    db.session.add(CaseEvent(case=case, actor=county.staff_san, action="handle", from_status="in_progress",
                             to_status="handled", note="已清运，联系人13900001111"))
    db.session.add(CaseEvent(case=case, actor=county.dispatcher, action="dispatch", note="内部：派给李四 13700002222"))
    db.session.commit()
    page = client.get(f"/board/{case.ref}").get_data(as_text=True)
    assert "138****5678" in page and "13812345678" not in page
    assert "110101********1234" in page and "110101199003071234" not in page
    assert "已清运，联系人139****1111" in page  # the department's public reply
    assert "内部" not in page and "13700002222" not in page  # internal notes stay internal
    assert "幸福小区" not in page
    for person in (county.resident, county.staff_san, county.dispatcher):
        assert person.display_name not in page
    assert f"{case.lat:.6f}" not in page  # only an approximate point


def test_filters_by_grid_and_category(client, county, make_case):
    near = make_case("dispatched", grid="L2-1-1", category="E0102")
    far = make_case("dispatched", grid="L2-2-1", category="E0102")
    other = make_case("dispatched", grid="L2-1-1", category="C0101")
    by_grid = client.get("/board/?grid=L2-1-1").get_data(as_text=True)
    assert near.ref in by_grid and other.ref in by_grid and far.ref not in by_grid
    by_parent = client.get("/board/?grid=L1-1").get_data(as_text=True)
    assert near.ref in by_parent and far.ref not in by_parent
    by_category = client.get("/board/?grid=L2-1-1&category=C0101").get_data(as_text=True)
    assert other.ref in by_category and near.ref not in by_category
    assert 'class="dot' in by_grid  # the map of the list


@pytest.mark.parametrize("query", ["grid=NOPE", "category=X9999", "page=abc"])
def test_bad_filters_are_404_not_500(client, county, query):
    assert client.get(f"/board/?{query}").status_code == 404
