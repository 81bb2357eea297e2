"""The rewards rules (随手拍有奖), kept free of request handling.

Points are earned, never claimed: the workflow's `action_applied` signal calls
`on_action_applied` inside the same transaction as the action, so a grant
exists exactly when the action that earned it was committed.

- A resident's report accepted as valid (accept, or dispatch straight from
  "reported") earns REWARD_POINTS_VALID — unless its photo was used before (same
  SHA-256, or a perceptual hash within a few bits of an earlier case's photo),
  or the resident was rewarded at the same place within the cooldown, or has
  reached the daily cap. A withheld grant is written with 0 points and the
  reason, so the resident can see why.
- When it leads to a fix (the case closes) it earns REWARD_POINTS_FIXED more.
- Merged duplicates and rejected reports are never accepted, so earn nothing;
  one accepted and later merged or rejected loses what it earned (never below
  a zero balance).

The ledger is append-only; the balance is its sum. Redeeming locks the
resident's row first (an UPDATE that changes nothing), so two redemptions of
one resident never both spend the same points, and takes stock with a
conditional UPDATE (stock > 0), so an item is never over-issued.
"""
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select, update

from ..accounts.models import Role, User, mask_phone
from ..cases.duplicates import distance_m, mirrored_phash, phash_distance
from ..cases.models import Case, Channel, Status
from ..errors import ApiError
from ..extensions import db
from ..photos.models import Photo
from ..timeutil import local_zone, utcnow
from ..transaction import create_or_replay
from .models import PointEntry, Redemption, RewardItem

REWARDED_CHANNELS = {Channel.RESIDENT.value, Channel.QR.value}
VALID, FIXED, REDEEM, REVOKE = "report_valid", "report_fixed", "redeem", "revoke"
# Why a grant was withheld (points 0): shown to the resident.
PHOTO_REUSED, COOLDOWN, DAILY_CAP = "photo_reused", "cooldown", "daily_cap"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over a counter
CODE_LENGTH = 10
PHASH_LOOKBACK = timedelta(days=365)
PHASH_NEAR_METRES = 2000  # near copies are looked for among earlier cases this close

def setting(name):
    return current_app.config[name]


# -- the balance -------------------------------------------------------------------

def balance(user_id):
    return db.session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))
                             .where(PointEntry.user_id == user_id)) or 0


def _lock(user_id):
    """Serialise a resident's ledger writes: an UPDATE that changes nothing takes the
    row lock on PostgreSQL and the write lock on SQLite, before the balance is read."""
    db.session.execute(update(User).where(User.id == user_id).values(id=User.id)
                       .execution_options(synchronize_session=False))


# -- earning -----------------------------------------------------------------------

def _rewardable(case):
    reporter = case.reporter
    return (reporter is not None and reporter.role == Role.RESIDENT.value and reporter.deleted_at is None
            and case.channel in REWARDED_CHANNELS)


def _entry(user_id, case_id, kind):
    return db.session.scalar(select(PointEntry).where(PointEntry.user_id == user_id, PointEntry.case_id == case_id,
                                                      PointEntry.kind == kind))


def photo_used_before(case):
    """Whether one of the case's photos was sent with an earlier case: the same
    bytes anywhere, or a near copy (a re-save, a crop, a screenshot of the public
    board) among the reporter's own earlier photos and those of earlier cases
    nearby — the places a copied photo would be passed off at. Comparing near
    copies with every photo of the city would read the whole table per report."""
    photos = [(p.sha256, p.phash) for p in case.photos if p.kind == "before"]
    if not photos:
        return False
    earlier = Photo.case_id < case.id
    if db.session.scalar(select(Photo.id).where(earlier, Photo.sha256.in_([s for s, _ in photos])).limit(1)):
        return True
    bits = setting("REWARD_PHASH_BITS")
    # A left-right mirror is the cheapest way to make a used photo look new: its hash is compared too.
    hashes = [h for _, mine in photos for h in (mine, mirrored_phash(mine))]
    for (other,) in db.session.execute(_comparable_photos(case)):
        if any(phash_distance(other, mine) <= bits for mine in hashes):
            return True
    return False


def _comparable_photos(case):
    since = (case.received_at or utcnow()) - PHASH_LOOKBACK
    mine = select(Photo.phash).join(Case, Photo.case_id == Case.id).where(
        Photo.case_id < case.id, Case.reporter_id == case.reporter_id)
    if case.lat is None or case.lng is None:
        return mine
    dlat = PHASH_NEAR_METRES / 111_320
    dlng = dlat / max(math.cos(math.radians(case.lat)), 0.01)
    near = select(Photo.phash).join(Case, Photo.case_id == Case.id).where(
        Photo.case_id < case.id, Photo.created_at >= since,
        Case.lat.between(case.lat - dlat, case.lat + dlat), Case.lng.between(case.lng - dlng, case.lng + dlng))
    return mine.union(near)


def _same_place(case, other):
    if case.poster_id is not None and case.poster_id == other.poster_id:
        return True
    if None in (case.lat, case.lng, other.lat, other.lng):
        return False
    return distance_m(case.lat, case.lng, other.lat, other.lng) <= setting("REWARD_COOLDOWN_METRES")


def _rewarded_since(user_id, since):
    """(when granted, case) for the resident's reports rewarded since `since`."""
    return db.session.execute(
        select(PointEntry.created_at, Case).join(Case, PointEntry.case_id == Case.id)
        .where(PointEntry.user_id == user_id, PointEntry.kind == VALID, PointEntry.points > 0,
               PointEntry.created_at >= since)).all()


def _local_day_start(now):
    """Midnight of `now`'s day in the city's time zone, as naive UTC."""
    zone = local_zone()
    local = now.replace(tzinfo=timezone.utc).astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def withheld_reason(case, user_id, now):
    """Why a valid report earns nothing, or None when it earns its points."""
    if photo_used_before(case):
        return PHOTO_REUSED
    cooldown_from = now - timedelta(hours=setting("REWARD_COOLDOWN_HOURS"))
    day_start = _local_day_start(now)
    recent = [(at, other) for at, other in _rewarded_since(user_id, min(cooldown_from, day_start))
              if other.id != case.id]
    if any(at >= cooldown_from and _same_place(case, other) for at, other in recent):
        return COOLDOWN
    if sum(1 for at, _ in recent if at >= day_start) >= setting("REWARD_DAILY_CAP"):
        return DAILY_CAP
    return None


def grant_valid(case, now=None):
    """Points for a report accepted as valid (once per case)."""
    if not _rewardable(case):
        return None
    user_id = case.reporter_id
    _lock(user_id)
    if _entry(user_id, case.id, VALID) is not None:
        return None
    now = now or utcnow()
    reason = withheld_reason(case, user_id, now)
    entry = PointEntry(user_id=user_id, case_id=case.id, kind=VALID, created_at=now,
                       points=0 if reason else setting("REWARD_POINTS_VALID"), reason=reason)
    db.session.add(entry)
    return entry


def grant_fixed(case, now=None):
    """Extra points when the report led to a fix: only for a report that earned its points."""
    if not _rewardable(case):
        return None
    user_id = case.reporter_id
    valid = _entry(user_id, case.id, VALID)
    if valid is None or valid.points <= 0 or _entry(user_id, case.id, FIXED) is not None:
        return None
    entry = PointEntry(user_id=user_id, case_id=case.id, kind=FIXED, points=setting("REWARD_POINTS_FIXED"),
                       created_at=now or utcnow())
    db.session.add(entry)
    return entry


def revoke(case, reason, now=None):
    """An accepted report later found a duplicate or invalid loses its points, but
    the balance never goes below zero (points may have been spent already)."""
    if case.reporter_id is None:
        return None
    user_id = case.reporter_id
    earned = db.session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0)).where(
        PointEntry.user_id == user_id, PointEntry.case_id == case.id)) or 0
    if earned <= 0:
        return None
    _lock(user_id)
    points = min(earned, balance(user_id))
    entry = PointEntry(user_id=user_id, case_id=case.id, kind=REVOKE, points=-points, reason=reason,
                       created_at=now or utcnow())
    db.session.add(entry)
    return entry


def on_action_applied(case, *, event, **_):
    """The workflow did an action (not yet committed): the points it earns or takes back."""
    with db.session.no_autoflush:
        if event.action == "accept" or (event.action == "dispatch" and event.from_status == Status.REPORTED.value):
            grant_valid(case, event.created_at)
        elif event.to_status == Status.CLOSED.value and event.from_status != Status.CLOSED.value:
            grant_fixed(case, event.created_at)
        elif event.to_status == Status.REJECTED.value and event.from_status == Status.ACCEPTED.value:
            revoke(case, "merged" if event.action == "merge" else "rejected", event.created_at)


# -- spending ----------------------------------------------------------------------

@dataclass
class RedeemResult:
    redemption: Redemption
    created: bool


def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _replay(existing, user, item_id):
    if existing.user_id == user.id and existing.item_id == item_id:
        return RedeemResult(existing, created=False)
    raise ApiError(409, "client_id_conflict", "This client_id was already used for another redemption.", "client_id")


def redeem(user, item_id, client_id, now=None):
    """Exchange points for one item: a Redemption with a one-time code. Idempotent
    by `client_id`. 409 not_enough_points / out_of_stock; 404 for an unknown item."""
    def find():
        return db.session.scalar(select(Redemption).where(Redemption.client_id == client_id))

    existing = find()
    if existing is not None:
        return _replay(existing, user, item_id)
    item = db.session.get(RewardItem, item_id) if 0 < item_id < 2**31 else None  # an INTEGER id, at most
    if item is None or not item.active:
        raise ApiError(404, "not_found", "No such reward.", "item")
    now = now or utcnow()

    def create():
        _lock(user.id)
        # A twin with the same client_id may have committed while this one waited for
        # the lock: then its redemption is the answer (not "not enough points", which
        # is only true because the twin spent them).
        twin = find()
        if twin is not None:
            return _replay(twin, user, item_id)
        have = balance(user.id)
        if have < item.cost:
            raise ApiError(409, "not_enough_points", f"{item.name} needs {item.cost} points; you have {have}.")
        taken = db.session.execute(update(RewardItem).where(RewardItem.id == item.id, RewardItem.stock > 0,
                                                            RewardItem.active.is_(True))
                                   .values(stock=RewardItem.stock - 1).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            raise ApiError(409, "out_of_stock", f"{item.name} is out of stock.")
        redemption = Redemption(user_id=user.id, item_id=item.id, client_id=client_id, code=new_code(),
                                cost=item.cost, status="issued", created_at=now)
        db.session.add(redemption)
        db.session.flush()
        db.session.add(PointEntry(user_id=user.id, kind=REDEEM, points=-item.cost, redemption_id=redemption.id,
                                  created_at=now))
        db.session.refresh(item)  # its stock, as the UPDATE left it
        return RedeemResult(redemption, created=True)

    # A concurrent twin with the same client_id that won the unique key answers this request too.
    return create_or_replay(find, create, lambda found: _replay(found, user, item_id))


def use_code(code, staff, now=None):
    """Staff hand the item over: the code is marked used, once. 404 unknown, 409 used."""
    code = normalise_code(code)
    now = now or utcnow()
    done = db.session.execute(update(Redemption).where(Redemption.code == code, Redemption.status == "issued")
                              .values(status="used", used_at=now, used_by=staff.id)
                              .execution_options(synchronize_session=False))
    redemption = db.session.scalar(select(Redemption).where(Redemption.code == code))
    if redemption is None:
        raise ApiError(404, "not_found", "No such code. Check it and try again.", "code")
    db.session.refresh(redemption)
    if done.rowcount != 1:
        raise ApiError(409, "code_used", f"This code was already used ({redemption.status}).", "code")
    return redemption


def normalise_code(code):
    if not isinstance(code, str):
        return ""
    return "".join(ch for ch in code.upper() if ch.isalnum())[:CODE_LENGTH * 2]


# -- reading -----------------------------------------------------------------------

def ledger(user_id, limit=100):
    return db.session.scalars(select(PointEntry).where(PointEntry.user_id == user_id)
                              .order_by(PointEntry.id.desc()).limit(limit)).all()


def catalogue():
    return db.session.scalars(select(RewardItem).where(RewardItem.active.is_(True))
                              .order_by(RewardItem.sort_order, RewardItem.id)).all()


def masked_name(user):
    name = (user.display_name or "").strip()
    if name and not name.isdigit():
        return name[0] + "*" * max(1, min(len(name) - 1, 2))
    return mask_phone(user.phone) or "***"


def leaderboard(days=30, limit=10, now=None):
    """Residents who chose to appear, by points earned in the last `days` days, names masked."""
    since = (now or utcnow()) - timedelta(days=days)
    earned = func.sum(PointEntry.points).label("earned")
    rows = db.session.execute(
        select(User, earned).join(PointEntry, PointEntry.user_id == User.id)
        .where(User.on_leaderboard.is_(True), User.active.is_(True), PointEntry.kind.in_([VALID, FIXED]),
               PointEntry.created_at >= since)
        .group_by(User.id).having(earned > 0).order_by(earned.desc(), User.id).limit(limit)).all()
    return [{"rank": n, "name": masked_name(user), "points": int(points)} for n, (user, points) in enumerate(rows, 1)]

