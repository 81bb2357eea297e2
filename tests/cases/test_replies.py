"""Reply templates (惯用语): kept by administrators per step and category, offered
filled from the case on its page and over the API, refused with a clear message
when they name something the case does not have."""
import pytest
from sqlalchemy import select

from civic.admin.models import AuditEntry
from civic.cases import replies
from civic.cases.models import Case, ReplyTemplate
from civic.errors import ApiError
from civic.extensions import db
from tests.test_pages import login


def add(action, title, text, category=None):
    template = ReplyTemplate(action=action, title=title, text=text, category_id=category.id if category else None)
    db.session.add(template)
    db.session.commit()
    return template


def test_placeholders_are_filled_from_the_case_and_the_category_comes_first(app, county, make_case):
    case = make_case("in_progress", assignee=county.other_worker)
    add("handle", "通用", "{place}的{category}已处置（{ref}），{department}，期限 {deadline}。")
    add("handle", "垃圾", "{place}垃圾已清运，{unknown} 原样保留。", county.categories["E0102"])
    other = next(c for code, c in county.categories.items() if code != "E0102")
    add("handle", "别的类别", "不该出现", other)
    add("return", "退回", "不是我们的")
    offered = replies.offered_for(db.session.get(Case, case.id), "handle")
    titles = [o.title for o in offered]
    assert titles == ["垃圾", "通用"]  # the case's category's own first; another category's never
    general = next(o for o in offered if o.title == "通用")
    case = db.session.get(Case, case.id)
    facts = replies.facts_of(case)
    assert general.text == (f"{case.grid.name}的{case.category.name_zh}已处置（{case.ref}），"
                            f"{case.department.name}，期限 {facts['deadline']}。")
    assert facts["deadline"]  # the resolve deadline in local time, "2026-11-24 10:30"
    assert "{unknown}" in next(o.text for o in offered if o.title == "垃圾")  # never filled, never an error here
    assert replies.offered_for(case, "reject") == []


@pytest.mark.parametrize(("form", "code", "field"), [
    ({"action": "fly", "title": "x", "text": "y"}, "invalid", "action"),
    ({"action": "handle", "title": "", "text": "y"}, "invalid", "title"),
    ({"action": "handle", "title": "x" * 61, "text": "y"}, "invalid", "title"),
    ({"action": "handle", "title": "x", "text": "  "}, "invalid", "text"),
    ({"action": "handle", "title": "x", "text": "请于{deadlin}前处置"}, "unknown_placeholder", "text"),
    ({"action": "handle", "title": "x", "text": "y", "category_code": "Z9999"}, "invalid", "category"),
])
def test_a_template_that_cannot_work_is_refused(app, county, form, code, field):
    with pytest.raises(ApiError) as refused:
        replies.save(None, **{"category_code": None, **form}, actor=county.admin)
    assert (refused.value.code, refused.value.field) == (code, field)
    db.session.rollback()


def test_administrators_keep_them_on_their_page_with_the_audit_log(app, client, county):
    login(client, "supervisor")
    assert client.get("/admin/replies").status_code == 200  # supervisors may read
    assert client.post("/admin/replies", data={"action": "handle", "title": "t", "text": "x"}).status_code == 403
    client.post("/auth/logout")
    login(client, "admin")
    bad = client.post("/admin/replies", data={"action": "handle", "title": "整改完毕", "text": "请于{dedline}前"})
    assert bad.status_code == 422 and "{dedline}" in bad.get_data(as_text=True)
    assert db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.title == "整改完毕")) is None
    made = client.post("/admin/replies", data={"action": "handle", "title": "整改完毕", "category": "E0102",
                                               "text": "{place}已整改完毕。"})
    assert made.status_code == 303
    template = db.session.scalar(select(ReplyTemplate).where(ReplyTemplate.title == "整改完毕"))
    assert template.category.code == "E0102"
    changed = client.post("/admin/replies", data={"id": str(template.id), "action": "handle", "title": "整改完毕",
                                                  "category": "", "text": "{place}已整改完毕，请核查。"})
    assert changed.status_code == 303
    db.session.expire_all()
    assert (template.category_id, template.text) == (None, "{place}已整改完毕，请核查。")
    assert client.post(f"/admin/replies/{template.id}/retire").status_code == 303
    db.session.expire_all()
    assert template.active is False
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "reply_templates")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["reply_template.save", "reply_template.save", "reply_template.retire"]


def test_staff_pick_one_on_the_case_page_and_over_the_api(app, client, county, make_case, api_as):
    case = make_case("in_progress", assignee=None)
    add("handle", "已处置", "{ref} 已处置完毕")
    add("request_extension", "需协调", "需协调交警")
    login(client, "staff_san")
    page = client.get(f"/cases/{case.ref}").get_data(as_text=True)
    assert f'data-text="{case.ref} 已处置完毕"' in page and 'data-reply-for="handle"' in page
    assert "pages/reply-templates.js" in page

    data = api_as(county.staff_san).get(f"/api/v1/cases/{case.id}/replies").get_json()
    assert {(r["action"], r["text"]) for r in data["replies"]} == {("handle", f"{case.ref} 已处置完毕"),
                                                                   ("request_extension", "需协调交警")}
    only = api_as(county.staff_san).get(f"/api/v1/cases/{case.id}/replies?action=handle").get_json()
    assert [r["action"] for r in only["replies"]] == ["handle"]
    # Someone who may not take those steps is offered none; a resident cannot ask at all.
    assert api_as(county.dispatcher).get(f"/api/v1/cases/{case.id}/replies?action=handle").get_json() == \
        {"replies": []}
    assert api_as(county.resident).get(f"/api/v1/cases/{case.id}/replies").status_code in (403, 404)


def test_the_catalogue_command_adds_the_standard_ones_once(app, county):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["catalogue"])
    assert first.exit_code == 0, first.output
    count = db.session.scalar(select(db.func.count(ReplyTemplate.id)))
    assert count == len([d for d in replies.DEFAULTS if d[1] is None or d[1] in county.categories])
    again = runner.invoke(args=["catalogue"])
    assert "0 new reply templates" in again.output
    assert db.session.scalar(select(db.func.count(ReplyTemplate.id))) == count
