"""QR posters: codes, the form's checks, create / replace / deactivate, the scan
URL and its QR code. No request objects here; callers commit once.

A code is 8 characters of a 32-letter alphabet with no 0/O/1/I (40 bits): short
enough to type from a poster, unambiguous when read aloud, and impossible to
guess. Lookups accept any case, so a typed "abcd2345" finds "ABCD2345".
"""
import math
import secrets
import unicodedata
from dataclasses import dataclass

import segno
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..grids.lookup import get_index
from ..grids.models import Grid
from ..urls import public_base_url
from .models import KINDS, Poster

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_MAX = 16  # the column; older or hand-made codes may be longer than 8
NAME_MAX = 100
ADDRESS_MAX = 500
KIND_LABELS = {"grid": _l("Grid"), "park": _l("Park"), "market": _l("Market"), "bus_stop": _l("Bus stop"),
               "street": _l("Street"), "community": _l("Community"), "other": _l("Other place")}
assert set(KIND_LABELS) == set(KINDS)


def new_code(rng=None):
    """A fresh random code (`rng` only for repeatable demo data)."""
    choice = rng.choice if rng is not None else secrets.choice
    return "".join(choice(ALPHABET) for _n in range(CODE_LENGTH))


def normalise_code(raw):
    """The code as stored (upper case), or None when it cannot be one."""
    if not isinstance(raw, str):
        return None
    code = unicodedata.normalize("NFKC", raw).strip().upper()
    if not 0 < len(code) <= CODE_MAX or not code.isascii() or not code.isalnum():
        return None
    return code


def find(raw):
    """The poster with this code, active or not (old printouts stay on walls)."""
    code = normalise_code(raw)
    return db.session.scalar(select(Poster).where(Poster.code == code)) if code else None


def _unique_code(rng=None):
    for _attempt in range(10):  # a clash in 2**40 codes is rare; ten in a row means something is wrong
        code = new_code(rng)
        if db.session.scalar(select(Poster.id).where(Poster.code == code)) is None:
            return code
    raise RuntimeError("could not find a free poster code")


# -- the form ------------------------------------------------------------------

FIELDS = ("kind", "grid", "name", "address", "lat", "lng")


@dataclass
class Checked:
    kind: str
    grid: Grid | None
    name: str
    address: str | None
    lat: float | None
    lng: float | None


def _coordinate(raw, low, high):
    text = unicodedata.normalize("NFKC", raw or "").strip().rstrip("°")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return "bad"
    return value if len(text) <= 40 and math.isfinite(value) and low <= value <= high else "bad"


def check_form(values):
    """(errors {field: message}, Checked or None) for the create form's values (all text)."""
    errors = {}
    kind = values.get("kind") or "grid"
    if kind not in KINDS:
        errors["kind"] = _("Choose a kind of place from the list.")
    grid = None
    if values.get("grid"):
        grid = db.session.scalar(select(Grid).where(Grid.code == values["grid"].strip()))
        if grid is None:
            errors["grid"] = _("Unknown grid: choose one from the list.")
    name = unicodedata.normalize("NFC", values.get("name") or "").strip()
    address = (values.get("address") or "").replace("\r\n", "\n").strip()
    for field, text, limit in (("name", name, NAME_MAX), ("address", address, ADDRESS_MAX)):
        if "\x00" in text:
            errors[field] = _("Contains a character that cannot be saved (NUL); retype it.")
        elif len(text) > limit:
            errors[field] = _("Too long: at most %(limit)s characters, this has %(count)s.", limit=limit, count=len(text))
    lat, lng = _coordinate(values.get("lat"), -90, 90), _coordinate(values.get("lng"), -180, 180)
    if lat == "bad":
        errors["lat"] = _("Latitude is a number between -90 and 90, like 36.581234.")
    if lng == "bad":
        errors["lng"] = _("Longitude is a number between -180 and 180, like 116.251234.")
    if "lat" not in errors and "lng" not in errors and (lat is None) != (lng is None):
        errors["lng" if lng is None else "lat"] = _("Give both latitude and longitude, or neither.")
    if kind == "grid" and grid is None and "grid" not in errors:
        errors["grid"] = _("A grid poster needs its grid.")
    if kind != "grid" and not name and "name" not in errors:
        errors["name"] = _("Name the place, as residents know it (e.g. 人民公园东门).")
    if kind != "grid" and grid is None and lat is None and not errors.keys() & {"grid", "lat", "lng"}:
        errors["grid"] = _("Choose the grid, or give the place's latitude and longitude.")
    if errors:
        return errors, None
    return {}, Checked(kind, grid, name or grid.name, address or None, lat, lng)


def create_poster(checked, user, rng=None):
    """A new active poster. Without a grid, a position finds its level-2 grid;
    a place outside every grid keeps no grid (the caller says so)."""
    grid = checked.grid
    if grid is None and checked.lat is not None:
        grid = get_index(current_app).grid_at(checked.lat, checked.lng, db.session)
    poster = Poster(code=_unique_code(rng), name=checked.name, kind=checked.kind, grid=grid, lat=checked.lat,
                    lng=checked.lng, address=checked.address, active=True,
                    created_by=user.id if user is not None else None)
    db.session.add(poster)
    db.session.flush()
    return poster


def replace_poster(poster, user):
    """A new code for the same place (the old poster was defaced or copied):
    the old code is deactivated but still opens the report page."""
    new = Poster(code=_unique_code(), name=poster.name, kind=poster.kind, grid_id=poster.grid_id, lat=poster.lat,
                 lng=poster.lng, address=poster.address, active=True, created_by=user.id if user is not None else None)
    poster.active = False
    db.session.add(new)
    db.session.flush()
    return new


def deactivate(poster):
    poster.active = False


# -- the scan URL and the QR code -------------------------------------------------

def scan_url(poster):
    return f"{public_base_url()}/q/{poster.code}"


def short_url(poster):
    """The scan URL as printed under the code: no scheme, so it reads like an address."""
    return scan_url(poster).split("://", 1)[-1]


def make_qr(url):
    """Level Q at least (a quarter of the code may be scratched or dirty); segno
    raises the level when the size allows."""
    return segno.make(url, error="q")


def qr_svg(url):
    """Inline SVG (no XML declaration, no fixed size: CSS sizes it), with the
    standard quiet zone of 4 modules."""
    return make_qr(url).svg_inline(scale=1, border=4, omitsize=True, title=url, svgclass="qr", lineclass="qr-dark")


def to_dict(poster):
    """The public JSON: what the report page shows and pre-fills."""
    grid = poster.grid
    return {"code": poster.code, "name": poster.name, "kind": poster.kind,
            "grid": {"code": grid.code, "name": grid.name} if grid else None,
            "lat": poster.lat, "lng": poster.lng, "address": poster.address, "active": poster.active}
