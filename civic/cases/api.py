"""The JSON API, v1, for working cases: a case as its viewer may see it, the
workflow actions sent from phones (idempotent by client_id), and the task list
the field app polls."""
from flask import current_app, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import NotFound

from ..api import ApiBlueprint, meta_and_uploads
from ..errors import ApiError
from ..extensions import db
from ..intake.actions import find_event, parse_action, submit_action
from ..transaction import command
from .access import can_view_case, get_case_or_404
from .models import Case
from .serialize import case_detail, case_with_actions, event_to_dict
from .tasks import tasks_etag, tasks_for
from .steps import WorkflowError

bp = ApiBlueprint("cases_api", __name__)


@bp.errorhandler(WorkflowError)
def workflow_refused(exc):
    """A refused task action also carries the case as it is now, when the user may see it."""
    db.session.rollback()
    case = db.session.get(Case, exc.case_id)
    if case is not None and can_view_case(current_user, case):
        exc.extra["case"] = case_detail(case, current_user)
    return exc.to_response()


@bp.get("/cases/<int:case_id>")
def get_case(case_id):
    user = current_user
    return jsonify(case_detail(get_case_or_404(case_id, user=user), user))


def _replayed_case(case_id, user):
    """(case, meta, uploads) when the request replays an action `user` did on the case
    that took it out of their sight (a "return": no longer their department's), so the
    phone's retry gets its answer; else the 404 stands."""
    try:
        raw_meta, uploads = meta_and_uploads()
        meta = parse_action(raw_meta, note_max=current_app.config["DESCRIPTION_MAX"])
    except ApiError:
        raise NotFound() from None
    existing = find_event(meta.client_id)
    if existing is None or existing.case_id != case_id or existing.actor_id != user.id:
        raise NotFound()
    return db.session.get(Case, case_id), raw_meta, uploads


@bp.post("/cases/<int:case_id>/actions")
@command
def post_action(case_id):
    """Do a workflow action on a case: 201 new, 200 replay of the same client_id."""
    user = current_user
    try:
        case = get_case_or_404(case_id, user=user)
        raw_meta, uploads = meta_and_uploads()
    except NotFound:
        case, raw_meta, uploads = _replayed_case(case_id, user)
    meta = parse_action(raw_meta, note_max=current_app.config["DESCRIPTION_MAX"])
    result = submit_action(case, meta, uploads, user)
    db.session.refresh(case)
    body = {"event": event_to_dict(result.event, user), "case": case_detail(case, user)}
    return jsonify(body), 201 if result.created else 200


@bp.get("/cases/<int:case_id>/replies")
def case_replies(case_id):
    """The reply templates (惯用语) for the steps the user may take now (or for the
    step named by ?action=), filled from the case."""
    from .replies import offered_by_step
    from .workflow import allowed_actions

    user = current_user
    case = get_case_or_404(case_id, user=user)
    actions = allowed_actions(case, user)
    wanted = request.args.get("action")
    if wanted is not None:
        actions = [a for a in actions if a == wanted]
    return jsonify(replies=[{"action": action, "id": o.id, "title": o.title, "text": o.text}
                            for action, offered in offered_by_step(case, actions).items() for o in offered])


@bp.get("/tasks")
def tasks():
    """The current user's tasks (see civic/cases/tasks.py), with an ETag: the app polls this."""
    user = current_user
    cases = tasks_for(user)
    etag = tasks_etag(user, cases)
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        response = jsonify(tasks=[case_with_actions(case, user) for case in cases])
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
