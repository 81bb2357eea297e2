"""Users with roles, and long-lived revocable device tokens for the API."""
import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..timeutil import utcnow


class Role(str, enum.Enum):
    RESIDENT = "resident"
    GRID_WORKER = "grid_worker"
    DEPT_STAFF = "dept_staff"
    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @classmethod
    def values(cls):
        return [r.value for r in cls]


# Roles that work cases for the city (as opposed to residents who report them).
STAFF_ROLES = {Role.GRID_WORKER, Role.DEPT_STAFF, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
# Roles that see every case and the reporters' (masked) contact details.
OVERSIGHT_ROLES = {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}


def mask_phone(phone):
    """138****1234: enough to recognise a number, not enough to call it."""
    if not phone:
        return None
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Made with a one-time password (an import): until they set their own, a login can only do that.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Residents: shown (masked) on the points leaderboard only if they say so.
    on_leaderboard: Mapped[bool] = mapped_column(default=False)
    # Set when a resident deleted their account: the row stays, anonymised, so the
    # cases and trails that point at it stay whole.
    deleted_at: Mapped[datetime | None]

    department = relationship("Department", back_populates="staff")
    grids = relationship("Grid", secondary="grid_members", back_populates="members")

    @property
    def is_active(self):
        return self.active

    @property
    def role_enum(self):
        return Role(self.role)

    def has_role(self, *roles):
        return self.role in {Role(r).value for r in roles}

    @property
    def is_staff(self):
        return self.role_enum in STAFF_ROLES

    @property
    def phone_masked(self):
        return mask_phone(self.phone)

    def set_password(self, password, precomputed_hash=None):
        self.password_hash = precomputed_hash or generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    # The login session this object was loaded for (accounts/sessions.py): what
    # Flask-Login keeps in the session cookie and the remember cookie.
    login_session_key = None

    def get_id(self):
        if not self.login_session_key:
            raise RuntimeError("log users in with accounts.sessions.sign_in, which starts a login session")
        return f"s:{self.login_session_key}"

    def __repr__(self):
        return f"<User {self.username} {self.role}>"


class DeviceToken(db.Model):
    """A bearer token for one device. Only its SHA-256 is stored; it does not
    expire by itself (a worker may be offline for days) but can be revoked."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user = relationship("User")


class LoginSession(db.Model):
    """One login on the site (a browser): the session and remember cookies carry
    its key, and only its SHA-256 is kept. Logging out ends it; a password reset,
    a deactivation or "log out everywhere" ends all of a user's. A cookie whose
    session has ended, or is older than SESSION_MAX_DAYS, logs nobody in."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    user = relationship("User")


class OneTimeCode(db.Model):
    """A code texted to a phone to prove it is theirs (register, reset a password).
    Only a hash is kept; it expires, allows a few tries, and is used once."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # register | reset
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ProvisioningCode(db.Model):
    """A printable one-time QR code that logs one phone in as one worker (as ODK
    Central's app-user codes do): it lives 24 hours and is used once. Only its
    SHA-256 is stored; making a new one for a worker supersedes the older."""

    __tablename__ = "provisioning_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    device_token_id: Mapped[int | None] = mapped_column(ForeignKey("device_tokens.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])
