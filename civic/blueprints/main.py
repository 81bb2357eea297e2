"""Home and the case page, with the workflow's steps as plain forms (for staff
at a desk and dispatchers; the field app does the same over the API)."""
import uuid
from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..cases.access import can_view_case, get_case_or_404, sees_in_full, visible_clause
from ..cases.duplicates import suggest
from ..cases.models import Case, Score
from ..cases.workflow import allowed_actions, pending_extension, pending_recheck
from ..errors import ApiError
from ..extensions import db
from ..grids.mapview import case_map
from ..grids.models import Department
from ..notify.models import WebhookDelivery
from ..photos.storage import StorageUnavailable
from ..sync.actions import parse_action, submit_action
from ..timeutil import local_zone
from ..transaction import command, rollback

bp = Blueprint("main", __name__)

HOME_LIMIT = 50


def visible_cases_query(user):
    """The cases `user` may see (their department's, their grids', assigned to them,
    reported or followed by them; all of them for oversight), newest first."""
    return select(Case).where(visible_clause(user)).order_by(Case.received_at.desc(), Case.id.desc())


@bp.get("/")
@login_required
def home():
    cases = db.session.scalars(visible_cases_query(current_user).limit(HOME_LIMIT)).all()
    return render_template("main/home.html", cases=cases)


@bp.get("/cases/<ref>")
@login_required
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
    if {"dispatch", "reroute"} & set(actions):
        context["departments"] = db.session.scalars(select(Department).where(Department.active.is_(True))
                                                    .order_by(Department.code)).all()
    if "merge" in actions:
        context["duplicates"] = suggest(case, limit=5)
    if "approve_extension" in actions:
        context["extension"] = pending_extension(case)
    if current_user.is_staff:  # what the department's chat group was told, and whether it arrived
        context["group_posts"] = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.case_id == case.id)
                                                    .order_by(WebhookDelivery.id)).all()
    return render_template("cases/detail.html", **context), status


def error_text(error):
    """The refusal in the reader's language where we know it, else the API's own words."""
    known = {
        "note_required": _("Say why: a note is required for this step."),
        "transition_not_allowed": _("The case has moved on; this step no longer applies. The page shows it as it is now."),
        "forbidden": _("You cannot do this step on this case."),
        "department_required": _("Choose the department to send it to."),
        "same_department": _("It is with that department already; choose another."),
        "photo_required": _("Add at least one photo."),
        "after_photo_required": _("This kind of case needs a photo taken after the work."),
        "extension_pending": _("More time has already been asked for; a supervisor has not decided yet."),
        "recheck_pending": _("The reporter was not satisfied: the recheck (复核) decides this case now."),
        "already_rated": _("You have rated this result already."),
        "no_pending_recheck": _("Nobody has asked for a recheck of this case."),
    }
    if error.code in known:
        return known[error.code]
    if error.field == "into":
        return _("Choose an open case this one duplicates.") + " (" + error.message + ")"
    return error.message


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


def _form_meta(form):
    meta = {"client_id": form.get("client_id"), "action": form.get("action")}
    for name in ("note", "department", "into", "rating"):
        if form.get(name, "").strip():
            meta[name] = form[name].strip()
    meta["until"] = _local_to_utc_iso(form.get("until", "").strip())
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
@login_required
@command
def case_action(ref):
    """One workflow step from the case page's forms. Refusals show the page again
    with the message and what was typed; a resubmitted form applies once."""
    case = get_case_or_404(ref=ref, user=current_user)
    form = request.form.to_dict()
    try:
        meta = parse_action(_form_meta(form), note_max=current_app.config["DESCRIPTION_MAX"])
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


@bp.app_template_global()
def action_label(action):
    from flask_babel import gettext as _

    labels = {
        "report": _("Reported"), "accept": _("Accepted"), "reject": _("Rejected"), "dispatch": _("Dispatched"),
        "acknowledge": _("Acknowledged (收到)"), "start": _("Work started"), "handle": _("Handled"),
        "verify": _("Verified and closed"), "add_photo": _("Photos added"),
        "return": _("Returned: not ours"), "verify_fail": _("Not fixed: sent back"), "reopen": _("Reopened"),
        "request_extension": _("More time asked for"), "approve_extension": _("More time granted"),
        "deny_extension": _("More time refused"), "remind": _("Reminder"), "escalate": _("Escalated"),
        "merge": _("Merged as a duplicate"), "merged_in": _("Duplicate report merged in"), "reroute": _("Re-routed"),
        "rate": _("Rated"), "recheck_uphold": _("Recheck: result stands"), "recheck_reopen": _("Recheck: reopened"),
    }
    return labels.get(action, action)


@bp.app_template_global()
def grid_label(case):
    """The case's grid; outside every grid, whether the dispatcher still has to place it."""
    from flask_babel import gettext as _

    if case.grid is not None:
        return case.grid.name
    if case.status in ("reported", "accepted"):
        return _("Outside every grid: waits for the dispatcher")
    return _("Outside every grid")


@bp.app_template_global()
def event_view(event):
    """(the actor's name or None, the note or None) of a timeline entry as the
    current user may read them: the same rule as the API's events."""
    from ..cases.serialize import event_to_dict

    shown = event_to_dict(event, current_user)
    return shown["actor"], shown["note"]


@bp.app_template_global()
def case_description(case):
    from ..cases.serialize import description_for

    return description_for(case, current_user)


@bp.app_template_global()
def score_label(score):
    from flask_babel import gettext as _

    return {Score.SATISFIED.value: _("Satisfied"), Score.BASIC.value: _("Basically satisfied"),
            Score.UNSATISFIED.value: _("Unsatisfied")}.get(score, score)


@bp.app_template_global()
def countdown(due_at):
    """"3 h 20 min left" or "overdue 1 d 2 h", as a badge (the field app shows the same)."""
    from markupsafe import Markup, escape

    from ..timeutil import utcnow

    seconds = int((due_at - utcnow()).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    span = (_("%(d)d d %(h)d h", d=days, h=hours) if days else
            _("%(h)d h %(m)d min", h=hours, m=mins) if hours else _("%(m)d min", m=mins))
    if seconds < 0:
        return Markup('<span class="deadline overdue">%s</span>') % escape(_("overdue %(span)s", span=span))
    state = " soon" if seconds < 3600 else ""
    return Markup('<span class="deadline%s">%s</span>') % (state, escape(_("%(span)s left", span=span)))


@bp.app_template_global()
def step_label(action):
    """A button: what the step does, said as a command."""
    labels = {
        "accept": _("Accept (受理)"), "reject": _("Not accepted"), "dispatch": _("Dispatch"),
        "reroute": _("Re-route"), "merge": _("Merge as a duplicate"), "acknowledge": _("Acknowledge (收到)"),
        "start": _("Start work"), "handle": _("Mark handled"), "add_photo": _("Add photo"),
        "verify": _("Verify and close"), "verify_fail": _("Not fixed: send back"), "return": _("Return: not ours"),
        "request_extension": _("Ask for more time"), "approve_extension": _("Approve more time"),
        "deny_extension": _("Refuse more time"), "reopen": _("Reopen"), "rate": _("Rate the result"),
        "recheck_uphold": _("Uphold the result"), "recheck_reopen": _("Reopen after the recheck"),
    }
    return labels.get(action, action)


@bp.app_template_global()
def location_label(source):
    from flask_babel import gettext as _

    labels = {"device": _("phone GPS"), "exif": _("photo GPS"), "manual": _("address"), "none": _("unknown")}
    return labels.get(source, source)


@bp.app_template_global()
def role_label(role):
    from flask_babel import gettext as _

    labels = {"resident": _("Resident"), "grid_worker": _("Grid worker"), "dept_staff": _("Department staff"),
              "dispatcher": _("Dispatcher"), "supervisor": _("Supervisor"), "admin": _("Administrator")}
    return labels.get(role, role)
