"""Reply templates (惯用语): the words staff use again and again for a step ("已清理
完毕，现场已恢复整洁"), kept by the administrators per step and category, picked on
the case page (or over the API) and edited before they are sent.

A template's text may name the case's facts in braces, filled when it is offered:

    {ref}         the case number, CG-2026-000123
    {category}    the kind of problem, 暴露垃圾
    {place}       the grid (else the address) of the case
    {department}  the department it is with
    {deadline}    the running deadline (the handling's, else the acknowledgement's), local time

Anything else in braces is refused when the template is saved, so a typo shows
at once rather than in a reply a resident reads. No request objects here; the
caller commits.
"""
import re
from dataclasses import dataclass

from sqlalchemy import case as sql_case
from sqlalchemy import or_, select

from ..errors import ApiError
from ..extensions import db
from ..grids.models import Category
from ..timeutil import local_zone
from .models import ReplyTemplate

PLACEHOLDERS = ("ref", "category", "place", "department", "deadline")
TOKEN = re.compile(r"\{([^{}]*)\}")
TITLE_MAX, TEXT_MAX = 60, 2000
# The steps whose note a template may fill: those that take a written note on the case
# page (cases/workflow.py; one-tap steps such as "收到" have none).
STEPS = ("handle", "verify_fail", "return", "reject", "reroute", "request_extension",
         "deny_extension", "request_park", "deny_park", "reopen", "recheck_uphold", "recheck_reopen", "arbitrate",
         "set_urgency")


@dataclass(frozen=True)
class Offered:
    id: int
    title: str
    text: str


def facts_of(case):
    """The placeholder values for `case`, as a reader of the reply sees them."""
    deadline = case.resolve_due_at if case.status in ("acknowledged", "in_progress") else (
        case.ack_due_at if case.status == "dispatched" else case.resolve_due_at)
    when = ""
    if deadline is not None:
        from datetime import timezone

        when = deadline.replace(tzinfo=timezone.utc).astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    place = case.grid.name if case.grid is not None else (case.address or "")
    return {"ref": case.ref or "", "category": case.category.name_zh if case.category else "", "place": place,
            "department": case.department.name if case.department else "", "deadline": when}


def fill(text, facts):
    """`text` with its known placeholders replaced; anything else left as written."""
    return TOKEN.sub(lambda match: facts.get(match.group(1), match.group(0)), text)


def offered_for(case, action):
    """The active templates for `action` on `case`, filled: the case's category's
    own first, then those for every category, each group by title."""
    if action not in STEPS:
        return []
    rows = db.session.scalars(
        select(ReplyTemplate).where(ReplyTemplate.action == action, ReplyTemplate.active.is_(True),
                                    or_(ReplyTemplate.category_id == case.category_id,
                                        ReplyTemplate.category_id.is_(None)))
        .order_by(sql_case((ReplyTemplate.category_id.is_(None), 1), else_=0), ReplyTemplate.title,
                  ReplyTemplate.id)).all()
    facts = facts_of(case)
    return [Offered(row.id, row.title, fill(row.text, facts)) for row in rows]


def offered_by_step(case, actions):
    """{action: [Offered]} for the steps among `actions` that have templates."""
    found = {action: offered_for(case, action) for action in actions if action in STEPS}
    return {action: offered for action, offered in found.items() if offered}


# -- keeping them (the administrators) ------------------------------------------------------

def check(action, title, text, category_code):
    """The cleaned (action, title, text, category) of a template, or ApiError 422."""
    if action not in STEPS:
        raise ApiError(422, "invalid", f"A reply template is for one of the steps {', '.join(STEPS)}.", "action")
    title, text = (title or "").strip(), (text or "").strip()
    if not title or len(title) > TITLE_MAX:
        raise ApiError(422, "invalid", f"Give the template a short title (at most {TITLE_MAX} characters).", "title")
    if not text or len(text) > TEXT_MAX:
        raise ApiError(422, "invalid", f"Write the reply (at most {TEXT_MAX} characters).", "text")
    unknown = sorted({name for name in TOKEN.findall(text) if name not in PLACEHOLDERS})
    if unknown:
        raise ApiError(422, "unknown_placeholder",
                       f"Unknown placeholder {', '.join('{' + u + '}' for u in unknown)}; the known ones are "
                       f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}.", "text")
    category = None
    if category_code:
        category = db.session.scalar(select(Category).where(Category.code == category_code.strip()))
        if category is None:
            raise ApiError(422, "invalid", f"Unknown category '{category_code[:20]}'.", "category")
    return action, title, text, category


def save(template, *, action, title, text, category_code, actor, ip=None):
    """Create (template None) or change a template, with its audit entry."""
    from ..admin import audit

    action, title, text, category = check(action, title, text, category_code)
    before = None if template is None else as_dict(template)
    if template is None:
        template = ReplyTemplate()
        db.session.add(template)
    template.action, template.title, template.text = action, title, text
    template.category_id = category.id if category else None
    template.active = True
    db.session.flush()
    audit.record("reply_template.save", actor=actor, ip=ip, target=template, label=title,
                 before=before, after=as_dict(template))
    return template


def retire(template, *, actor, ip=None):
    from ..admin import audit

    template.active = False
    audit.record("reply_template.retire", actor=actor, ip=ip, target=template, label=template.title,
                 before={"active": True}, after={"active": False})


def as_dict(template):
    return {"action": template.action, "title": template.title, "text": template.text,
            "category": template.category.code if template.category_id and template.category else None,
            "active": template.active}


# The county's first templates (the demo, and `flask seed-replies` for a new county).
DEFAULTS = [
    ("handle", None, "已处置", "{place}的{category}问题已处置完毕，现场已恢复，请核查。"),
    ("handle", "E0102", "垃圾已清理", "{place}暴露垃圾已清运，周边已清扫干净。"),
    ("return", None, "非本部门职责", "经核实，{category}不属于本部门职责范围，请重新派遣。"),
    ("verify_fail", None, "现场未整改到位", "现场核查：问题仍存在，请继续处置（{ref}）。"),
    ("reject", None, "重复上报", "该问题已有案件在办理，不再重复立案。"),
    ("request_extension", None, "需协调其他单位", "该问题需协调其他单位共同处置，申请延期。"),
    ("request_park", None, "需列入预算", "该问题需专项经费解决，申请挂账，待预算批复后处置。"),
]


def seed_defaults():
    """Add the default templates that are not there yet (by step and title); returns how many."""
    added = 0
    codes = {row.code: row.id for row in db.session.execute(select(Category.code, Category.id))}
    for action, code, title, text in DEFAULTS:
        if code is not None and code not in codes:
            continue
        exists = db.session.scalar(select(ReplyTemplate.id).where(ReplyTemplate.action == action,
                                                                  ReplyTemplate.title == title))
        if exists is None:
            db.session.add(ReplyTemplate(action=action, title=title, text=text,
                                         category_id=codes.get(code) if code else None))
            added += 1
    return added
