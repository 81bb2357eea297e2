"""Residents' own accounts: register with a texted code, reset a forgotten
password, and delete the account while the cases it reported stay.

Staff accounts are made and removed by administrators (`flask users …`); these
functions only ever make or remove role "resident". The callers commit.
"""
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update

from ..errors import ApiError
from ..extensions import db
from ..timeutil import utcnow
from . import codes
from .models import DeviceToken, LoginSession, OneTimeCode, Role, User, mask_phone
from .sessions import end_everywhere

PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 100
# Not a hash werkzeug can produce: check_password_hash() says no to every password.
UNUSABLE_PASSWORD = "!deleted"


def parse_password(raw, field="password"):
    if not isinstance(raw, str) or not raw:
        raise ApiError(422, "required", "Choose a password.", field)
    if len(raw) < PASSWORD_MIN:
        raise ApiError(422, "password_too_short", f"The password needs at least {PASSWORD_MIN} characters.", field)
    if len(raw) > PASSWORD_MAX or "\x00" in raw:
        raise ApiError(422, "invalid", f"The password can have at most {PASSWORD_MAX} characters.", field)
    return raw


def parse_display_name(raw, phone):
    """The name staff see on the resident's reports; the masked number by default."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return mask_phone(phone)
    if not isinstance(raw, str) or "\x00" in raw or len(raw.strip()) > DISPLAY_NAME_MAX:
        raise ApiError(422, "invalid", f"The name can have at most {DISPLAY_NAME_MAX} characters.", "display_name")
    return raw.strip()


@dataclass(frozen=True)
class Registration:
    phone: str
    code: str
    password: str
    display_name: str


def parse_registration(data):
    """Checks everything that needs no code first, so a typo in the password does
    not cost one of the code's tries."""
    phone = codes.parse_phone(data.get("phone"))
    password = parse_password(data.get("password"))
    display_name = parse_display_name(data.get("display_name"), phone)
    code = data.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(422, "required", "Enter the code from the text message.", "code")
    return Registration(phone, code, password, display_name)


def register_resident(registration, *, secret, now=None):
    """A new resident account (username = phone) once the code checks out."""
    codes.check_code(registration.phone, "register", registration.code, secret=secret, now=now)
    taken = db.session.scalar(select(User.id).where(or_(User.phone == registration.phone,
                                                        User.username == registration.phone)))
    if taken is not None:
        # The code proved the phone is the caller's, so saying so reveals nothing to a stranger.
        raise ApiError(409, "phone_registered", "This phone number already has an account; log in instead.", "phone")
    user = User(username=registration.phone, phone=registration.phone, role=Role.RESIDENT.value,
                display_name=registration.display_name, created_at=now or utcnow())
    user.set_password(registration.password)
    db.session.add(user)
    db.session.flush()
    return user


def reset_password(data, *, secret, now=None):
    """A new password for the resident with this phone, once the code checks out;
    every device of theirs is logged out (whoever knew the old one is, too)."""
    phone = codes.parse_phone(data.get("phone"))
    password = parse_password(data.get("password"))
    code = data.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ApiError(422, "required", "Enter the code from the text message.", "code")
    codes.check_code(phone, "reset", code, secret=secret, now=now)
    user = codes.account_for(phone)
    if user is None or user.role != Role.RESIDENT.value:
        # Only when the account went away (or changed hands) within the code's five minutes.
        raise ApiError(422, "code_expired", "This code has expired or was already used; ask for a new one.", "code")
    user.set_password(password)
    # Whoever knew the old password is logged out too: every session, remember cookie and device token.
    end_everywhere(user, now=now)
    return user


def delete_resident(user, password, *, now=None):
    """Deletes a resident's account and keeps what the city needs, anonymised.

    The cases they reported stay (without a reporter, the description's phone
    and ID numbers masked, as in their rating comments and trail notes); their
    ratings keep counting without a name; what
    was theirs alone goes: follows, points, redemption codes, tokens, push
    subscriptions, devices, codes. The user row stays as "deleted-<id>", with
    no phone, no name and no usable password, so the case trails that name it
    as an actor stay whole. All of it in the caller's one transaction."""
    from ..cases.models import Case, CaseEvent, CaseFollower, Rating
    from ..cases.privacy import scrub
    from ..devices.models import Device
    from ..push.models import NotificationPreference, PushDelivery, PushSubscription
    from ..rewards.models import PointEntry, Redemption

    if user.role != Role.RESIDENT.value:
        raise ApiError(403, "forbidden", "Staff accounts are managed by the administrators.")
    if not isinstance(password, str) or not password:
        raise ApiError(422, "required", "Enter your password to confirm.", "password")
    if not user.check_password(password):
        raise ApiError(403, "wrong_password", "The password is wrong.", "password")
    now = now or utcnow()
    uid = user.id
    for case in db.session.scalars(select(Case).where(Case.reporter_id == uid)):
        case.reporter_id = None
        case.description = scrub(case.description)
    # The trail is append-only (an ORM update raises); masking the numbers in their
    # own notes is the one change a deletion makes to it, by a Core UPDATE.
    notes = db.session.execute(select(CaseEvent.id, CaseEvent.note)
                               .where(CaseEvent.actor_id == uid, CaseEvent.note.is_not(None))).all()
    for event_id, note in notes:
        if scrub(note) != note:
            db.session.execute(update(CaseEvent).where(CaseEvent.id == event_id).values(note=scrub(note))
                               .execution_options(synchronize_session=False))
    for rating in db.session.scalars(select(Rating).where(Rating.user_id == uid)):
        rating.user_id = None
        rating.comment = scrub(rating.comment)
    # Core deletes: the ledger refuses ORM updates (append-only), and none of these
    # rows is loaded in the session. Point entries first: they refer to redemptions.
    for model, column in ((CaseFollower, CaseFollower.user_id), (PointEntry, PointEntry.user_id),
                          (Redemption, Redemption.user_id), (DeviceToken, DeviceToken.user_id),
                          (LoginSession, LoginSession.user_id),
                          (PushDelivery, PushDelivery.user_id), (PushSubscription, PushSubscription.user_id),
                          (NotificationPreference, NotificationPreference.user_id), (Device, Device.user_id)):
        db.session.execute(delete(model).where(column == uid).execution_options(synchronize_session=False))
    if user.phone:
        db.session.execute(delete(OneTimeCode).where(OneTimeCode.phone == user.phone))
    user.username = f"deleted-{uid}"
    user.phone = None
    user.display_name = ""
    user.password_hash = UNUSABLE_PASSWORD
    user.active = False
    user.on_leaderboard = False
    user.deleted_at = now
    user.grids = []
    return user
