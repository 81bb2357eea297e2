"""/admin/messages: the text messages the demo "sent" (SMS_SENDER=console, as
`make run` sets it), so that whoever tries the demo can read the code a
resident's registration waits for. With a real gateway, or the production
default, the page lists nothing: codes are never shown to anyone but their phone."""
from flask import Blueprint, render_template

from ..push.jobs import push_state
from ..guards import ADMINS, only

bp = Blueprint("admin_messages", __name__, url_prefix="/admin/messages")


only(bp, ADMINS)


@bp.get("/")
def index():
    sms = push_state().sms
    shown = getattr(sms, "shows_texts", False)
    texts = list(reversed(sms.sent)) if shown else []
    return render_template("admin/messages.html", texts=texts, shown=shown)
