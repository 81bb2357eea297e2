"""The push pages: who can be reached by push (the command centre's view), and
/admin/messages, the text messages the demo "sent" (SMS_SENDER=console, as `make
run` sets it), so that whoever tries the demo can read the code a resident's
registration waits for. With a real gateway, or the production default, that
page lists nothing: codes are never shown to anyone but their phone."""
from datetime import datetime

from flask import Blueprint, abort, render_template, request

from ..accounts.models import Role
from .jobs import push_state
from .status import push_status

bp = Blueprint("push", __name__)


def _parse(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None) if value else None


@bp.get("/dashboard/push")
def page():
    role = request.args.get("role") or None
    if role is not None and role not in Role.values():
        abort(404)
    users = push_status(role)
    for user in users:
        user["last_success"] = _parse(user["last_success_at"])
        user["last_failure"] = _parse(user["last_failure_at"])
    reachable = sum(1 for u in users if u["push_active"])
    return render_template("dashboard/push.html", users=users, role=role, reachable=reachable,
                           roles=[Role.GRID_WORKER.value, Role.DEPT_STAFF.value])


@bp.get("/admin/messages/")
def messages():
    sms = push_state().sms
    shown = getattr(sms, "shows_texts", False)
    texts = list(reversed(sms.sent)) if shown else []
    return render_template("admin/messages.html", texts=texts, shown=shown)
