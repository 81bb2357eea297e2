"""The JSON API, v1, for phones: the heartbeat each field app sends (what it
holds unsent, its version, its last error) for the sync dashboard."""
from flask import g, jsonify, request
from flask_login import current_user

from ..api import ApiBlueprint, json_body
from ..timeutil import isoformat, utcnow
from ..transaction import command
from .services import record_heartbeat

bp = ApiBlueprint("devices_api", __name__)


@bp.post("/devices/heartbeat")
@command
def heartbeat():
    user = current_user
    token = g.device_token
    record_heartbeat(user, json_body(), user_agent=request.headers.get("User-Agent"),
                     logged_in_on=token.device_id if token is not None else None)
    return jsonify(ok=True, server_time=isoformat(utcnow()))
