"""The hotline (12345) form: command-centre operators register a citizen's call
as a case while they are still on the phone.

The case goes through the same intake as a phone's report (intake/reports.py):
channel "hotline", routed to a grid and a department, deadlines from its
category. The caller has no account: the case has no reporter, the operator is
the actor of its "report" event, and the caller's number is kept in
`cases.caller_phone`, shown to oversight roles only and always masked.

Each form carries a client_id made when it is shown, so a double click or a
resubmitted POST finds the case already made and goes to it. Bad input shows
the form again (422) with every field as typed and a message per field.
"""
import unicodedata
import uuid
from dataclasses import replace

from flask import (Blueprint, current_app, flash, jsonify, make_response, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import phones
from ..cases.models import Case, Channel, LocationSource
from ..cases.serialize import masked_caller_phone
from ..errors import ApiError
from ..extensions import db
from ..grids.geojson import feature_collection
from ..grids.models import Grid
from ..intake.reports import submit_report
from ..intake.meta import ADDRESS_MAX, parse_meta
from ..transaction import command, rollback
from ..grids.catalogue import active_categories, active_category
from ..grids.coordinates import parse_degrees
from ..intake.reports import locate_grid, placement

bp = Blueprint("hotline", __name__, url_prefix="/hotline")

FIELDS = ("caller_phone", "category", "description", "address", "lat", "lng")
TYPED_MAX = 40  # a phone number or a coordinate as typed, spaces and all


bp.add_app_template_global(masked_caller_phone, "masked_caller_phone")


def _text(value):
    """As a textarea sends it (CRLF) or a paste brings it, with one kind of line break."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _coordinate(raw, low, high):
    """A typed latitude or longitude; "bad" when it is not a number in range."""
    try:
        return parse_degrees(raw, low, high)
    except ValueError:
        return "bad"


def _categories():
    return active_categories()


def _category_groups(categories):
    """Events (what callers mostly report) before components, by CJ/T 214 class."""
    kinds = {"event": _("Event"), "component": _("Component")}
    groups = {}
    for c in sorted(categories, key=lambda c: (c.kind != "event", c.class_code, c.sort_order, c.code)):
        groups.setdefault(f"{kinds.get(c.kind, c.kind)} · {c.class_name}", []).append(c)
    return list(groups.items())


def _validate(values, categories):
    """Field → message for every problem, and the clean values."""
    errors, clean = {}, {}
    phone = values["caller_phone"].strip()
    if not phone:
        errors["caller_phone"] = _("Type the caller's phone number.")
    elif len(phone) > TYPED_MAX or (clean_phone := phones.mobile_or_landline(phone)) is None:
        errors["caller_phone"] = _("Not a phone number. Type a mobile number (11 digits, 13x–19x) "
                                   "or a landline with its area code (0531-8812 3456).")
    else:
        clean["caller_phone"] = clean_phone
    if not values["category"]:
        errors["category"] = _("Choose a category.")
    elif values["category"] not in {c.code for c in categories}:
        errors["category"] = _("Unknown category: choose one from the list.")
    for field, limit, required in (("description", current_app.config["DESCRIPTION_MAX"], True),
                                   ("address", ADDRESS_MAX, False)):
        text = _text(values[field])
        if "\x00" in text:
            errors[field] = _("Contains a character that cannot be saved (NUL); retype it.")
        elif len(text) > limit:
            errors[field] = _("Too long: at most %(limit)s characters, this has %(count)s.",
                              limit=limit, count=len(text))
        elif required and not text:
            errors[field] = _("Describe the problem the caller reports.")
        clean[field] = text
    pasted = unicodedata.normalize("NFKC", values["lat"])
    if "," in pasted and not values["lng"].strip():  # "36.58, 116.25" pasted into one box
        values["lat"], _comma, values["lng"] = (part.strip() for part in pasted.partition(","))
    lat, lng = _coordinate(values["lat"], -90, 90), _coordinate(values["lng"], -180, 180)
    if lat == "bad":
        errors["lat"] = _("Latitude is a number between -90 and 90, like 36.581234.")
    if lng == "bad":
        errors["lng"] = _("Longitude is a number between -180 and 180, like 116.251234.")
    if "lat" not in errors and "lng" not in errors:
        if (lat is None) != (lng is None):
            errors["lng" if lng is None else "lat"] = _("Give both latitude and longitude, or neither.")
        elif lat is None and not clean["address"] and "address" not in errors:
            errors["location"] = _("Where is it? Type an address, or place the pin on the map "
                                   "(or type latitude and longitude).")
    clean["lat"], clean["lng"] = lat, lng
    return errors, clean


def _client_id(raw):
    try:
        return str(uuid.UUID(raw))
    except (TypeError, ValueError):
        return None


def _render(values, client_id, errors=None, status=200, conflict=None):
    categories = _categories()
    config = current_app.config
    response = make_response(render_template(
        "hotline/form.html", values=values, client_id=client_id, errors=errors or {}, conflict=conflict,
        groups=_category_groups(categories), description_max=config["DESCRIPTION_MAX"], address_max=ADDRESS_MAX,
        tile_url=config.get("MAP_TILE_URL") or "", tile_attribution=config.get("MAP_TILE_ATTRIBUTION") or "",
    ), status)
    response.headers["Cache-Control"] = "no-store"  # "Back" shows a fresh form with a new client_id
    return response


@bp.get("/")
def form():
    return _render(dict.fromkeys(FIELDS, ""), str(uuid.uuid4()))


@bp.post("/")
@command
def submit():
    values = {name: request.form.get(name, "") for name in FIELDS}
    client_id = _client_id(request.form.get("client_id"))
    if client_id is None:  # the hidden field was lost or tampered with: a new form, nothing typed lost
        out_of_date = _("The form was out of date. Check it and register again.")
        return _render(values, str(uuid.uuid4()), {"form": out_of_date}, 422)
    errors, clean = _validate(values, _categories())
    if errors:
        return _render(values, client_id, errors, 422)
    meta = {"client_id": client_id, "category": values["category"], "description": clean["description"],
            "address": clean["address"] or None, "channel": Channel.HOTLINE.value}
    if clean["lat"] is not None:
        meta.update(lat=clean["lat"], lng=clean["lng"], location_source=LocationSource.MANUAL.value)
    try:
        parsed = replace(parse_meta(meta, description_max=current_app.config["DESCRIPTION_MAX"]),
                         caller_phone=clean["caller_phone"])
        result = submit_report(parsed, [], current_user)
    except ApiError as error:
        rollback()
        if error.code == "client_id_conflict":
            return _conflict(values, client_id)
        # The form's checks come first; this is whatever the intake still refused.
        if error.field in FIELDS:
            return _render(values, client_id, {error.field: _("Please check this field.")}, 422)
        return _render(values, client_id, {"form": _("This could not be registered; nothing was saved. "
                                                      "Check the form and register again.")}, 422)
    case = result.case
    if result.created:
        flash(_("Registered %(ref)s.", ref=case.ref), "info")
    else:
        flash(_("Registered %(ref)s (sent twice: still one case).", ref=case.ref), "info")
    return redirect(url_for("main.case_detail", ref=case.ref), 303)


def _conflict(values, client_id):
    """The same form sent again with other text (the browser's Back, edited): the
    first case stays as it was. The edits are kept, under a new client_id, so
    registering again makes a second case only when the operator means it."""
    existing = db.session.scalar(select(Case).where(Case.client_id == client_id))
    errors = {} if existing else {"form": _("The form was out of date. Check it and register again.")}
    return _render(values, str(uuid.uuid4()), errors, 409, conflict=existing)


@bp.get("/grids.geojson")
def grids():
    """Every grid's outline for the form's map (there may be no tile server)."""
    response = jsonify(feature_collection(db.session.scalars(select(Grid).where(Grid.active.is_(True))
                                                      .order_by(Grid.level, Grid.code)).all()))
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/locate")
def locate():
    """Where a pin falls and where the rules would send the case: shown under the map."""
    lat = _coordinate(request.args.get("lat", ""), -90, 90)
    lng = _coordinate(request.args.get("lng", ""), -180, 180)
    if lat in (None, "bad") or lng in (None, "bad"):
        return jsonify(error={"code": "invalid", "message": "lat and lng are numbers in range."}), 422
    category = active_category(request.args.get("category", ""))
    hit, department = placement(lat, lng, category) if category is not None else (locate_grid(lat, lng), None)
    if hit is None:
        text = _("Outside every grid: waits for the dispatcher")
    elif department is not None:
        text = _("In %(grid)s; the rules suggest %(department)s.", grid=hit.name, department=department.name)
    else:
        text = _("In %(grid)s.", grid=hit.name)
    return jsonify(grid=hit.name if hit else None, department=department.name if department else None, text=text)
