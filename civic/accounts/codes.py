"""One-time codes texted to a phone to prove it is the sender's: to register an
account, or to reset a forgotten password.

A code is 6 digits, lives 5 minutes, allows 5 tries and is used once; asking
again supersedes the older one. Only an HMAC-SHA-256 of it (keyed by the app's
SECRET_KEY, bound to phone and purpose) is stored, so a copy of the database
does not hand out live codes. Whether a phone has an account is never told to
the caller: the answer is the same either way, and only the text message (which
reaches the phone's owner alone) says "you already have an account".

No request objects here: the views pass the secret, the caller's address and
`now` (tests freeze time through it).
"""
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from .. import phones
from ..errors import ApiError
from ..transaction import keep_changes
from ..extensions import db
from ..timeutil import utcnow
from .models import OneTimeCode, Role, User

PURPOSES = ("register", "reset")  # what a client may ask a code for
LOGIN = "login"  # the second factor, texted by the login itself (accounts/services.second_factor)
CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER_SECONDS = 60  # the per-phone rate limit's default (RATELIMIT_CODES_PER_PHONE)
KEEP_FOR = timedelta(days=1)  # spent and stale codes are deleted after this

SIGN = "【网格通】"
TEXTS = {
    "code": SIGN + "验证码 {code}，5分钟内有效。请勿告诉他人。",
    "registered": SIGN + "此手机号已注册网格通账号，请直接登录；忘记密码可在登录页重置。如非本人操作，请忽略。",
    "no_account": SIGN + "此手机号尚未注册网格通账号，无需重置密码。如非本人操作，请忽略。",
    "staff": SIGN + "工作人员账号的密码请联系管理员重置。如非本人操作，请忽略。",
}


def parse_phone(raw, field="phone"):
    """A mainland mobile number (11 digits starting 13–19), else a 422 naming the field."""
    phone = phones.mobile(raw)
    if phone is None:
        raise ApiError(422, "invalid_phone", "Enter a mainland China mobile number (11 digits, starting with 1).",
                       field)
    return phone


def parse_purpose(raw):
    if raw not in PURPOSES:
        raise ApiError(422, "invalid", f"purpose must be one of {', '.join(PURPOSES)}.", "purpose")
    return raw


def _digest(secret, phone, purpose, code):
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def account_for(phone):
    """The live account that has this phone (deleted accounts have none)."""
    return db.session.scalar(select(User).where(User.phone == phone, User.deleted_at.is_(None)))


def _refusal(phone, purpose):
    """The text that goes instead of a code, or None when a code may be sent."""
    if purpose == LOGIN:
        return None  # asked for by a login whose password was right: the account exists
    user = account_for(phone)
    if purpose == "register":
        return TEXTS["registered"] if user is not None else None
    if user is None:
        return TEXTS["no_account"]
    return TEXTS["staff"] if user.role != Role.RESIDENT.value else None


def issue_code(phone, purpose, *, secret, ip=None, now=None, make_code=None):
    """Stores a new code for (phone, purpose), superseding older ones, and returns
    the text message to send. When no code may be sent (a "register" for a phone
    that has an account, a "reset" for one that has none) nothing is stored and
    the text says why; the caller answers the same either way."""
    now = now or utcnow()
    db.session.execute(delete(OneTimeCode).where(OneTimeCode.created_at < now - KEEP_FOR))
    refusal = _refusal(phone, purpose)
    if refusal is not None:
        return refusal
    db.session.execute(update(OneTimeCode)
                       .where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose,
                              OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now)
                       .values(expires_at=now))
    code = (make_code or _random_code)()
    db.session.add(OneTimeCode(phone=phone, purpose=purpose, code_hash=_digest(secret, phone, purpose, code),
                               expires_at=now + CODE_TTL, ip=(ip or None) and ip[:45], created_at=now))
    return TEXTS["code"].format(code=code)


def _random_code():
    return f"{secrets.randbelow(10 ** 6):06d}"


def _code_error(code, message, **extra):
    return ApiError(422, code, message, "code", extra=extra)


def check_code(phone, purpose, code, *, secret, now=None):
    """Uses the newest code for (phone, purpose) if `code` matches it; else raises a
    422 on the field "code". Every try is counted, right or wrong, by one
    conditional UPDATE, so parallel guesses cannot get more than MAX_ATTEMPTS.
    A wrong try stays counted: the unit of work keeps it, also after the refusal."""
    now = now or utcnow()
    if not isinstance(code, str) or not code.strip().isdigit():
        raise _code_error("invalid_code", "Enter the 6-digit code from the text message.")
    record = db.session.scalar(select(OneTimeCode).where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose)
                               .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc()).limit(1))
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise _code_error("code_expired", "This code has expired or was already used; ask for a new one.")
    counted = db.session.execute(update(OneTimeCode)
                                 .where(OneTimeCode.id == record.id, OneTimeCode.attempts < MAX_ATTEMPTS,
                                        OneTimeCode.used_at.is_(None))
                                 .values(attempts=OneTimeCode.attempts + 1)
                                 .execution_options(synchronize_session=False)).rowcount
    if not counted:
        raise _code_error("code_attempts_exhausted", "Too many wrong codes; ask for a new one.")
    keep_changes()
    db.session.refresh(record)
    if not hmac.compare_digest(record.code_hash, _digest(secret, phone, purpose, code.strip())):
        left = MAX_ATTEMPTS - record.attempts
        if left <= 0:
            raise _code_error("code_attempts_exhausted", "Too many wrong codes; ask for a new one.")
        raise _code_error("invalid_code", f"The code is wrong; {left} {'try' if left == 1 else 'tries'} left.",
                          tries_left=left)
    used = db.session.execute(update(OneTimeCode)
                              .where(OneTimeCode.id == record.id, OneTimeCode.used_at.is_(None))
                              .values(used_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if not used:  # another request used it a moment ago
        raise _code_error("code_expired", "This code has expired or was already used; ask for a new one.")
    return record


def issue_and_text(phone, purpose, *, secret, ip=None, sent=None):
    """Store a code (or not: see `_refusal`) and text it once the request's unit of
    work is committed; `sent()` is called after the text went out. The API's and the
    register page's "send me a code" both come here."""
    from ..transaction import after_commit

    text = issue_code(phone, purpose, secret=secret, ip=ip)

    def send():
        send_text(phone, text)
        if sent is not None:
            sent()

    after_commit(send)


def send_text(phone, text):
    """After the commit: one SMS through the app's sender (SMS_SENDER); 503 if it fails."""
    from flask import current_app

    from ..push.jobs import push_state

    result = push_state().sms.send(phone, text)
    if not result.ok:
        current_app.logger.warning("SMS failed: %s", result.error)
        raise ApiError(503, "sms_unavailable", "The text message could not be sent; try again in a minute.")
