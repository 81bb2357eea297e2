"""Duplicate suggestions for the dispatcher (重复上报): the same problem is often
reported by several people. Two signals, each cheap and portable across
SpatiaLite and PostGIS:

- an open case of the same category within 50 m, received within 7 days;
- a photo whose perceptual hash (dHash) is within a few bits of one of this
  case's photos, among cases within 300 m and 7 days (the same bin, photographed
  again, in any category).

Suggestions only: the dispatcher decides (merge as "me too", or not)."""
import math
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from ..extensions import db
from ..grids.crs import metres_between
from ..photos.models import Photo
from .models import OPEN_STATUSES, Case

NEAR_METRES = 50
PHOTO_NEAR_METRES = 300
WINDOW = timedelta(days=7)
PHASH_MAX_BITS = 6  # of 64: the same scene, another shot


@dataclass
class Suggestion:
    case: Case
    metres: float | None
    reasons: list = field(default_factory=list)  # "nearby_same_category", "similar_photo"


distance_m = metres_between  # great-circle metres between (lat, lng) pairs: grids/crs.py, the one haversine


def phash_distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def mirrored_phash(value):
    """The difference hash of the left-right mirror of the picture whose hash is
    `value` (photos.pipeline.difference_hash: 8 rows of 8 "left brighter than
    right" bits): each row's bits reversed and inverted. Computed from the hash,
    so a mirrored copy is found among the stored hashes without decoding anything."""
    bits = int(value, 16)
    mirrored = 0
    for row in range(8):
        byte = (bits >> (8 * (7 - row))) & 0xFF
        flipped = int(f"{byte:08b}"[::-1], 2) ^ 0xFF
        mirrored = (mirrored << 8) | flipped
    return f"{mirrored:016x}"


def _candidates(case, metres):
    """Open cases in a box around the case (the index does the rough cut, haversine the exact one)."""
    dlat = metres / 111_320
    dlng = dlat / max(math.cos(math.radians(case.lat)), 0.01)
    return db.session.scalars(select(Case).where(
        Case.id != case.id, Case.status.in_(OPEN_STATUSES), Case.lat.is_not(None),
        Case.lat.between(case.lat - dlat, case.lat + dlat), Case.lng.between(case.lng - dlng, case.lng + dlng),
        Case.received_at.between(case.received_at - WINDOW, case.received_at + WINDOW),
    )).all()


def suggest(case, limit=5):
    """Likely duplicates of `case`, nearest first."""
    if case.lat is None:
        return []
    found = {}
    for other in _candidates(case, PHOTO_NEAR_METRES):
        metres = distance_m(case.lat, case.lng, other.lat, other.lng)
        if other.category_id == case.category_id and metres <= NEAR_METRES:
            found.setdefault(other.id, Suggestion(other, round(metres))).reasons.append("nearby_same_category")
    hashes = [p.phash for p in case.photos if p.kind == "before"]
    if hashes:
        nearby = {c.id: c for c in _candidates(case, PHOTO_NEAR_METRES)}
        if nearby:
            photos = db.session.scalars(select(Photo).where(Photo.case_id.in_(nearby), Photo.kind == "before")).all()
            for photo in photos:
                if any(phash_distance(photo.phash, mine) <= PHASH_MAX_BITS for mine in hashes):
                    other = nearby[photo.case_id]
                    suggestion = found.setdefault(other.id, Suggestion(
                        other, round(distance_m(case.lat, case.lng, other.lat, other.lng))))
                    if "similar_photo" not in suggestion.reasons:
                        suggestion.reasons.append("similar_photo")
    return sorted(found.values(), key=lambda s: (s.metres is None, s.metres))[:limit]
