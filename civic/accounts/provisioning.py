"""Logging a phone in by a printed QR code, as ODK Central's app-user codes do: an
administrator prints a one-time code for a worker; the worker's phone opens the
code's link (the field app, with the code in the URL's fragment, which no server
log or Referer ever carries), and the app exchanges it for a device token.

A code lives 24 hours and is used once, even when two phones send it at the same
moment: the exchange is one conditional UPDATE, which only one of them wins.
Only the code's SHA-256 is stored; a new code for a worker supersedes the older.
Services here add and flush; the request's command commits (civic/transaction.py).
"""
import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..errors import ApiError
from ..extensions import db
from ..timeutil import utcnow
from . import services, sessions
from .models import STAFF_ROLES, DeviceToken, ProvisioningCode

LIFETIME = timedelta(hours=24)
CODE_BYTES = 16  # 128 bits: 22 characters in the URL
CODE_MAX = 64
FIELD_PATH = "/field/"


class ProvisioningError(ValueError):
    """Why no code can be made for this account."""


def _digest(code):
    return hashlib.sha256(code.encode()).hexdigest()


def may_have_code(user):
    """Codes are for active staff: residents register on their own phones."""
    return user.active and user.deleted_at is None and user.role_enum in STAFF_ROLES


def issue(user, *, actor=None, now=None):
    """A new code for `user` (returned once, never stored); their older unused codes
    stop working. Returns (code, record)."""
    if not may_have_code(user):
        raise ProvisioningError(f"{user.username} is not an active staff account; no phone code can be made")
    now = now or utcnow()
    sessions.expire_phone_codes(user, now)
    code = secrets.token_urlsafe(CODE_BYTES)
    record = ProvisioningCode(user_id=user.id, code_hash=_digest(code), created_by_id=getattr(actor, "id", None),
                              created_at=now, expires_at=now + LIFETIME)
    db.session.add(record)
    db.session.flush()
    return code, record


def link(base_url, code):
    """The URL the QR code holds: the field app, the code in the fragment."""
    return f"{base_url.rstrip('/')}{FIELD_PATH}#code={code}"


def _refused():
    return ApiError(422, "code_invalid", "This phone code is unknown, expired or used already; ask for a new one.",
                    "code")


def redeem(code, *, device_id=None, device_name=None, now=None):
    """Exchange a code for a device token: (user, token, record). One use: of two
    requests at once, the conditional UPDATE lets one through (PostgreSQL re-checks
    `used_at` after the winner commits; SQLite runs one writer at a time)."""
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > CODE_MAX:
        raise ApiError(422, "code_required", "Send the code of the QR code.", "code")
    now = now or utcnow()
    digest = _digest(code.strip())
    won = db.session.execute(update(ProvisioningCode).where(ProvisioningCode.code_hash == digest,
                                                            ProvisioningCode.used_at.is_(None),
                                                            ProvisioningCode.expires_at > now)
                             .values(used_at=now).execution_options(synchronize_session=False))
    if won.rowcount != 1:
        raise _refused()
    record = db.session.scalar(select(ProvisioningCode).where(ProvisioningCode.code_hash == digest))
    db.session.refresh(record)
    user = record.user
    if not may_have_code(user):
        raise _refused()  # deactivated since it was printed (the update is rolled back with the refusal)
    token = services.issue_token(user, device_id=device_id, name=device_name or "QR code")
    db.session.flush()
    # Tokens are kept as their SHA-256 too (services.issue_token): found by the same digest.
    record.device_token_id = db.session.scalar(select(DeviceToken.id).where(DeviceToken.token_hash == _digest(token)))
    return user, token, record


def came_from_code(token_record):
    """Whether this device token was got with a provisioning code: its holder proved
    they have the sheet an administrator handed them, as a one-time password would."""
    if token_record is None:
        return False
    return db.session.scalar(select(ProvisioningCode.id).where(
        ProvisioningCode.device_token_id == token_record.id)) is not None
