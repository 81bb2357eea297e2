"""The JSON API, v1, for Web Push: the public key, a browser's subscription,
the user's notification preferences, and the supervisors' status per user."""
from flask import current_app, jsonify, request
from flask_login import current_user

from ..accounts.models import Role
from ..api import ApiBlueprint, json_body
from ..errors import ApiError
from ..timeutil import isoformat
from ..transaction import command
from . import preferences, subscriptions
from .status import push_status as status_of_users

bp = ApiBlueprint("push_api", __name__)


@bp.get("/push/key")
def push_key():
    """The applicationServerKey for PushManager.subscribe: base64url, no padding."""
    key = subscriptions.public_key()
    if key is None:
        raise ApiError(503, "push_unavailable", "Push notifications are not available on this server.")
    return jsonify(public_key=key)


def _subscription_to_dict(sub):
    return {"id": sub.id, "endpoint": sub.endpoint, "device_id": sub.device_id, "created_at": isoformat(sub.created_at),
            "last_success_at": isoformat(sub.last_success_at), "last_failure_at": isoformat(sub.last_failure_at),
            "active": sub.active}


@bp.post("/push/subscriptions")
@command
def push_subscribe():
    """Save this browser's PushSubscription for the user: 201 new, 200 known endpoint."""
    user = current_user
    config = current_app.config
    sub, created = subscriptions.save_subscription(
        user, json_body(), user_agent=request.headers.get("User-Agent"),
        allow_http_local=config["PUSH_ALLOW_HTTP_LOCALHOST"], allowed_hosts=config["PUSH_SERVICE_HOSTS"])
    return jsonify(_subscription_to_dict(sub)), 201 if created else 200


@bp.delete("/push/subscriptions")
@command
def push_unsubscribe():
    """Forget the user's subscription of this endpoint (logout); 204 whether or not it was known."""
    user = current_user
    subscriptions.delete_subscription(user, json_body())
    return "", 204


@bp.get("/me/notifications")
def get_notification_preferences():
    user = current_user
    return jsonify(preferences.preferences_of(user.id))


@bp.put("/me/notifications")
@command
def put_notification_preferences():
    """Change any of mute_at_night, night ("HH:MM-HH:MM", local time), resident_updates."""
    user = current_user
    return jsonify(preferences.update_preferences(user, json_body()))


@bp.get("/push/status")
def push_status():
    """Per user: whether push works and when it last succeeded (dispatchers, supervisors, admins)."""
    role = request.args.get("role") or None
    if role is not None and role not in Role.values():
        raise ApiError(422, "invalid", f"role must be one of {', '.join(Role.values())}.", "role")
    return jsonify(users=status_of_users(role))
