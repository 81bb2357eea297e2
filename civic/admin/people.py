"""Staff accounts in bulk, from the spreadsheet every county keeps, and the day-to-day
changes: deactivating whoever left (their phone's session ends at once, their open
tasks go back to the queue) and reactivating them.

An import is checked whole before anything is written: every row gets a verdict
(create, update, unchanged or invalid, with the column and the reason), and by
default nothing is applied while any row is invalid. Applying is one transaction.
Re-importing the same file changes nothing; a changed row updates that user. A new
account gets a one-time password it must change at its first login.
"""
import io
import re
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from .. import phones
from ..accounts import sessions
from ..accounts.models import STAFF_ROLES, Role, User
from ..cases.models import OPEN_STATUSES, Case, CaseEvent
from ..extensions import db
from ..grids.models import Department, Grid
from ..timeutil import utcnow
from . import audit
from .tables import ImportRefused, RowPlan, header_columns  # noqa: F401  (ImportRefused: the views catch it as people.ImportRefused)

COLUMNS = ("username", "name", "role", "phone", "grids", "department")
REQUIRED_COLUMNS = ("name", "role")
HEADERS = {
    "username": "username", "用户名": "username", "账号": "username", "登录名": "username",
    "name": "name", "姓名": "name", "display_name": "name",
    "role": "role", "角色": "role",
    "phone": "phone", "手机": "phone", "手机号": "phone", "手机号码": "phone", "电话": "phone",
    "grids": "grids", "网格": "grids", "grid": "grids",
    "department": "department", "部门": "department", "单位": "department",
}
ROLE_NAMES = {
    **{role.value: role.value for role in STAFF_ROLES},
    "网格员": Role.GRID_WORKER.value, "网格长": Role.GRID_WORKER.value,
    "部门人员": Role.DEPT_STAFF.value, "处置人员": Role.DEPT_STAFF.value,
    "派遣员": Role.DISPATCHER.value, "受理员": Role.DISPATCHER.value,
    "督办员": Role.SUPERVISOR.value, "指挥中心": Role.SUPERVISOR.value,
    "管理员": Role.ADMIN.value, "系统管理员": Role.ADMIN.value,
}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")
LIST_SEPARATORS = re.compile(r"[;；,，\s]+")
NAME_MAX = 100
# One-time passwords: 12 characters without look-alikes (0/O, 1/l/I), about 62 bits.
# A slow KDF protects passwords people choose, which can be guessed; 62 random bits
# cannot, so these are hashed with an eighth of scrypt's default work (a thousand
# accounts in seconds, not minutes, on a county's two-core server). A login still
# costs a full hash (accounts/services.authenticate), and the user's own password,
# set at the first login, gets the default.
ONE_TIME_HASH = "scrypt:4096:8:1"
PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
PASSWORD_LENGTH = 12


# Why a row is refused, in words (translated on the pages: civic/translations).
REASONS = {
    "name_required": _l("a name is required"),
    "too_long": _l("at most %(limit)d characters"),
    "role_required": _l("a role is required"),
    "resident_role": _l("residents register themselves; import staff only"),
    "unknown_role": _l("unknown role '%(role)s': one of %(roles)s"),
    "not_mobile": _l("'%(phone)s' is not a mainland mobile number"),
    "username_required": _l("give a username or a phone number to make it from"),
    "bad_username": _l("letters, digits and _ . @ - only (2 to 64, starting with a letter or digit)"),
    "grid_required": _l("a grid worker needs at least one grid"),
    "department_required": _l("department staff need a department"),
    "duplicate": _l("also in row %(rows)s"),
    "unknown_grid": _l("no grid with code %(codes)s"),
    "unknown_department": _l("no department with code %(department)s"),
    "resident_account": _l("%(username)s is a resident's account"),
    "phone_taken": _l("the number belongs to user %(username)s"),
}


@dataclass
class Row:
    number: int
    values: dict
    username: str | None = None
    name: str | None = None
    role: str | None = None
    phone: str | None = None
    grid_codes: tuple = ()
    department_code: str | None = None
    errors: list = field(default_factory=list)   # [(column, reason code, its values)]
    action: str = "invalid"                     # create, update, unchanged, invalid
    user: User | None = None
    changes: dict = field(default_factory=dict)  # field → (before, after)

    def refuse(self, column, code, **values):
        self.errors.append((column, code, values))

    def reasons(self):
        """[(column, reason)] in the present language (a page's, or the command line's English)."""
        return [(column, str(REASONS[code]) % values) for column, code, values in self.errors]


@dataclass
class Applied:
    plan: RowPlan
    passwords: list  # [(username, name, phone, one-time password)] of the accounts made


# -- checking ------------------------------------------------------------------------

def check_import(table_rows):
    """The plan for rows read by tables.read_rows: a verdict for every row."""
    (header_number, header), *data = table_rows
    columns = header_columns(header, HEADERS)
    plan = RowPlan(rows=[])
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        plan.problems.append(f"Row {header_number} must be the header: {', '.join(COLUMNS)} "
                             f"(missing {', '.join(missing)}).")
        return plan
    for number, cells in data:
        values = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(columns) if column}
        plan.rows.append(_parse_row(number, values))
    _check_against_each_other(plan.rows)
    _check_against_the_county(plan.rows)
    return plan


def _clean(text):
    return unicodedata.normalize("NFKC", text or "").strip()


def _parse_row(number, values):
    row = Row(number, values)
    row.name = _clean(values.get("name")) or None
    if row.name is None:
        row.refuse("name", "name_required")
    elif len(row.name) > NAME_MAX:
        row.refuse("name", "too_long", limit=NAME_MAX)
    role = _clean(values.get("role"))
    row.role = ROLE_NAMES.get(role) or ROLE_NAMES.get(role.lower())
    if not role:
        row.refuse("role", "role_required")
    elif role.lower() == Role.RESIDENT.value or role == "居民":
        row.refuse("role", "resident_role")
    elif row.role is None:
        row.refuse("role", "unknown_role", role=role[:40], roles=", ".join(sorted(r.value for r in STAFF_ROLES)))
    raw_phone = _clean(values.get("phone"))
    row.phone = phones.mobile(raw_phone) if raw_phone else None
    if raw_phone and row.phone is None:
        row.refuse("phone", "not_mobile", phone=raw_phone[:30])
    username = _clean(values.get("username"))
    if not username:
        username = row.phone or ""
        if not username and not raw_phone:
            row.refuse("username", "username_required")
    if username and not USERNAME.fullmatch(username):
        row.refuse("username", "bad_username")
    row.username = username or None
    row.grid_codes = tuple(dict.fromkeys(code for code in LIST_SEPARATORS.split(_clean(values.get("grids"))) if code))
    row.department_code = _clean(values.get("department")) or None
    if row.role == Role.GRID_WORKER.value and not row.grid_codes:
        row.refuse("grids", "grid_required")
    if row.role == Role.DEPT_STAFF.value and row.department_code is None:
        row.refuse("department", "department_required")
    return row


def _check_against_each_other(rows):
    """A username or phone number twice in the file: both rows are invalid."""
    for column, key in (("username", lambda r: r.username and r.username.lower()), ("phone", lambda r: r.phone)):
        seen = {}
        for row in rows:
            value = key(row)
            if value:
                seen.setdefault(value, []).append(row)
        for same in seen.values():
            if len(same) > 1:
                for row in same:
                    others = ", ".join(str(other.number) for other in same if other is not row)
                    row.refuse(column, "duplicate", rows=others)


def _check_against_the_county(rows):
    grids = {grid.code: grid for grid in db.session.scalars(select(Grid))}
    departments = {dept.code: dept for dept in db.session.scalars(select(Department))}
    usernames = {row.username.lower() for row in rows if row.username}
    phones_given = {row.phone for row in rows if row.phone}
    # Usernames are matched without regard to case, as the file's own duplicates are:
    # "Li" in the file is the existing "li", never a second account beside it.
    existing = db.session.scalars(select(User).where(
        func.lower(User.username).in_(usernames) | User.phone.in_(phones_given))).all()
    by_name = {user.username.lower(): user for user in existing}
    by_phone = {user.phone: user for user in existing if user.phone}
    for row in rows:
        unknown = [code for code in row.grid_codes if code not in grids]
        if unknown:
            row.refuse("grids", "unknown_grid", codes=", ".join(unknown[:5]))
        if row.department_code and row.department_code not in departments:
            row.refuse("department", "unknown_department", department=row.department_code[:40])
        user = by_name.get(row.username.lower()) if row.username else None
        owner = by_phone.get(row.phone) if row.phone else None
        if user is not None and user.role == Role.RESIDENT.value:
            row.refuse("username", "resident_account", username=user.username)
        if owner is not None and owner is not user:
            row.refuse("phone", "phone_taken", username=owner.username)
        row.user = user
        if row.errors:
            row.action = "invalid"
            continue
        wanted = {"display_name": row.name, "role": row.role, "phone": row.phone,
                  "grids": sorted(row.grid_codes), "department": row.department_code}
        if user is None:
            row.action = "create"
            continue
        now = user_facts(user)
        if not row.phone:
            wanted["phone"] = now["phone"]  # an empty cell keeps the number on file
        row.changes = {key: (now[key], value) for key, value in wanted.items() if now[key] != value}
        if not user.active:
            row.changes["active"] = (False, True)
        row.action = "update" if row.changes else "unchanged"


def user_facts(user):
    """What the audit log and an import compare of a user."""
    return {"display_name": user.display_name, "role": user.role, "phone": user.phone,
            "grids": sorted(grid.code for grid in user.grids),
            "department": user.department.code if user.department else None, "active": user.active}


# -- applying ------------------------------------------------------------------------

def one_time_password():
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def _one_time_hash(password):
    return generate_password_hash(password, method=ONE_TIME_HASH)


def hash_all(passwords):
    """scrypt on every core: hashlib.scrypt lets go of the GIL while it works."""
    if len(passwords) < 4:
        return [_one_time_hash(p) for p in passwords]
    with ThreadPoolExecutor() as pool:
        return list(pool.map(_one_time_hash, passwords))


def apply_import(plan, *, actor=None, ip=None, skip_invalid=False):
    """Write the plan's creations and updates (adds and flushes; the caller commits)."""
    plan.refuse_unless_valid(skip_invalid=skip_invalid)
    grids = {grid.code: grid for grid in db.session.scalars(select(Grid))}
    departments = {dept.code: dept for dept in db.session.scalars(select(Department))}
    new_rows = [row for row in plan.rows if row.action == "create"]
    passwords = [one_time_password() for _ in new_rows]
    made = []
    for row, password, password_hash in zip(new_rows, passwords, hash_all(passwords)):
        user = User(username=row.username, display_name=row.name, role=row.role, phone=row.phone,
                    password_hash=password_hash, must_change_password=True)
        _assign(user, row, grids, departments)
        db.session.add(user)
        db.session.flush()
        audit.record("user.create", actor=actor, ip=ip, target=user, after=user_facts(user))
        made.append((user.username, user.display_name, user.phone, password))
    for row in plan.rows:
        if row.action != "update":
            continue
        user = row.user
        before = user_facts(user)
        user.display_name, user.role = row.name, row.role
        if row.phone:
            user.phone = row.phone
        _assign(user, row, grids, departments)
        if not user.active:
            user.active = True
        db.session.flush()
        audit.record("user.update", actor=actor, ip=ip, target=user, **dict(zip(("before", "after"),
                                                                             audit.changed(before, user_facts(user)))))
    return Applied(plan, made)


def _assign(user, row, grids, departments):
    user.grids = [grids[code] for code in row.grid_codes]
    user.department = departments[row.department_code] if row.department_code else None


def passwords_workbook(passwords):
    """The one-time passwords as an XLSX (username, name, phone, password), to hand out."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("passwords")

    def text(value):
        cell = WriteOnlyCell(sheet, value=value or "")
        cell.data_type = "s"  # text, so a name starting with "=" is never a formula, a phone never a number
        return cell

    sheet.append(["username", "name", "phone", "password"])
    for username, name, phone, password in passwords:
        sheet.append([text(username), text(name), text(phone), text(password)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- deactivating -------------------------------------------------------------------------

def deactivate(user, *, actor=None, ip=None, now=None):
    """The account stops working at once: every session and device token ends, and
    their open tasks go back to the grid's or the department's queue, each with an
    event. Returns the cases released."""
    now = now or utcnow()
    if not user.active:
        return []
    user.active = False
    sessions.end_everywhere(user, now)
    released = db.session.scalars(select(Case).where(Case.assignee_id == user.id,
                                                     Case.status.in_(OPEN_STATUSES))).all()
    for case in released:
        case.assignee_id, case.updated_at = None, now
        db.session.add(CaseEvent(case=case, actor=actor, action="unassign", from_status=case.status,
                                 to_status=case.status, note=f"{user.display_name} 已停用，任务退回待办",
                                 data={"assignee_id": user.id, "reason": "deactivated"}, created_at=now))
    audit.record("user.deactivate", actor=actor, ip=ip, target=user, before={"active": True},
                 after={"active": False, "tasks_released": [case.ref for case in released]}, now=now)
    db.session.flush()
    return released


def reactivate(user, *, actor=None, ip=None):
    if user.active:
        return False
    user.active = True
    audit.record("user.reactivate", actor=actor, ip=ip, target=user, before={"active": False},
                 after={"active": True})
    return True
