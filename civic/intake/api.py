"""The JSON API, v1, for reports: filing one from a phone (idempotent by its
client_id: a replay answers 200 with the same case) and the reporter's own list."""
from flask import current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..api import ApiBlueprint, meta_and_uploads
from ..cases.access import get_case_or_404, related_clause
from ..cases.models import Case
from ..cases.serialize import case_to_dict
from ..cases.tasks import LIST_LOADS
from ..errors import ApiError
from ..extensions import db
from ..transaction import command
from .meta import parse_meta
from .reports import submit_report

bp = ApiBlueprint("intake_api", __name__)

REPORTS_DEFAULT, REPORTS_MAX = 50, 200


@bp.post("/reports")
@command
def create_report():
    user = current_user
    raw_meta, uploads = meta_and_uploads()
    meta = parse_meta(raw_meta, description_max=current_app.config["DESCRIPTION_MAX"])
    result = submit_report(meta, uploads, user)
    body = case_to_dict(result.case, user)
    if not result.created:
        return jsonify(body), 200
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("intake_api.get_report", case_id=result.case.id)
    return response


@bp.get("/reports/<int:case_id>")
def get_report(case_id):
    user = current_user
    return jsonify(case_to_dict(get_case_or_404(case_id, user=user), user))


@bp.get("/reports")
def list_reports():
    """The current user's own reports and the cases they follow (their report was
    merged into it), newest first."""
    user = current_user
    raw = request.args.get("limit")
    limit = REPORTS_DEFAULT
    if raw is not None:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not 1 <= int(raw) <= REPORTS_MAX:
            raise ApiError(422, "invalid", f"limit must be a whole number from 1 to {REPORTS_MAX}.", "limit")
        limit = int(raw)
    cases = db.session.scalars(select(Case).where(related_clause(user, ("reporter", "follower")))
                               .options(*LIST_LOADS)
                               .order_by(Case.received_at.desc(), Case.id.desc()).limit(limit)).all()
    return jsonify(reports=[case_to_dict(case, user) for case in cases])
