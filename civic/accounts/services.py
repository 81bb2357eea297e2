"""Creating users, checking passwords, and device tokens."""
import functools
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from .. import phones
from ..transaction import after_commit, keep_changes, unit_of_work
from ..errors import ApiError
from ..extensions import db
from ..grids.models import Department, Grid
from ..timeutil import utcnow
from .models import DeviceToken, Role, User

TOKEN_TOUCH_INTERVAL = timedelta(minutes=10)  # how often last_used_at is written
DEFAULT_IDLE_DAYS = 30  # a token unused this long is refused (config DEVICE_TOKEN_IDLE_DAYS)


class AccountError(ValueError):
    pass


def create_user(username, role, password, *, display_name=None, phone=None, grid_code=None,
                department_code=None, password_hash=None):
    if role not in Role.values():
        raise AccountError(f"unknown role {role!r}; one of {', '.join(Role.values())}")
    if db.session.scalar(select(User).where(User.username == username)):
        raise AccountError(f"user {username!r} exists already")
    user = User(username=username, role=role, display_name=display_name or username, phone=phone)
    user.set_password(password, precomputed_hash=password_hash)
    if department_code:
        department = db.session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise AccountError(f"no department with code {department_code!r}")
        user.department = department
    if grid_code:
        grid = db.session.scalar(select(Grid).where(Grid.code == grid_code))
        if grid is None:
            raise AccountError(f"no grid with code {grid_code!r}")
        user.grids.append(grid)
    db.session.add(user)
    return user


@functools.cache
def _dummy_hash():
    """A hash of nothing, made the way real ones are: checked when there is no such
    account, so that an unknown name costs as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16))


def warm_up_logins():
    """Make the dummy hash once per process, at start."""
    _dummy_hash()


def authenticate(login, password):
    """The active user with this username or phone and password, else None.
    Takes as long whether or not the account exists: the answer's timing must
    not tell which names and phone numbers have accounts."""
    if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
        return None
    user = None
    if len(login) <= 64 and "\x00" not in login:  # else no such name can exist (and PostgreSQL refuses NUL)
        phone = phones.mobile(login)  # 138 1234 5678, +86…, full-width digits: the number it is
        user = db.session.scalar(select(User).where(or_(User.username == login, User.phone == (phone or login))))
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password[:256])
        return None
    right = user.check_password(password)
    if not _hashed_as_default(user.password_hash):
        # A lighter hash (an import's one-time password): the login still takes as long.
        check_password_hash(_dummy_hash(), password[:256])
    return user if right else None


def _hashed_as_default(password_hash):
    return password_hash.split("$", 1)[0] == _dummy_hash().split("$", 1)[0]


def second_factor(user, code, *, secret, ip=None):
    """After many wrong passwords for this account from anywhere (the per-name
    backstop of civic/ratelimit.py), the right password alone does not log in:
    a code is texted to the account's phone and the login is sent again with it.
    So whoever types wrong passwords for a name can neither guess on for long
    nor keep its owner out. Returns the text to send after the commit, or None
    when `code` checked out; raises the 401/422 the client answers with."""
    from . import codes

    if not user.phone:
        raise ApiError(429, "rate_limited", "Too many failed logins for this account; ask an administrator to "
                       "check it.")
    if not code:
        return codes.issue_code(user.phone, codes.LOGIN, secret=secret, ip=ip)
    codes.check_code(user.phone, codes.LOGIN, code, secret=secret)
    return None


def log_in(login, password, code=None, *, second_factor_due, secret, ip=None):
    """The login of both the site and the API: the user, or None for a wrong name or
    password; with `second_factor_due` (the per-name backstop is spent) the texted
    code too. A code issued stays issued (and is texted once committed); a wrong
    code's try stays counted (accounts/codes.py)."""
    from . import codes

    user = authenticate(login, password)
    if user is None or not second_factor_due:
        return user
    text = second_factor(user, code if isinstance(code, str) else None, secret=secret, ip=ip)
    if text is not None:
        keep_changes()
        phone = user.phone
        after_commit(lambda: codes.send_text(phone, text))
        raise SecondFactorRequired(user)
    return user


def change_password(user, old, new, *, keep_token=None, old_known=True):
    """The user's own new password (the one-time one of an import must be changed
    so); every other session and token of theirs ends. `old_known=False`: a phone
    logged in by a QR code (accounts/provisioning.py) sets the first one without it."""
    from . import sessions
    from .residents import parse_password

    if not old_known:
        old = None
    elif not isinstance(old, str) or not user.check_password(old):
        raise ApiError(422, "wrong_password", "The present password is not right.", "old")
    new = parse_password(new, "new")
    if new == old:
        raise ApiError(422, "same_password", "Choose a password other than the present one.", "new")
    user.set_password(new)
    user.must_change_password = False
    sessions.end_others(user, keep_token=keep_token)


class SecondFactorRequired(ApiError):
    def __init__(self, user):
        super().__init__(401, "second_factor_required",
                         f"Many wrong passwords were tried for this account: enter the code texted to "
                         f"{user.phone_masked}.", "code", extra={"phone": user.phone_masked})


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, device_id=None, name=None):
    """A new bearer token; only its hash is kept, so it is shown once."""
    token = secrets.token_urlsafe(32)
    db.session.add(DeviceToken(user=user, token_hash=_digest(token), device_id=device_id, name=name))
    return token


def find_token(token, idle_days=DEFAULT_IDLE_DAYS):
    """The live token record, or None for an unknown, revoked or idle one: a
    token not used for `idle_days` (counted from its last use, or its issue)
    is refused like a revoked one, and the phone logs in again."""
    if not token:
        return None
    # The token and its user in one read: every bearer request starts here.
    record = db.session.scalar(select(DeviceToken).options(joinedload(DeviceToken.user))
                               .where(DeviceToken.token_hash == _digest(token)))
    if record is None or record.revoked_at is not None or not record.user.active:
        return None
    now = utcnow()
    if idle_days is not None and now - (record.last_used_at or record.created_at) > timedelta(days=idle_days):
        return None
    return record


def touch_token(record, now=None):
    """Note that a token was used, at most once per TOKEN_TOUCH_INTERVAL, as a unit
    of work of its own before the request's (on the request's own connection: a
    second one per request could run a busy pool dry). Most requests write nothing."""
    now = now or utcnow()
    if record.last_used_at is not None and now - record.last_used_at <= TOKEN_TOUCH_INTERVAL:
        return
    with unit_of_work():
        db.session.execute(update(DeviceToken).where(DeviceToken.id == record.id,
                                                     or_(DeviceToken.last_used_at.is_(None),
                                                         DeviceToken.last_used_at < now - TOKEN_TOUCH_INTERVAL))
                           .values(last_used_at=now).execution_options(synchronize_session=False))


def revoke_token(record):
    record.revoked_at = utcnow()
