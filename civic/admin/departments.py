"""Departments: create, edit, merge one into another, retire (and restore), and
try a department's chat group with a test message.

A merge is what happens when the county reorganises: the source department's open
cases move to the target, each with an event ("department_merge") on its trail;
its staff, the categories it answers for by default and the routing rules naming
it move too, so nothing new is routed to a department that no longer exists. The
source is then inactive, with `merged_into_id` saying where it went. Retiring is
for a department with nothing left: it is refused, with the counts, while open
cases, categories or routing rules still point to it (merge it instead).

Every change is one audit entry with before and after. A webhook URL carries its
robot's key in the query string, and the signing secret is a secret: the audit log
keeps the URL without its query and only whether a secret is set.
"""
import re
import time
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select

from ..accounts.models import User
from ..cases.deadlines import parse_working_hours
from ..cases.models import OPEN_STATUSES, Case, CaseEvent
from ..extensions import db
from ..grids.models import Category, Department, RoutingRule
from ..notify import webhooks
from ..timeutil import utcnow
from . import audit

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
PHONE = re.compile(r"^[0-9+\-() ]{3,20}$")
LIMITS = {"name": 100, "name_en": 100, "liaison_group": 200, "webhook_secret": 200, "webhook_url": 1000}
FIELDS = ("code", "name", "name_en", "phone", "working_hours", "liaison_group", "webhook_url", "webhook_kind",
          "webhook_secret")
TEST_TIMEOUT_SECONDS = 5
ANSWER_MAX_CHARS = 2000


class DepartmentError(ValueError):
    """A change refused, in words, with the form field it is about (or None)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def _clean(value):
    return unicodedata.normalize("NFKC", value or "").strip() or None


def masked_url(url):
    """A webhook URL without its query (the robot's key or token) for logs and pages."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")


def facts(department):
    """What the audit log keeps of a department (no secrets)."""
    merged = db.session.get(Department, department.merged_into_id) if department.merged_into_id else None
    return {"code": department.code, "name": department.name, "name_en": department.name_en,
            "phone": department.phone, "working_hours": department.working_hours,
            "liaison_group": department.liaison_group, "webhook_url": masked_url(department.webhook_url),
            "webhook_kind": department.webhook_kind, "webhook_secret": bool(department.webhook_secret),
            "active": department.active, "merged_into": merged.code if merged else None}


def check(values, *, department=None):
    """The cleaned fields of a form or a command's options, or DepartmentError.
    `values` holds what is given; a field left out keeps the department's value.
    An empty webhook_secret keeps the secret on file; clear_secret removes it."""
    given = {name: _clean(values.get(name)) for name in FIELDS if name in values}
    current = {name: getattr(department, name) for name in FIELDS} if department is not None else {}
    out = {**current, **given}
    if "webhook_secret" in given and given["webhook_secret"] is None:
        out["webhook_secret"] = current.get("webhook_secret")  # blank keeps the secret (never shown again)
    if values.get("clear_secret"):
        out["webhook_secret"] = None
    out["code"] = (out.get("code") or "").upper() or None
    if out["code"] is None or not CODE.fullmatch(out["code"]):
        raise DepartmentError("The code is 1 to 32 capital letters, digits, '-' or '_' (e.g. SAN).", "code")
    taken = db.session.scalar(select(Department).where(func.upper(Department.code) == out["code"]))
    if taken is not None and taken is not department:
        raise DepartmentError(f"The code {out['code']} belongs to {taken.name} already.", "code")
    if not out.get("name"):
        raise DepartmentError("A department needs a name.", "name")
    for name, limit in LIMITS.items():
        if out.get(name) and len(out[name]) > limit:
            raise DepartmentError(f"{name}: at most {limit} characters.", name)
    if out.get("phone") and not PHONE.fullmatch(out["phone"]):
        raise DepartmentError("The contact phone has digits, spaces and + - ( ) only (e.g. 0531-87654321).", "phone")
    if out.get("working_hours"):
        try:
            periods = parse_working_hours(out["working_hours"])
        except ValueError as exc:
            raise DepartmentError(f"Working hours like 08:30-12:00,13:30-17:30: {exc}.", "working_hours") from None
        out["working_hours"] = ",".join(f"{s.strftime('%H:%M')}-{e.strftime('%H:%M')}" for s, e in periods)
    _check_webhook(out)
    return out


def _check_webhook(out):
    if out.get("webhook_kind") and out["webhook_kind"] not in webhooks.KINDS:
        raise DepartmentError(f"The platform is one of {', '.join(webhooks.KINDS)}.", "webhook_kind")
    if not out.get("webhook_url"):
        out["webhook_url"] = None
        return
    try:
        adapter = webhooks.adapter_for({"url": out["webhook_url"], "kind": out.get("webhook_kind"),
                                        "secret": out.get("webhook_secret")})
    except ValueError:
        if urlsplit(out["webhook_url"]).scheme in ("http", "https"):
            raise DepartmentError("Choose the group's platform (WeCom, DingTalk or Feishu): the URL's host does "
                                  "not say.", "webhook_kind") from None
        raise DepartmentError("The group's webhook URL starts with https://.", "webhook_url") from None
    out["webhook_kind"] = out.get("webhook_kind") or adapter.kind


def _set(department, values):
    for name in FIELDS:
        setattr(department, name, values.get(name))


def create(values, *, actor=None, ip=None):
    department = Department(active=True)
    _set(department, check(values))
    db.session.add(department)
    db.session.flush()
    audit.record("department.create", actor=actor, ip=ip, target=department, after=facts(department))
    return department


def update(department, values, *, actor=None, ip=None):
    """Returns whether anything changed."""
    cleaned = check(values, department=department)
    before = facts(department)
    secret_before = department.webhook_secret
    _set(department, cleaned)
    db.session.flush()
    old, new = audit.changed(before, facts(department))
    if department.webhook_secret != secret_before:
        old["webhook_secret"], new["webhook_secret"] = ("set" if secret_before else None,
                                                        "changed" if department.webhook_secret else None)
    if not new:
        return False
    audit.record("department.update", actor=actor, ip=ip, target=department, before=old, after=new)
    return True


def open_cases(department):
    return db.session.scalars(select(Case).where(Case.department_id == department.id,
                                                 Case.status.in_(OPEN_STATUSES)).order_by(Case.id)).all()


def ties(department):
    """What still points to a department: open cases, staff, categories, routing rules."""
    def count(query):
        return db.session.scalar(select(func.count()).select_from(query.subquery()))

    return {"open_cases": count(select(Case.id).where(Case.department_id == department.id,
                                                      Case.status.in_(OPEN_STATUSES))),
            "staff": count(select(User.id).where(User.department_id == department.id, User.active.is_(True))),
            "categories": count(select(Category.id).where(Category.department_id == department.id)),
            "routing_rules": count(select(RoutingRule.id).where(RoutingRule.department_id == department.id))}


def merge(source, target, *, actor=None, ip=None, now=None):
    """Merge `source` into `target` (see the module's note). Returns the cases moved."""
    now = now or utcnow()
    if target is None or target.id == source.id:
        raise DepartmentError("Choose another department to merge into.", "into")
    if not source.active:
        raise DepartmentError(f"{source.name} is not active (retired or merged already).", "into")
    if not target.active:
        raise DepartmentError(f"{target.name} is not active: merge into an active department.", "into")
    cases = open_cases(source)
    for case in cases:
        case.department_id, case.updated_at = target.id, now
        db.session.add(CaseEvent(case=case, actor=actor, action="department_merge", from_status=case.status,
                                 to_status=case.status, note=f"{source.name} 并入 {target.name}，案件转至 {target.name}",
                                 data={"from": source.code, "to": target.code}, created_at=now))
    staff = db.session.scalars(select(User).where(User.department_id == source.id)).all()
    for user in staff:
        user.department_id = target.id
    categories = db.session.scalars(select(Category).where(Category.department_id == source.id)).all()
    for category in categories:
        category.department_id = target.id
    rules = db.session.scalars(select(RoutingRule).where(RoutingRule.department_id == source.id)).all()
    for rule in rules:
        rule.department_id = target.id
    source.active, source.merged_into_id = False, target.id
    db.session.flush()
    audit.record("department.merge", actor=actor, ip=ip, target=source, now=now,
                 before={"active": True, "merged_into": None},
                 after={"active": False, "merged_into": target.code, "cases_moved": [case.ref for case in cases],
                        "staff_moved": sorted(user.username for user in staff),
                        "categories_moved": sorted(category.code for category in categories),
                        "routing_rules_moved": len(rules)})
    return cases


def retire(department, *, actor=None, ip=None):
    if not department.active:
        raise DepartmentError(f"{department.name} is retired already.")
    left = {name: n for name, n in ties(department).items() if n and name != "staff"}
    if left:
        said = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in left.items())
        raise DepartmentError(f"{department.name} still has {said}: merge it into another department instead, "
                              "or move them first.")
    department.active = False
    audit.record("department.retire", actor=actor, ip=ip, target=department, before={"active": True},
                 after={"active": False})


def restore(department, *, actor=None, ip=None):
    if department.active:
        raise DepartmentError(f"{department.name} is active already.")
    if department.merged_into_id:
        raise DepartmentError(f"{department.name} was merged into another department; its cases are there now. "
                              "Create a new department instead.")
    department.active = True
    audit.record("department.restore", actor=actor, ip=ip, target=department, before={"active": False},
                 after={"active": True})


# -- the chat group's test message ------------------------------------------------

@dataclass
class TestAnswer:
    """What the platform answered a test message: its HTTP status and body as sent
    (or the network error), and whether that counts as delivered."""
    __test__ = False  # not a pytest class

    platform: str
    url: str            # masked
    status: int | None
    body: str
    error: str | None
    delivered: bool
    verdict: str | None  # why it does not count as delivered
    seconds: float


def test_message(department, *, base_url=None, actor=None, ip=None, timeout=TEST_TIMEOUT_SECONDS, now=None):
    """Post a test message to the group the department has on file (no other URL) and
    return the platform's answer. The attempt is in the audit log."""
    if not department.webhook_url:
        raise DepartmentError(f"{department.name} has no chat group webhook: set its URL first.", "webhook_url")
    try:
        adapter = webhooks.adapter_for(department)
    except ValueError as exc:
        raise DepartmentError(f"The group's webhook is not usable: {exc}.", "webhook_url") from None
    lines = [("部门", department.name), ("群", department.liaison_group or "—"),
             ("说明", "这是城市网格化管理平台的测试消息，收到即表示群机器人配置正确。")]
    message = webhooks.Message("【测试】群机器人连通测试", lines, link=base_url, link_text="打开平台")
    url, headers, body = adapter.build(message)
    started = time.monotonic()
    result = webhooks.post(url, headers, body, timeout)
    seconds = round(time.monotonic() - started, 2)
    outcome = adapter.ok(result)
    answer = TestAnswer(adapter.kind, masked_url(department.webhook_url), result.status,
                        result.body[:ANSWER_MAX_CHARS * 4].decode("utf-8", "replace")[:ANSWER_MAX_CHARS],
                        result.error, outcome.ok, outcome.error, seconds)
    audit.record("department.test_message", actor=actor, ip=ip, target=department, now=now,
                 after={"platform": answer.platform, "url": answer.url, "status": answer.status,
                        "delivered": answer.delivered, "error": answer.error or answer.verdict})
    return answer
