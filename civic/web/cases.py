"""Home and the case page, with the workflow's steps as plain forms (for staff
at a desk and dispatchers; the field app does the same over the API)."""
import uuid
from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..cases.access import can_view_case, get_case_or_404, sees_in_full, visible_clause
from ..cases.duplicates import suggest
from ..cases.models import Case
from ..cases.extension_requests import pending_extension
from ..cases.parking import current_park, pending_park
from ..cases.replies import offered_by_step
from ..cases.ratings import pending_recheck
from ..cases.assists import open_parts
from ..cases.workflow import DISPATCHING, allowed_actions
from ..errors import ApiError
from ..extensions import db
from ..grids.mapview import case_map
from ..grids.models import Department
from ..intake.actions import parse_action, submit_action
from ..notify.models import WebhookDelivery
from ..photos.storage import StorageUnavailable
from ..timeutil import local_zone
from ..transaction import command, rollback
from ..labels import action_label, error_text

bp = Blueprint("main", __name__)

HOME_LIMIT = 50


def visible_cases_query(user):
    """The cases `user` may see (their department's, their grids', assigned to them,
    reported or followed by them; all of them for oversight), newest first."""
    return select(Case).where(visible_clause(user)).order_by(Case.received_at.desc(), Case.id.desc())


@bp.get("/")
def home():
    cases = db.session.scalars(visible_cases_query(current_user).limit(HOME_LIMIT)).all()
    return render_template("main/home.html", cases=cases)


@bp.get("/cases/<ref>")
def case_detail(ref):
    case = get_case_or_404(ref=ref, user=current_user)
    return _render_case(case)


def _render_case(case, *, error=None, form=None, status=200):
    actions = allowed_actions(case, current_user)
    full = sees_in_full(current_user, case)  # a follower sees the case as the public board shows it
    context = {"case": case, "full": full, "map_svg": case_map(case, approximate=not full), "actions": actions,
               "error": error, "form": form or {},
               # A fresh id per page: submitting the same page twice applies once.
               "client_id": (form or {}).get("client_id") or str(uuid.uuid4()),
               "recheck_pending": pending_recheck(case) is not None}
    if DISPATCHING & set(actions):
        context["departments"] = db.session.scalars(select(Department).where(Department.active.is_(True))
                                                    .order_by(Department.code)).all()
        context["assisting_now"] = set(open_parts(case))
    if "merge" in actions:
        context["duplicates"] = suggest(case, limit=5)
    if "approve_extension" in actions:
        context["extension"] = pending_extension(case)
    if "approve_park" in actions:
        context["park_request"] = pending_park(case)
    context["parked"] = current_park(case)
    context["replies"] = offered_by_step(case, actions) if current_user.is_staff else {}
    if current_user.is_staff:  # what the department's chat group was told, and whether it arrived
        context["group_posts"] = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.case_id == case.id)
                                                    .order_by(WebhookDelivery.id)).all()
    return render_template("cases/detail.html", **context), status


def _local_to_utc_iso(value):
    """'2026-11-24T18:00' typed in the city's time → ISO 8601 with its offset."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(422, "invalid", "The new deadline is not a date and time.", "until") from None
    zone = local_zone()
    return local.replace(tzinfo=zone).isoformat() if local.tzinfo is None else local.isoformat()


def _form_meta(form, assisting=None):
    meta = {"client_id": form.get("client_id"), "action": form.get("action")}
    for name in ("note", "department", "into", "rating", "urgency", "needs"):
        if form.get(name, "").strip():
            meta[name] = form[name].strip()
    meta["until"] = _local_to_utc_iso(form.get("until", "").strip())
    if form.get("assisting_given"):  # the dispatch form's checkboxes: none ticked is an empty list
        meta["assisting"] = assisting or []
    return meta


def _form_uploads():
    limit = current_app.config["PHOTO_MAX_BYTES"]
    uploads = []
    for part in request.files.getlist("photo"):
        if not part.filename:
            continue  # an empty file input
        data = part.stream.read(limit + 1)
        if len(data) > limit:
            raise ApiError(413, "photo_too_large", f"A photo is larger than {limit // 2**20} MB.", "photo")
        uploads.append(data)
    return uploads


@bp.post("/cases/<ref>/actions")
@command
def case_action(ref):
    """One workflow step from the case page's forms. Refusals show the page again
    with the message and what was typed; a resubmitted form applies once."""
    case = get_case_or_404(ref=ref, user=current_user)
    form = request.form.to_dict()
    try:
        meta = parse_action(_form_meta(form, request.form.getlist("assisting")),
                            note_max=current_app.config["DESCRIPTION_MAX"])
        result = submit_action(case, meta, _form_uploads(), current_user)
    except ApiError as error:
        rollback()
        return _render_case(db.session.get(Case, case.id), error=error_text(error), form=form,
                            status=error.status)
    except StorageUnavailable as exc:
        rollback()
        return _render_case(db.session.get(Case, case.id), form=form, status=exc.status or 503,
                            error=_("Photo storage on the server is not available; nothing was saved. Try again later."))
    if result.created:
        flash(_("Done: %(step)s.", step=action_label(meta.action)), "info")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    if not can_view_case(current_user, case):  # returned: no longer ours to see
        return redirect(url_for("main.home"), 303)
    return redirect(url_for("main.case_detail", ref=case.ref), 303)
