"""Login sessions of the site: each login is a row, so that it can end.

Flask's session cookie is signed, not stored: on its own, a copied cookie (or
the remember cookie, which used to carry the same value at every login) works
until it expires, whatever the user does. Here both cookies carry the key of a
`LoginSession`; the user loader accepts a key only while its row is live, so
logging out ends that browser's session, and a password reset, a deactivation
or "log out everywhere" ends every session, remember cookie and device token of
the user at once.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from ..extensions import db
from ..timeutil import utcnow
from .models import DeviceToken, LoginSession, ProvisioningCode

PREFIX = "s:"


def _digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def sign_in(user, *, remember=False):
    """Start a login session for `user` and log them in on this browser."""
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user=user, key_hash=_digest(key)))
    user.login_session_key = key
    login_user(user, remember=remember)
    return key


def load(value):
    """The user of a live login session, from the id Flask-Login kept; None
    for an ended, expired, unknown or old-style (a bare user id) one."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    key = value[len(PREFIX):]
    if not 0 < len(key) <= 64:
        return None
    row = db.session.scalar(select(LoginSession).where(LoginSession.key_hash == _digest(key)))
    if row is None or row.ended_at is not None or not row.user.active:
        return None
    if utcnow() - row.created_at > timedelta(days=current_app.config["SESSION_MAX_DAYS"]):
        return None
    row.user.login_session_key = key
    return row.user


def sign_out(user):
    """End this browser's session (and forget its cookies)."""
    key = getattr(user, "login_session_key", None)
    if key:
        db.session.execute(update(LoginSession).where(LoginSession.key_hash == _digest(key),
                                                      LoginSession.ended_at.is_(None)).values(ended_at=utcnow()))
    logout_user()


def end_everywhere(user, now=None):
    """End every login session and revoke every device token of `user`, and let no
    printed phone code of theirs log a phone in any more: after a password reset, a
    deactivation, or when they ask for it."""
    now = now or utcnow()
    db.session.execute(update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
                       .values(ended_at=now))
    db.session.execute(update(DeviceToken).where(DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    expire_phone_codes(user, now)


def expire_phone_codes(user, now):
    """Unused phone codes (accounts/provisioning.py) of `user` stop working now."""
    db.session.execute(update(ProvisioningCode).where(ProvisioningCode.user_id == user.id,
                                                      ProvisioningCode.used_at.is_(None),
                                                      ProvisioningCode.expires_at > now)
                       .values(expires_at=now).execution_options(synchronize_session=False))


def end_others(user, *, keep_token=None, now=None):
    """End every session and device token of `user` but the one in use (this
    browser's session, or the device token `keep_token`): a password change."""
    now = now or utcnow()
    keep_key = getattr(user, "login_session_key", None)
    sessions = update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    if keep_key:
        sessions = sessions.where(LoginSession.key_hash != _digest(keep_key))
    db.session.execute(sessions.values(ended_at=now))
    tokens = update(DeviceToken).where(DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None))
    if keep_token is not None:
        tokens = tokens.where(DeviceToken.id != keep_token.id)
    db.session.execute(tokens.values(revoked_at=now))
