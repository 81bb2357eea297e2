"""The words pages show for the app's codes (steps, roles, scores, places, ages,
refusals), in the reader's language: one module, so a page, a flash message and a
script's labels all say the same. `install` makes them template globals."""
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

from .cases.models import Score
from .cases.serialize import description_for, event_to_dict
from .timeutil import utcnow


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
        "same_urgency": _("The case is at that urgency level already."),
        "arbitration_pending": _("Returned twice: a supervisor decides which department handles it."),
        "department_decided": _("A supervisor decided that this case is yours; it can no longer be returned."),
        "park_pending": _("Parking has already been asked for; a supervisor has not decided yet."),
        "no_pending_recheck": _("Nobody has asked for a recheck of this case."),
    }
    if error.code in known:
        return known[error.code]
    if error.field == "into":
        return _("Choose an open case this one duplicates.") + " (" + error.message + ")"
    return error.message


def action_label(action):
    labels = {
        "report": _("Reported"), "accept": _("Accepted"), "reject": _("Rejected"), "dispatch": _("Dispatched"),
        "acknowledge": _("Acknowledged (收到)"), "start": _("Work started"), "handle": _("Handled"),
        "verify": _("Verified and closed"), "add_photo": _("Photos added"),
        "return": _("Returned: not ours"), "verify_fail": _("Not fixed: sent back"), "reopen": _("Reopened"),
        "request_extension": _("More time asked for"), "approve_extension": _("More time granted"),
        "deny_extension": _("More time refused"), "remind": _("Reminder"), "escalate": _("Escalated"),
        "merge": _("Merged as a duplicate"), "merged_in": _("Duplicate report merged in"), "reroute": _("Re-routed"),
        "rate": _("Rated"), "recheck_uphold": _("Recheck: result stands"), "recheck_reopen": _("Recheck: reopened"), "unassign": _("Back in the queue (the assignee left)"),
        "department_merge": _("Moved: its department was merged into another"),
        "set_urgency": _("Urgency changed"), "arbitrate": _("Department decided (仲裁)"),
        "request_park": _("Asked to park (挂账)"), "approve_park": _("Parked (挂账)"),
        "deny_park": _("Parking refused"), "resume": _("Back from parking"),
        "assist_acknowledge": _("Assisting part acknowledged (协办签收)"),
        "assist_report": _("Assisting part reported (协办反馈)"),
        "waive_assists": _("Went on without the assisting departments"),
    }
    return labels.get(action, action)


def grid_label(case):
    """The case's grid; outside every grid, whether the dispatcher still has to place it."""
    if case.grid is not None:
        return case.grid.name
    if case.status in ("reported", "accepted"):
        return _("Outside every grid: waits for the dispatcher")
    return _("Outside every grid")


def event_view(event):
    """(the actor's name or None, the note or None) of a timeline entry as the
    current user may read them: the same rule as the API's events."""
    shown = event_to_dict(event, current_user)
    return shown["actor"], shown["note"]


def case_description(case):
    return description_for(case, current_user)


def score_label(score):
    return {Score.SATISFIED.value: _("Satisfied"), Score.BASIC.value: _("Basically satisfied"),
            Score.UNSATISFIED.value: _("Unsatisfied")}.get(score, score)


def countdown(due_at):
    """"3 h 20 min left" or "overdue 1 d 2 h", as a badge (the field app shows the same)."""
    seconds = int((due_at - utcnow()).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    span = (_("%(d)d d %(h)d h", d=days, h=hours) if days else
            _("%(h)d h %(m)d min", h=hours, m=mins) if hours else _("%(m)d min", m=mins))
    if seconds < 0:
        return Markup('<span class="deadline overdue">%s</span>') % escape(_("overdue %(span)s", span=span))
    state = " soon" if seconds < 3600 else ""
    return Markup('<span class="deadline%s">%s</span>') % (state, escape(_("%(span)s left", span=span)))


def stage_label(stage):
    labels = {"accept": _("Accept (受理)"), "dispatch": _("Dispatch (派遣)"), "acknowledge": _("Acknowledge (签收)"),
              "handle": _("Handle (处置)"), "verify": _("Verify (核查)"), "close": _("Close (结案)")}
    return labels.get(stage, stage)


def outcome_label(outcome):
    """How a stage ended, when not simply done."""
    labels = {"returned": _("returned"), "rerouted": _("re-routed"), "rejected": _("not accepted"),
              "merged": _("merged"), "failed": _("not passed"), "parked": _("parked")}
    return labels.get(outcome, outcome)


def urgency_label(level):
    labels = {"emergency": _("Emergency (紧急)"), "urgent": _("Urgent (较急)"), "normal": _("Normal (一般)"),
              "complex": _("Complex (复杂)")}
    return labels.get(level, level)


def urgency_levels():
    from .cases.urgency import LEVELS

    return LEVELS


def case_stages(case):
    """The six stages of `case` for its page, as the current user may read them
    (the same rule as the API's `stages`): each with its owner's name, its times,
    whether it ended in time, and whether it is the one running now."""
    from .cases.access import sees_in_full
    from .cases.stages import running_stage, stages_to_dict

    running = running_stage(case)
    rows = []
    for shown in stages_to_dict(case, current_user, show_people=sees_in_full(current_user, case)):
        owner = shown["owner"]
        rows.append({"stage": shown["stage"], "label": stage_label(shown["stage"]),
                     "owner": (owner["name"] or _("a grid worker")) if owner else None,
                     "started_at": _naive(shown["started_at"]), "due_at": _naive(shown["due_at"]),
                     "done_at": _naive(shown["done_at"]), "on_time": shown["on_time"],
                     "outcome": outcome_label(shown["outcome"]) if shown["outcome"] not in (None, "done") else None,
                     "running": running is not None and running.stage == shown["stage"] and shown["done_at"] is None})
    return rows


def _naive(iso):
    from datetime import datetime

    return None if iso is None else datetime.fromisoformat(iso.rstrip("Z"))


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
        "set_urgency": _("Change the urgency"), "arbitrate": _("Decide the department (仲裁)"),
        "request_park": _("Ask to park (挂账)"), "approve_park": _("Approve parking"),
        "deny_park": _("Refuse parking"), "resume": _("Resume work now"),
        "assist_acknowledge": _("Acknowledge our part (协办收到)"), "assist_report": _("Report our part done"),
        "waive_assists": _("Go on without the assisting departments"),
    }
    return labels.get(action, action)


def part_status_label(status):
    """Where an assisting department's part (协办) stands."""
    labels = {"waiting": _("not yet acknowledged"), "working": _("working on its part"),
              "reported": _("part reported"), "waived": _("gone on without it"),
              "withdrawn": _("no longer assisting"), "parked": _("parked with the case")}
    return labels.get(status, status)


def case_assists(case):
    """The assisting departments' parts for the case page (the API's `assists`)."""
    from .cases.access import sees_in_full
    from .cases.assists import parts_to_dict, reported_notes

    full = sees_in_full(current_user, case)
    rows = []
    for part in parts_to_dict(case, current_user, notes=reported_notes(case.events) if full else None):
        running = part["handle"] or part["acknowledge"]
        rows.append({**part, "label": part_status_label(part["status"]),
                     "due_at": _naive(running["due_at"]) if running["done_at"] is None else None,
                     "done_at": _naive(running["done_at"]), "late": running["on_time"] is False})
    return rows


def location_flag_label(flag, long=False):
    """What a place check found (intake/place_checks.py): a badge, or its explanation."""
    short = {"outside_county": _("Outside the county?"), "old_photo": _("Old photo?"),
             "photo_far_from_device": _("Photo taken elsewhere?")}
    explained = {"outside_county": _("The place is outside every grid of the county: check it before dispatching."),
                 "old_photo": _("The photo was taken days before the report: it may not show the problem as it is."),
                 "photo_far_from_device": _("The photo's GPS is far from where the phone was: it may be of another place.")}
    return (explained if long else short).get(flag, flag)


def location_label(source):
    labels = {"device": _("phone GPS"), "exif": _("photo GPS"), "manual": _("address"), "none": _("unknown")}
    return labels.get(source, source)


def role_label(role):
    labels = {"resident": _("Resident"), "grid_worker": _("Grid worker"), "dept_staff": _("Department staff"),
              "dispatcher": _("Dispatcher"), "supervisor": _("Supervisor"), "admin": _("Administrator")}
    return labels.get(role, role)


def age_text(seconds):
    """A compact age, the same words as the page script's: 'just now', '5 min ago', '3 h ago', '2 d ago'."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return _("just now")
    if seconds < 3600:
        return _("%(n)s min ago", n=seconds // 60)
    if seconds < 86400:
        return _("%(n)s h ago", n=seconds // 3600)
    return _("%(n)s d ago", n=seconds // 86400)


def grid_kind_label(kind):
    labels = {"grid": _("grid"), "road": _("road segment (街长)"), "scenic": _("scenic area")}
    return labels.get(kind, kind)


def grid_action_label(action):
    labels = {"create": _("new grid"), "update": _("changes"), "unchanged": _("unchanged"),
              "retire": _("retired (not in the file)"), "invalid": _("invalid")}
    return labels.get(action, action)


def finding_label(kind):
    labels = {"overlap": _("Overlap"), "gap": _("Gap"), "outside_parent": _("Outside its parent"),
              "repaired": _("Outline repaired")}
    return labels.get(kind, kind)


TEMPLATE_GLOBALS = (action_label, grid_label, event_view, case_description, score_label, countdown, step_label,
                    stage_label, case_stages, case_assists, urgency_label, urgency_levels, location_flag_label,
                    location_label, role_label, age_text, grid_kind_label, grid_action_label, finding_label)


def install(app):
    for helper in TEMPLATE_GLOBALS:
        app.add_template_global(helper)
